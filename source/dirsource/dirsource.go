// Package dirsource is a [usersync.Source] over a folder on local disk: the
// folder an SFTP server writes uploads to, a network share, or a folder a
// script drops exports in.
//
// All access goes through an [os.Root], so no name and no symbolic link
// can reach outside the folder: a link that points outside is not listed
// and cannot be opened. (A hard link can, like any file in the folder; the
// folder's owner decides what goes in it.)
//
// List offers the regular files of the folder itself, sorted by name. It
// leaves out folders (such as an "archive" folder that Rename moves files
// to), special files such as named pipes, names that Open would reject
// (see source.ValidName; a backslash or a control character is legal in a
// Unix file name), and hidden files, whose names start with ".", unless
// [Options.IncludeHidden] is set: upload tools often write a file under a
// temporary hidden name (rsync writes ".users.csv.Xy12Ab", others
// ".users.csv.part") and rename it when the upload is complete.
//
// Besides Source, a *Source implements [usersync.Remover],
// [usersync.Renamer] and [usersync.Checker]. Its methods are safe for
// concurrent use.
package dirsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/source"
)

var (
	_ usersync.Source  = (*Source)(nil)
	_ usersync.Remover = (*Source)(nil)
	_ usersync.Renamer = (*Source)(nil)
	_ usersync.Checker = (*Source)(nil)
)

// folderPerm is the permission of the folders Rename creates. They hold
// personal data, so other users get no access.
const folderPerm = 0o750

// Options configures a Source. The zero value, like a nil *Options, gives
// the defaults.
type Options struct {
	// IncludeHidden makes List offer files whose names start with ".".
	// By default they are left out, as files still being uploaded.
	IncludeHidden bool
}

// Source is a Source over a local folder. Make one with [New].
type Source struct {
	dir    string // as given to New, for messages
	root   *os.Root
	opts   Options
	closed atomic.Bool
}

// New returns a Source over the folder dir. It fails if dir does not exist
// or is not a folder. The caller must Close the Source.
func New(dir string, opts *Options) (*Source, error) {
	if opts == nil {
		opts = &Options{}
	}
	// os.OpenRoot reports a file that is not a folder in terms that vary by
	// system; say it plainly.
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("dirsource: folder %s: %w", dir, osCause(err)) // not "open folder: stat DIR: ..."
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("dirsource: open folder %s: not a folder", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("dirsource: folder %s: %w", dir, osCause(err))
	}
	return &Source{dir: dir, root: root, opts: *opts}, nil
}

// List returns the regular files of the folder, sorted by name; the package
// doc says which files it leaves out. It follows symbolic links that stay
// inside the folder.
func (s *Source) List(ctx context.Context) ([]usersync.FileInfo, error) {
	files, err := s.list(ctx)
	if err != nil {
		return nil, pathError("list", s.dir, err)
	}
	return files, nil
}

func (s *Source) list(ctx context.Context) ([]usersync.FileInfo, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	entries, err := s.readDir()
	if err != nil {
		return nil, err
	}
	// A folder of many files takes a while; stop early if ctx is done.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	files := make([]usersync.FileInfo, 0, len(entries))
	for _, e := range entries {
		fi, ok, err := s.fileInfo(e)
		if err != nil {
			return nil, err
		}
		if ok {
			files = append(files, fi)
		}
	}
	// Unlike os.ReadDir, File.ReadDir returns entries in directory order.
	slices.SortFunc(files, func(a, b usersync.FileInfo) int { return strings.Compare(a.Name, b.Name) })
	return files, nil
}

func (s *Source) readDir() ([]fs.DirEntry, error) {
	d, err := s.root.Open(".")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(-1)
}

// fileInfo describes the entry e for List, or returns false if List leaves
// it out.
func (s *Source) fileInfo(e fs.DirEntry) (usersync.FileInfo, bool, error) {
	name := e.Name()
	if (strings.HasPrefix(name, ".") && !s.opts.IncludeHidden) || source.ValidName(name) != nil {
		return usersync.FileInfo{}, false, nil
	}
	info, err := s.root.Stat(name) // follows a link, if it stays inside
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist), e.Type()&fs.ModeSymlink != 0:
		// Removed since ReadDir, a dangling link, or a link out of the
		// folder: nothing Open could read.
		return usersync.FileInfo{}, false, nil
	default:
		return usersync.FileInfo{}, false, fmt.Errorf("%s: %w", name, osCause(err))
	}
	if !info.Mode().IsRegular() {
		return usersync.FileInfo{}, false, nil
	}
	return usersync.FileInfo{Name: name, Size: info.Size(), ModTime: info.ModTime()}, true, nil
}

// Open opens the named regular file for reading. Each Read fails once ctx
// is done. A name that source.ValidName rejects is refused with an
// *fs.PathError wrapping fs.ErrInvalid before the disk is touched.
func (s *Source) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	f, err := s.open(ctx, name)
	if err != nil {
		return nil, pathError("open", name, err)
	}
	return source.ContextReader(ctx, f), nil
}

func (s *Source) open(ctx context.Context, name string) (*os.File, error) {
	if err := s.ready(ctx, name); err != nil {
		return nil, err
	}
	// Look before opening: opening a named pipe would block until something
	// wrote to it, and a folder is not a file to read.
	info, err := s.root.Stat(name)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	return s.root.Open(name)
}

// Remove deletes the named file. It does not delete folders.
func (s *Source) Remove(ctx context.Context, name string) error {
	if err := s.remove(ctx, name); err != nil {
		return pathError("remove", name, err)
	}
	return nil
}

func (s *Source) remove(ctx context.Context, name string) error {
	if err := s.ready(ctx, name); err != nil {
		return err
	}
	// os.Root.Remove would delete an empty folder too.
	info, err := s.root.Lstat(name)
	if err != nil {
		return err
	}
	if info.IsDir() {
		return errors.New("is a folder")
	}
	return s.root.Remove(name)
}

// Rename moves a file to newname, creating newname's folders inside the
// folder as needed, and replaces a file already at newname, as os.Rename
// does. The move is atomic; if newname's folder is on another file system
// (a mount point), Rename fails rather than copy.
func (s *Source) Rename(ctx context.Context, oldname, newname string) error {
	if err := s.rename(ctx, oldname, newname); err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: osCause(err)}
	}
	return nil
}

func (s *Source) rename(ctx context.Context, oldname, newname string) error {
	if err := s.ready(ctx, oldname, newname); err != nil {
		return err
	}
	// Look first, so that renaming a missing file leaves no new folders.
	if _, err := s.root.Lstat(oldname); err != nil {
		return err
	}
	if dir := path.Dir(newname); dir != "." {
		if err := s.root.MkdirAll(dir, folderPerm); err != nil {
			return err
		}
	}
	return s.root.Rename(oldname, newname)
}

// Check reports one result: whether the folder can be listed, and how many
// files List offers. It changes nothing.
func (s *Source) Check(ctx context.Context) []usersync.CheckResult {
	return []usersync.CheckResult{source.CheckList(ctx, "folder "+s.dir, s)}
}

// Close releases the folder. Later calls fail with an error wrapping
// fs.ErrClosed; readers already open keep working until closed. Close may
// be called more than once.
// IsLocal reports true: the folder is on this machine, so a Pipeline reads
// a file twice (once to check whether it was applied) rather than copy it.
func (s *Source) IsLocal() bool { return true }

func (s *Source) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.root.Close()
}

// ready checks what every call checks first: the names, before the disk is
// touched; ctx; and whether s is closed. It returns the bare cause for the
// caller to wrap.
func (s *Source) ready(ctx context.Context, names ...string) error {
	if err := source.CheckNames(ctx, names...); err != nil {
		return err
	}
	if s.closed.Load() {
		return source.ErrClosed
	}
	return nil
}

// pathError names the operation and the file in err. It drops the
// *fs.PathError or *os.LinkError that os.Root wraps its errors in, whose
// operation ("statat", "openat") is not the one the caller asked for.
func pathError(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: name, Err: osCause(err)}
}

// osCause returns the error that err, as returned by os.Root, wraps.
func osCause(err error) error {
	switch e := err.(type) {
	case *fs.PathError:
		return e.Err
	case *os.LinkError:
		return e.Err
	}
	return err
}

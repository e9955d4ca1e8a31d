// Package memsource is a [usersync.Source] that keeps its files in memory.
//
// It is the fake to use in tests and examples: [Source.Put] stands for a
// customer's upload. It is also the reference implementation of the Source
// contract: it passes the sourcetest conformance suite, and does what a
// folder on disk does, as simply as possible. Besides Source it implements
// [usersync.Remover], [usersync.Renamer] and [usersync.Checker].
//
// Names are slash-separated. A name with slashes, such as
// "archive/2026/users.csv", is a file in a subfolder: it can be opened,
// removed and renamed, but List, like every Source, lists only the files
// of the top folder. Folders exist only as the folders of files' names.
package memsource

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/source"
)

var (
	_ usersync.Source  = (*Source)(nil)
	_ usersync.Remover = (*Source)(nil)
	_ usersync.Renamer = (*Source)(nil)
	_ usersync.Checker = (*Source)(nil)
)

// Source is an in-memory Source. Its methods are safe for concurrent use.
type Source struct {
	mu     sync.RWMutex
	files  map[string]file
	closed bool
}

// file is one stored file. Its data is never modified after Put, so a
// reader can keep reading it while a later Put replaces the file.
type file struct {
	data    []byte
	modTime time.Time
}

// New returns an empty Source.
func New() *Source {
	return &Source{files: make(map[string]file)}
}

// Put adds the named file, or replaces it, as a customer's upload would. It
// copies data. A name with slashes puts the file in a subfolder.
//
// Put rejects the names every Source's Open rejects (see source.ValidName),
// and, as a disk would, a name whose folder is a file or that is already a
// folder. Put works after Close too: it stands for the store, not for a
// connection to it.
func (s *Source) Put(name string, data []byte, modTime time.Time) error {
	if err := source.ValidName(name); err != nil {
		return &fs.PathError{Op: "put", Path: name, Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.canPlace(name); err != nil {
		return &fs.PathError{Op: "put", Path: name, Err: err}
	}
	s.files[name] = file{data: bytes.Clone(data), modTime: modTime}
	return nil
}

// List returns the files of the top folder, sorted by name.
func (s *Source) List(ctx context.Context) ([]usersync.FileInfo, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.ready(ctx); err != nil {
		return nil, &fs.PathError{Op: "list", Path: ".", Err: err}
	}
	files := make([]usersync.FileInfo, 0, len(s.files))
	for name, f := range s.files {
		if strings.Contains(name, "/") {
			continue // in a subfolder
		}
		files = append(files, usersync.FileInfo{Name: name, Size: int64(len(f.data)), ModTime: f.modTime})
	}
	slices.SortFunc(files, func(a, b usersync.FileInfo) int { return strings.Compare(a.Name, b.Name) })
	return files, nil
}

// Open returns a reader over the named file as it is now: a later Put or
// Remove does not change a read under way. Each Read fails once ctx is
// done.
func (s *Source) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.ready(ctx, name); err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	f, ok := s.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return source.ContextReader(ctx, nopCloser{bytes.NewReader(f.data)}), nil
}

// Remove deletes the named file.
func (s *Source) Remove(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ready(ctx, name); err != nil {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	if _, ok := s.files[name]; !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(s.files, name)
	return nil
}

// Rename moves a file to newname, which may be in a subfolder, and replaces
// a file already there, as os.Rename does. The move is atomic.
func (s *Source) Rename(ctx context.Context, oldname, newname string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.rename(ctx, oldname, newname); err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	return nil
}

func (s *Source) rename(ctx context.Context, oldname, newname string) error {
	if err := s.ready(ctx, oldname, newname); err != nil {
		return err
	}
	f, ok := s.files[oldname]
	if !ok {
		return fs.ErrNotExist
	}
	if oldname == newname {
		return nil
	}
	if err := s.canPlace(newname); err != nil {
		return err
	}
	delete(s.files, oldname)
	s.files[newname] = f
	return nil
}

// Check reports one result: whether the Source is open, and how many files
// it lists.
func (s *Source) Check(ctx context.Context) []usersync.CheckResult {
	return []usersync.CheckResult{source.CheckList(ctx, "memory store", s)}
}

// Close makes later calls fail with an error wrapping fs.ErrClosed. It
// keeps the files, so that Put still works, and always returns nil.
// IsLocal reports true: the files are in memory, so a Pipeline reads a
// file twice (once to check whether it was applied) rather than copy it.
func (s *Source) IsLocal() bool { return true }

func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// ready checks what every call checks first: the names, before anything
// else is looked at; ctx; and whether s is closed. It returns the bare
// cause for the caller to wrap. s.mu must be held.
func (s *Source) ready(ctx context.Context, names ...string) error {
	if err := source.CheckNames(ctx, names...); err != nil {
		return err
	}
	if s.closed {
		return source.ErrClosed
	}
	return nil
}

// canPlace reports why a file cannot be stored under name, as a disk would:
// one of its folders is a file, or name is a folder. s.mu must be held.
func (s *Source) canPlace(name string) error {
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		if _, ok := s.files[dir]; ok {
			return fmt.Errorf("%s is a file, not a folder", dir)
		}
	}
	for n := range s.files {
		if strings.HasPrefix(n, name+"/") {
			return fmt.Errorf("%w: %s is a folder", fs.ErrExist, name)
		}
	}
	return nil
}

// nopCloser is a bytes.Reader with a Close, seekable like a local file.
type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

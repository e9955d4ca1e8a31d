package sftpserver

import (
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/pkg/sftp"

	"github.com/usersync/usersync/source"
)

// Permissions of what the server creates in a tenant's folder. The files
// hold personal data: other users of the host get no access.
const (
	filePerm   = 0o640
	folderPerm = 0o750
)

// maxDownloadsPerConn bounds the files one connection may have open for
// reading at once.
const maxDownloadsPerConn = 16

// fsHandlers serves one connection's SFTP requests from its tenant's
// folder. Every path goes through resolve, and every access through the
// connection's os.Root, so no name and no symbolic link reaches outside
// the folder.
type fsHandlers struct{ c *conn }

var (
	_ sftp.FileReader           = fsHandlers{}
	_ sftp.OpenFileWriter       = fsHandlers{}
	_ sftp.PosixRenameFileCmder = fsHandlers{}
	_ sftp.LstatFileLister      = fsHandlers{}
	_ sftp.ReadlinkFileLister   = fsHandlers{}
)

func handlers(c *conn) sftp.Handlers {
	h := fsHandlers{c}
	return sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h}
}

// resolve maps a path from the request server, which made it absolute and
// clean, to a name inside the tenant's root: "." for the root itself. The
// staging folder does not exist as far as clients can tell.
func resolve(p string) (string, error) {
	name := strings.TrimPrefix(path.Clean("/"+p), "/")
	if name == "" {
		return ".", nil
	}
	if !fs.ValidPath(name) {
		return "", errNoSuchFile
	}
	for elem := range strings.SplitSeq(name, "/") {
		// Without regard to case: on macOS, say, names differing in case
		// are the same file.
		if strings.EqualFold(elem, stagingDir) {
			return "", errNoSuchFile
		}
	}
	return name, nil
}

// resolveNew resolves the path of a file or folder to create: it must be a
// name a Source accepts (no backslash, no control character), and not the
// root.
func resolveNew(p string) (string, error) {
	name, err := resolve(p)
	if err != nil {
		return "", errDenied
	}
	if name == "." || source.ValidName(name) != nil {
		return "", failure("invalid file name")
	}
	return name, nil
}

// Fileread opens a file for download, if Options.AllowDownload is set.
func (h fsHandlers) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	if !h.c.s.opts.AllowDownload {
		h.c.denied("download", "", "file", r.Filepath)
		return nil, errDenied
	}
	name, err := resolve(r.Filepath)
	if err != nil {
		return nil, err
	}
	info, err := h.c.root.Stat(name)
	if err != nil {
		return nil, forClient(err)
	}
	if !info.Mode().IsRegular() {
		return nil, failure("not a regular file")
	}
	if !h.c.beginDownload() {
		return nil, failure("too many downloads at once on this connection")
	}
	f, err := h.c.root.Open(name)
	if err != nil {
		h.c.endDownload()
		return nil, forClient(err)
	}
	h.c.s.log.Info("sftpserver: download", "event", "download", "tenant", h.c.tenant.ID, "user", h.c.user,
		"remote", h.c.remote, "file", name, "bytes", info.Size())
	return &download{f, h.c}, nil
}

// A download is a file open for reading, counted against the connection's
// open files.
type download struct {
	*os.File
	c *conn
}

func (d *download) Close() error {
	d.c.endDownload()
	return d.File.Close()
}

func (c *conn) beginDownload() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.downloads >= maxDownloadsPerConn {
		return false
	}
	c.downloads++
	return true
}

func (c *conn) endDownload() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.downloads--
}

// Filewrite opens an upload.
func (h fsHandlers) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	return h.c.openUpload(r)
}

// OpenFile opens an upload that the client may also read back, as
// pkg/sftp's Client.Create asks for.
func (h fsHandlers) OpenFile(r *sftp.Request) (sftp.WriterAtReaderAt, error) {
	return h.c.openUpload(r)
}

// Filecmd changes the folder: rename, remove, make and remove folders, set
// times. Links are refused: a symbolic link could point anywhere, and a
// hard link would share a file the server must be free to replace.
func (h fsHandlers) Filecmd(r *sftp.Request) error {
	var err error
	switch r.Method {
	case "Rename":
		err = h.c.rename(r.Filepath, r.Target, false)
	case "Remove":
		err = h.c.remove(r.Filepath)
	case "Mkdir":
		err = h.c.mkdir(r.Filepath)
	case "Rmdir":
		err = h.c.rmdir(r.Filepath)
	case "Setstat":
		err = h.c.setstat(r)
	case "Symlink", "Link":
		h.c.denied(strings.ToLower(r.Method), "", "file", r.Target)
		return errDenied
	default:
		return errUnsupported
	}
	return forClient(err)
}

// PosixRename renames, replacing the target, as posix-rename@openssh.com
// does.
func (h fsHandlers) PosixRename(r *sftp.Request) error {
	return forClient(h.c.rename(r.Filepath, r.Target, true))
}

// Filelist lists a folder, or stats a path following links.
func (h fsHandlers) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	name, err := resolve(r.Filepath)
	if err != nil {
		return nil, err
	}
	switch r.Method {
	case "List":
		l, err := h.c.list(name)
		return l, forClient(err)
	case "Stat":
		info, err := h.c.root.Stat(name)
		if err != nil {
			return nil, forClient(err)
		}
		return lister{hideOwner(info)}, nil
	}
	return nil, errUnsupported
}

// Lstat stats a path without following a final link.
func (h fsHandlers) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	name, err := resolve(r.Filepath)
	if err != nil {
		return nil, err
	}
	info, err := h.c.root.Lstat(name)
	if err != nil {
		return nil, forClient(err)
	}
	return lister{hideOwner(info)}, nil
}

// Readlink is refused: a link's target, which the host made, may name
// folders the tenant should not learn of.
func (h fsHandlers) Readlink(p string) (string, error) {
	h.c.denied("readlink", "", "file", p)
	return "", errDenied
}

func (c *conn) list(name string) (lister, error) {
	d, err := c.root.Open(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	infos := make(lister, 0, len(entries))
	for _, e := range entries {
		if name == "." && strings.EqualFold(e.Name(), stagingDir) {
			continue
		}
		if info, err := e.Info(); err == nil {
			infos = append(infos, hideOwner(info))
		}
	}
	return infos, nil
}

// rename moves a file or folder within the folder. Unless replace is set,
// an existing target is an error, as SFTP version 3 says. A file that
// arrives under a new name is announced as an upload, so that a client that
// uploads to a temporary name and renames it (WinSCP's ".filepart")
// triggers the sync too.
func (c *conn) rename(from, to string, replace bool) error {
	oldname, err := resolve(from)
	if err != nil {
		return err
	}
	if oldname == "." {
		return errDenied
	}
	newname, err := resolveNew(to)
	if err != nil {
		return err
	}
	info, err := c.root.Lstat(oldname)
	if err != nil {
		return err
	}
	if !replace {
		if _, err := c.root.Lstat(newname); err == nil {
			return fs.ErrExist
		}
	}
	if err := c.root.Rename(oldname, newname); err != nil {
		return err
	}
	c.s.log.Info("sftpserver: renamed", "event", "rename", "tenant", c.tenant.ID, "user", c.user, "remote", c.remote,
		"file", newname, "from", oldname)
	if info.Mode().IsRegular() {
		c.announce(Upload{Name: newname, Size: info.Size(), RenamedFrom: oldname})
	}
	return nil
}

// remove deletes a file, not a folder.
func (c *conn) remove(p string) error {
	name, err := resolve(p)
	if err != nil {
		return err
	}
	info, err := c.root.Lstat(name)
	if err != nil {
		return err
	}
	if info.IsDir() {
		return failure("is a folder")
	}
	if err := c.root.Remove(name); err != nil {
		return err
	}
	size := int64(0)
	if info.Mode().IsRegular() {
		size = info.Size()
	}
	c.ts.usage(-size, -1)
	c.s.log.Info("sftpserver: removed", "event", "remove", "tenant", c.tenant.ID, "user", c.user, "remote", c.remote,
		"file", name, "bytes", size)
	return nil
}

// mkdir makes a folder, which counts against the tenant's files.
func (c *conn) mkdir(p string) error {
	name, err := resolveNew(p)
	if err != nil {
		return err
	}
	q := c.quota()
	c.ts.mu.Lock()
	defer c.ts.mu.Unlock()
	if err := c.ts.recount(c.root); err != nil {
		return err
	}
	if q.MaxFiles >= 0 && c.ts.usedFiles+c.ts.pendingFiles+1 > q.MaxFiles {
		return failure("%s: the folder may hold at most %d files and folders", ErrQuotaExceeded, q.MaxFiles)
	}
	if err := c.root.Mkdir(name, folderPerm); err != nil {
		return err
	}
	c.ts.usedFiles++
	c.s.log.Info("sftpserver: folder made", "event", "mkdir", "tenant", c.tenant.ID, "user", c.user, "remote", c.remote, "file", name)
	return nil
}

// rmdir removes an empty folder, never the tenant's folder itself.
func (c *conn) rmdir(p string) error {
	name, err := resolve(p)
	if err != nil {
		return err
	}
	if name == "." {
		return errDenied
	}
	info, err := c.root.Lstat(name)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return failure("not a folder")
	}
	if err := c.root.Remove(name); err != nil {
		return err
	}
	c.ts.usage(0, -1)
	c.s.log.Info("sftpserver: folder removed", "event", "rmdir", "tenant", c.tenant.ID, "user", c.user, "remote", c.remote, "file", name)
	return nil
}

// setstat does what upload clients ask of a file's attributes, leniently:
// times are set (sftp -p preserves them), permissions are accepted but the
// server keeps its own, a size truncates an upload in progress. Changing
// the owner, or the size of a finished file, is refused.
//
// An fsetstat on an open upload arrives as a setstat of its final name
// (pkg/sftp's request server does not say which handle): it applies to
// that upload when one is in progress on this connection.
func (c *conn) setstat(r *sftp.Request) error {
	name, err := resolve(r.Filepath)
	if err != nil {
		return err
	}
	flags, attrs := r.AttrFlags(), r.Attributes()
	if flags.UidGid {
		c.denied("setstat owner", "", "file", name)
		return errDenied
	}
	if u := c.uploadOf(name); u != nil {
		return u.setstat(flags, attrs)
	}
	if flags.Size {
		c.denied("setstat size", "", "file", name)
		return errDenied
	}
	if flags.Acmodtime {
		return c.root.Chtimes(name, time.Unix(int64(attrs.Atime), 0), time.Unix(int64(attrs.Mtime), 0))
	}
	if flags.Permissions {
		_, err := c.root.Stat(name) // accepted, not applied; but the file must exist
		return err
	}
	return nil
}

// hideOwner hides the owner and group of a file: numeric IDs of the host's
// accounts are none of a tenant's business.
func hideOwner(info fs.FileInfo) fs.FileInfo { return ownerless{info} }

type ownerless struct{ fs.FileInfo }

func (ownerless) Sys() any { return nil }

// lister serves a listing in the pieces the request server asks for.
type lister []fs.FileInfo

func (l lister) ListAt(dst []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(dst, l[off:])
	if off+int64(n) >= int64(len(l)) {
		return n, io.EOF
	}
	return n, nil
}

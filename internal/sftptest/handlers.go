package sftptest

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/pkg/sftp"
)

// handlers serve the SFTP requests from the Server's folder, through an
// os.Root so that no path reaches outside it.
type handlers struct{ s *Server }

func (s *Server) handlers() sftp.Handlers {
	h := handlers{s}
	return sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h}
}

var (
	_ sftp.FileReader           = handlers{}
	_ sftp.FileWriter           = handlers{}
	_ sftp.PosixRenameFileCmder = handlers{}
	_ sftp.LstatFileLister      = handlers{}
)

// rel maps an SFTP path, absolute after the request server cleaned it, to
// a name inside the root.
func rel(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		return "."
	}
	return p
}

func (h handlers) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	h.s.wait()
	f, err := h.s.root.Open(rel(r.Filepath))
	if err != nil {
		return nil, err
	}
	if h.s.opts.MaxRead > 0 {
		return &shortReader{f: f, max: h.s.opts.MaxRead, s: h.s}, nil
	}
	return &stallReader{f: f, s: h.s}, nil
}

// stallReader waits while the server is stalled before each read.
type stallReader struct {
	f *os.File
	s *Server
}

func (r *stallReader) ReadAt(p []byte, off int64) (int, error) {
	r.s.wait()
	return r.f.ReadAt(p, off)
}

func (r *stallReader) Close() error { return r.f.Close() }

// shortReader returns at most max bytes per read, without an error, as a
// server with a small maximum packet does.
type shortReader struct {
	f   *os.File
	max int
	s   *Server
}

func (r *shortReader) ReadAt(p []byte, off int64) (int, error) {
	r.s.wait()
	if len(p) > r.max {
		p = p[:r.max]
		n, err := r.f.ReadAt(p, off)
		if err == io.EOF && n > 0 {
			err = nil
		}
		return n, err
	}
	return r.f.ReadAt(p, off)
}

func (r *shortReader) Close() error { return r.f.Close() }

func (h handlers) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	h.s.wait()
	flags := os.O_WRONLY | os.O_CREATE
	pf := r.Pflags()
	if pf.Trunc {
		flags |= os.O_TRUNC
	}
	if pf.Excl {
		flags |= os.O_EXCL
	}
	return h.s.root.OpenFile(rel(r.Filepath), flags, 0o644)
}

func (h handlers) Filecmd(r *sftp.Request) error {
	h.s.wait()
	root, name := h.s.root, rel(r.Filepath)
	switch r.Method {
	case "Rename":
		// SFTP version 3 renames never replace a file.
		if _, err := root.Lstat(rel(r.Target)); err == nil {
			return fs.ErrExist
		}
		return root.Rename(name, rel(r.Target))
	case "Remove":
		if fi, err := root.Lstat(name); err == nil && fi.IsDir() {
			return errors.New("is a folder")
		}
		return root.Remove(name)
	case "Rmdir":
		return root.Remove(name)
	case "Mkdir":
		return root.Mkdir(name, 0o755)
	case "Setstat":
		return h.setstat(r, name)
	}
	return sftp.ErrSSHFxOpUnsupported
}

func (h handlers) setstat(r *sftp.Request, name string) error {
	flags, attrs := r.AttrFlags(), r.Attributes()
	if flags.Acmodtime {
		if err := h.s.root.Chtimes(name, attrs.AccessTime(), attrs.ModTime()); err != nil {
			return err
		}
	}
	if flags.Permissions {
		if err := h.s.root.Chmod(name, attrs.FileMode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

// PosixRename replaces the target, as posix-rename@openssh.com does.
func (h handlers) PosixRename(r *sftp.Request) error {
	h.s.wait()
	return h.s.root.Rename(rel(r.Filepath), rel(r.Target))
}

func (h handlers) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	h.s.wait()
	name := rel(r.Filepath)
	switch r.Method {
	case "List":
		d, err := h.s.root.Open(name)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		entries, err := d.ReadDir(-1)
		if err != nil {
			return nil, err
		}
		infos := make([]fs.FileInfo, 0, len(entries))
		for _, e := range entries {
			if fi, err := e.Info(); err == nil {
				infos = append(infos, fi)
			}
		}
		return lister(infos), nil
	case "Stat":
		fi, err := h.s.root.Stat(name)
		if err != nil {
			return nil, err
		}
		return lister{fi}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

func (h handlers) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	h.s.wait()
	fi, err := h.s.root.Lstat(rel(r.Filepath))
	if err != nil {
		return nil, err
	}
	return lister{fi}, nil
}

// lister serves a listing in the pieces the request server asks for.
type lister []fs.FileInfo

func (l lister) ListAt(dst []fs.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(dst, l[off:])
	if off+int64(n) >= int64(len(l)) {
		return n, io.EOF
	}
	return n, nil
}

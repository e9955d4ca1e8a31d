// Package sftpsource is a [usersync.Source] over a folder on an SFTP
// server: the product's own drop box, or the customer's server.
//
// # Trust and login
//
// The server's host key is always verified, by a known_hosts file or by
// pinned SHA256 fingerprints ([Config]); a server that is not known fails
// with an [*UnknownHostError], and one whose key changed with a
// [*HostKeyChangedError], before any credential is sent. Only the key
// types known_hosts records for the server are asked for, so a server
// offering several keys is recognized by the one on record. The explicit
// Config.InsecureIgnoreHostKey skips the check, for tests; it logs a
// warning at every connection and fails the host-key step of Check.
//
// A Source logs in with a password, a private key (OpenSSH or PEM format,
// optionally passphrase-protected) or keyboard-interactive prompts. A
// refused login fails with an error wrapping [ErrAuth] and is never
// retried.
//
// # A dead server cannot hang a run
//
// Connecting is bounded by Options.ConnectTimeout: TCP, SSH handshake,
// login and SFTP start. Once connected, every operation must be answered
// within Options.Timeout, a download must receive data within it, and a
// quiet connection sends keepalives (keepalive@openssh.com) so that one
// that hears nothing for Timeout is closed. A canceled ctx closes the
// connection at once. Connecting, and an operation whose connection broke,
// are retried with exponential backoff (Options.Retries); a download that
// breaks is not resumed: the file fails, and the next run reads it again.
//
// # Fast, verified downloads
//
// Open reads the file with many requests in flight (Options.Concurrency),
// as OpenSSH's sftp client does, and delivers the bytes in order as an
// io.Reader. A server that answers a read with fewer bytes than asked is
// asked again for the rest, instead of leaving a hole (the silent
// truncation of github.com/pkg/sftp issue 658). The stream ends with
// io.EOF only after exactly the size the server reported when the file was
// opened; a file that ends early or grows fails with an error wrapping
// usersync.ErrIntegrity.
//
// # Names
//
// Names from the server are never trusted: List leaves out, and logs, any
// name that source.ValidName refuses (a "..", a slash, a backslash, a
// control character), and every method refuses such names before
// touching the server.
//
// Besides Source, a *Source implements [usersync.Remover],
// [usersync.Renamer] and [usersync.Checker]. Wrap it with source.Pickup
// for name patterns, readiness, archiving and skipping content already
// applied. Its methods are safe for concurrent use; they share one
// connection.
package sftpsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/pkg/sftp"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/retry"
	"github.com/usersync/usersync/source"
)

var (
	_ usersync.Source  = (*Source)(nil)
	_ usersync.Remover = (*Source)(nil)
	_ usersync.Renamer = (*Source)(nil)
	_ usersync.Checker = (*Source)(nil)
)

// Source is a Source over a folder of an SFTP server. Make one with [Dial],
// or with [New] over a client of your own.
type Source struct {
	folder string
	opts   Options
	log    *slog.Logger
	// refusals logs the names listings refuse, each once while it stays.
	refusals source.RefusalLog
	dialer   *dialer // nil for New: cannot reconnect
	stop     context.CancelFunc
	done     context.Context // canceled by Close, to stop a dial under way

	mu     sync.Mutex
	cur    *conn
	closed bool
}

// Dial connects to the server cfg names and returns a Source over
// cfg.Folder. It fails at once, without retrying, if cfg cannot work
// ([*ConfigError]) or the server cannot be trusted or refuses the login;
// it retries a refused or broken connection. The Source reconnects by
// itself when its connection breaks. The caller must Close it.
func Dial(ctx context.Context, cfg Config, opts *Options) (*Source, error) {
	o := opts.withDefaults()
	d, err := newDialer(cfg, o)
	if err != nil {
		return nil, err
	}
	s := newSource(cfg.Folder, o)
	s.dialer = d
	if _, err := s.get(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sftpsource: %s: %w", cfg, err)
	}
	return s, nil
}

// New returns a Source over folder, through a client the caller connected
// and authenticated. The Source takes the client over: Close closes it,
// and so do a canceled ctx and a server that does not answer within
// Options.Timeout, since closing is the only way to stop a request under
// way. It cannot reconnect: once the client is closed, every call fails.
// Options.ConnectTimeout and KeepAlive do not apply: the client's own
// settings do. A MaxPacket larger than the client's own makes pkg/sftp
// take a slower path.
func New(client *sftp.Client, folder string, opts *Options) (*Source, error) {
	if client == nil {
		return nil, errors.New("sftpsource: New: nil client")
	}
	o := opts.withDefaults()
	if o.MaxPacket == 0 {
		o.MaxPacket = DefaultMaxPacket // the client's own default size
	}
	s := newSource(folder, o)
	s.cur = newConn(client, nil, nil, o)
	return s, nil
}

func newSource(folder string, o Options) *Source {
	s := &Source{folder: folder, opts: o, log: o.Logger}
	if s.folder == "" {
		s.folder = "."
	}
	s.done, s.stop = context.WithCancel(context.Background())
	return s
}

// get returns the live connection, connecting if there is none.
func (s *Source) get(ctx context.Context) (*conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, source.ErrClosed
	}
	if s.cur != nil && s.cur.alive() {
		return s.cur, nil
	}
	if s.dialer == nil {
		return nil, fmt.Errorf("%w; a Source made with New cannot reconnect", s.cur.err)
	}
	if s.cur != nil {
		s.log.Info("sftpsource: reconnecting", "server", s.dialer.addr, "after", s.cur.err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer context.AfterFunc(s.done, cancel)()
	c, err := s.dialer.dial(ctx)
	cancel()
	if err != nil {
		if s.done.Err() != nil {
			return nil, source.ErrClosed
		}
		return nil, err
	}
	s.cur = c
	return c, nil
}

// do runs fn on a live connection within Options.Timeout. If the
// connection broke under it, it runs fn again on a new one, as
// Options.Retries allows.
func (s *Source) do(ctx context.Context, what string, fn func(c *conn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err := withRetries(ctx, s.opts, func() (struct{}, error) {
		c, err := s.get(ctx)
		if err != nil {
			return struct{}{}, retry.Permanent(err)
		}
		err = c.run(ctx, s.opts.Timeout, what, func() error { return fn(c) })
		if err != nil && s.dialer != nil && !c.alive() && errors.Is(err, errConnLost) {
			return struct{}{}, err
		}
		if err != nil {
			return struct{}{}, retry.Permanent(err)
		}
		return struct{}{}, nil
	})
	return err
}

// remote returns the server path of a name.
func (s *Source) remote(name string) string { return path.Join(s.folder, name) }

// List returns the regular files of the folder, sorted by name. It leaves
// out folders, files whose names start with "." (uploads in progress,
// unless Options.IncludeHidden) and names that source.ValidName refuses,
// which it logs as a warning. A symbolic link is listed if it leads to a
// regular file.
func (s *Source) List(ctx context.Context) ([]usersync.FileInfo, error) {
	files, _, err := s.list(ctx)
	if err != nil {
		return nil, &fs.PathError{Op: "list", Path: s.folder, Err: err}
	}
	return files, nil
}

// list also returns the names it refused.
func (s *Source) list(ctx context.Context) ([]usersync.FileInfo, []string, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	var files []usersync.FileInfo
	var refused []string
	err := s.do(ctx, "list "+s.folder, func(c *conn) error {
		var err error
		files, refused, err = s.readDir(c)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	s.refusals.Log(ctx, s.log, "sftpsource: file name refused", s.folder, refused)
	slices.SortFunc(files, func(a, b usersync.FileInfo) int { return strings.Compare(a.Name, b.Name) })
	return files, refused, nil
}

// readDir lists the folder on c: the regular files, and the names refused.
func (s *Source) readDir(c *conn) ([]usersync.FileInfo, []string, error) {
	infos, err := c.sftp.ReadDir(s.folder)
	if err != nil {
		return nil, nil, cause(err)
	}
	var files []usersync.FileInfo
	var refused []string
	for _, fi := range infos {
		name := fi.Name()
		if err := source.ValidName(name); err != nil || strings.Contains(name, "/") {
			refused = append(refused, name)
			continue
		}
		if strings.HasPrefix(name, ".") && !s.opts.IncludeHidden {
			continue
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if fi, err = c.sftp.Stat(s.remote(name)); err != nil {
				continue // dangling, or out of reach
			}
		}
		if fi.Mode().IsRegular() {
			files = append(files, usersync.FileInfo{Name: name, Size: fi.Size(), ModTime: fi.ModTime()})
		}
	}
	return files, refused, nil
}

// Open starts downloading the named file. The stream fails, instead of
// ending, if the file turns out shorter or longer than the size the server
// reported at Open (usersync.ErrIntegrity), if the server sends no data
// for Options.Timeout, or if ctx is canceled, which also closes the
// connection.
func (s *Source) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := source.CheckNames(ctx, name); err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	var d *download
	err := s.do(ctx, "open "+name, func(c *conn) error {
		p := s.remote(name)
		fi, err := c.sftp.Stat(p)
		if err != nil {
			return cause(err)
		}
		if !fi.Mode().IsRegular() {
			return errors.New("not a regular file")
		}
		f, err := c.sftp.Open(p)
		if err != nil {
			return cause(err)
		}
		d = newDownload(ctx, c, f, fi.Size(), name, s.opts.Timeout)
		return nil
	})
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return d, nil
}

// Remove deletes the named file. It does not delete folders.
func (s *Source) Remove(ctx context.Context, name string) error {
	if err := source.CheckNames(ctx, name); err != nil {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	err := s.do(ctx, "remove "+name, func(c *conn) error {
		p := s.remote(name)
		fi, err := c.sftp.Lstat(p)
		if err != nil {
			return cause(err)
		}
		if fi.IsDir() {
			return errors.New("is a folder")
		}
		return cause(c.sftp.Remove(p))
	})
	if err != nil {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	return nil
}

// Rename moves a file to newname, creating newname's folders as needed,
// and replaces a file already there: atomically with the
// posix-rename@openssh.com extension, which OpenSSH and most servers
// offer; otherwise by removing that file first.
func (s *Source) Rename(ctx context.Context, oldname, newname string) error {
	if err := source.CheckNames(ctx, oldname, newname); err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	err := s.do(ctx, "rename "+oldname, func(c *conn) error {
		from, to := s.remote(oldname), s.remote(newname)
		if _, err := c.sftp.Lstat(from); err != nil {
			return cause(err)
		}
		if dir := path.Dir(newname); dir != "." {
			if err := c.sftp.MkdirAll(s.remote(dir)); err != nil {
				return cause(err)
			}
		}
		if c.posix {
			return cause(c.sftp.PosixRename(from, to))
		}
		if fi, err := c.sftp.Lstat(to); err == nil && !fi.IsDir() {
			if err := c.sftp.Remove(to); err != nil {
				return cause(err)
			}
		}
		return cause(c.sftp.Rename(from, to))
	})
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	return nil
}

// Close closes the connection; later calls fail with an error wrapping
// fs.ErrClosed, and so do downloads still open. Close may be called more
// than once.
func (s *Source) Close() error {
	s.stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.cur != nil {
		s.cur.kill(source.ErrClosed)
	}
	return nil
}

// cause maps the SFTP status errors that pkg/sftp leaves as they are to
// the fs errors callers test for.
func cause(err error) error {
	var se *sftp.StatusError
	if errors.As(err, &se) {
		switch se.FxCode() {
		case sftp.ErrSSHFxNoSuchFile:
			return fmt.Errorf("%w (%v)", fs.ErrNotExist, err)
		case sftp.ErrSSHFxPermissionDenied:
			return fmt.Errorf("%w (%v)", fs.ErrPermission, err)
		}
	}
	return err
}

package ftpsource

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
	"time"

	"github.com/jlaffaye/ftp"

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

// idleProbe is how long a pooled connection may sit unused before it is
// asked for a sign of life (NOOP) before use: servers close idle
// connections after a few minutes, often without a word.
const idleProbe = 15 * time.Second

// Source is a Source over a folder of an FTP server. Make one with [Dial].
type Source struct {
	d      *dialer
	folder string // as configured; "" for the login folder
	file   string // the one file to offer, if Config.File is set
	opts   *Options
	log    *slog.Logger
	// refusals logs the names listings refuse, each once while it stays.
	refusals source.RefusalLog
	// unlisted logs the listed names the server has no file of.
	unlisted source.RefusalLog
	slots    chan struct{} // one per connection in use
	done     context.Context
	stop     context.CancelFunc

	mu     sync.Mutex
	idle   []*conn
	busy   map[*conn]bool
	closed bool
}

// Dial connects to the server cfg names and returns a Source over its
// folder (or file). It fails at once, without retrying, if cfg cannot work
// ([*ConfigError]), the server offers no TLS ([ErrNoTLS]), its certificate
// is not trusted ([*CertificateError]) or it refuses the login
// ([ErrAuth]); it retries a refused or broken connection. The Source
// reconnects by itself when a connection breaks. The caller must Close
// it.
func Dial(ctx context.Context, cfg Config, opts *Options) (*Source, error) {
	s, err := newSource(cfg, opts)
	if err != nil {
		return nil, err
	}
	c, err := s.acquire(ctx)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("ftpsource: %s: %w", cfg, err)
	}
	s.release(c)
	return s, nil
}

func newSource(cfg Config, opts *Options) (*Source, error) {
	o := opts.withDefaults()
	d, err := newDialer(cfg, &o)
	if err != nil {
		return nil, err
	}
	s := &Source{d: d, opts: &o, log: o.Logger, slots: make(chan struct{}, o.MaxConnections), busy: map[*conn]bool{}}
	s.folder, s.file = cfg.folderAndFile()
	s.done, s.stop = context.WithCancel(context.Background())
	return s, nil
}

// acquire returns a live connection for the caller's use alone, waiting
// while MaxConnections are busy. The caller must release it.
func (s *Source) acquire(ctx context.Context) (*conn, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done.Done():
		return nil, source.ErrClosed
	}
	c, err := s.pooled(ctx)
	if c == nil && err == nil {
		c, err = s.connect(ctx)
	}
	if err != nil {
		<-s.slots
		return nil, err
	}
	return c, nil
}

// pooled returns an idle connection that is still alive, or none.
func (s *Source) pooled(ctx context.Context) (*conn, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, source.ErrClosed
		}
		if len(s.idle) == 0 {
			s.mu.Unlock()
			return nil, nil
		}
		c := s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		s.busy[c] = true
		s.mu.Unlock()
		if c.alive() && (time.Since(c.idled) < idleProbe || c.run(ctx, c.ftp.NoOp) == nil) {
			return c, nil
		}
		s.drop(c)
	}
}

// connect dials a new connection; Close stops a dial under way.
func (s *Source) connect(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer context.AfterFunc(s.done, cancel)()
	c, err := s.d.dial(ctx)
	cancel()
	if err != nil {
		if s.done.Err() != nil {
			return nil, source.ErrClosed
		}
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.kill(source.ErrClosed)
		return nil, source.ErrClosed
	}
	s.busy[c] = true
	return c, nil
}

// release gives back a connection from acquire: to the pool if it is
// alive, else it is dropped.
func (s *Source) release(c *conn) {
	s.mu.Lock()
	delete(s.busy, c)
	keep := c.alive() && !s.closed
	if keep {
		c.idled = time.Now()
		s.idle = append(s.idle, c)
	}
	s.mu.Unlock()
	if !keep {
		c.kill(errConnLost)
	}
	<-s.slots
}

// drop forgets a connection that died in the pool.
func (s *Source) drop(c *conn) {
	s.mu.Lock()
	delete(s.busy, c)
	s.mu.Unlock()
	c.kill(errConnLost)
}

// do runs fn on a connection of its own. If the connection broke under
// it, it runs fn again on a new one, as Options.Retries allows. With hold,
// a connection fn succeeded on stays the caller's, to release.
func (s *Source) do(ctx context.Context, hold bool, fn func(c *conn) error) (*conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return withRetries(ctx, s.opts, func() (*conn, error) {
		c, err := s.acquire(ctx)
		if err != nil {
			return nil, retry.Permanent(err)
		}
		err = c.run(ctx, func() error { return fn(c) })
		if err != nil || !hold {
			s.release(c)
		}
		switch {
		case err == nil && hold:
			return c, nil
		case err == nil:
			return nil, nil
		case errors.Is(err, errConnLost) && ctx.Err() == nil:
			return nil, err
		}
		return nil, retry.Permanent(err)
	})
}

// List returns the regular files of the folder, sorted by name (or the
// Config's File alone, when it is there). It leaves out folders, files
// whose names start with "." (uploads in progress, unless
// Options.IncludeHidden) and names that source.ValidName refuses, which it
// logs as a warning. A symbolic link is listed if it leads to a file.
//
// Times are exact with servers that list with MLSD or answer MDTM, as
// most do; with others, they are as precise as the listing. Sizes come
// from SIZE, and a listed name the server has no file of (an entry forged
// by a file name holding a line break) is left out and logged: see the
// package documentation, "Names".
func (s *Source) List(ctx context.Context) ([]usersync.FileInfo, error) {
	files, _, err := s.list(ctx)
	if err != nil {
		return nil, &fs.PathError{Op: "list", Path: s.where(), Err: err}
	}
	return files, nil
}

// where names the folder for errors and logs.
func (s *Source) where() string {
	if s.folder == "" {
		return "."
	}
	return s.folder
}

// list also returns the names it refused.
func (s *Source) list(ctx context.Context) ([]usersync.FileInfo, []string, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	var l listing
	_, err := s.do(ctx, false, func(c *conn) error {
		var err error
		l, err = s.readDir(c)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	s.refusals.Log(ctx, s.log, "ftpsource: file name refused", s.where(), l.refused)
	s.unlisted.Log(ctx, s.log, "ftpsource: listed file left out: the server has no such file (a file name holding a line break forges entries in a listing)", s.where(), l.unlisted)
	slices.SortFunc(l.files, func(a, b usersync.FileInfo) int { return strings.Compare(a.Name, b.Name) })
	return l.files, l.refused, nil
}

// A listing is what readDir makes of a folder's listing.
type listing struct {
	files    []usersync.FileInfo
	refused  []string // names source.Refusal refuses
	unlisted []string // names listed that the server has no file of: forged
}

// readDir lists the folder on c.
//
// A listing cannot be taken at its word: LIST (all vsftpd offers) and MLSD
// both send a name as it is, so an upload whose name holds a line break
// makes lines of its own that read as entries, with the names, sizes and
// times the uploader chose. So each file's size comes from SIZE, which
// names one file and answers for that file alone, and a listed name the
// server has no file of is left out (and logged); its time comes from
// MDTM unless the listing is MLSD's and the name is listed once (a forged
// entry for a name that is there makes it listed twice). A server that
// answers neither SIZE nor MDTM cannot be cross-checked; its listing is
// taken as it is.
func (s *Source) readDir(c *conn) (listing, error) {
	var l listing
	entries, err := c.ftp.List("")
	if err != nil {
		return l, err
	}
	listed := make(map[string]int, len(entries)) // times each name is listed
	folders := make(map[string]bool)
	for _, e := range entries {
		listed[e.Name]++
		if e.Type == ftp.EntryTypeFolder {
			folders[e.Name] = true
		}
	}
	taken := make(map[string]bool)
	for _, e := range entries {
		if e.Type == ftp.EntryTypeFolder {
			continue
		}
		name := e.Name
		if source.Refusal(name) != "" {
			if !taken[name] {
				l.refused = append(l.refused, name)
			}
			taken[name] = true
			continue
		}
		if (strings.HasPrefix(name, ".") && !s.opts.IncludeHidden) || (s.file != "" && name != s.file) || taken[name] {
			continue
		}
		taken[name] = true
		if folders[name] {
			l.unlisted = append(l.unlisted, name) // a folder, listed as a file too
			continue
		}
		fi, found, err := s.fileInfo(c, e, listed[name] > 1)
		if err != nil {
			return l, err
		}
		switch {
		case found == fileThere:
			l.files = append(l.files, fi)
		case found == fileForged:
			l.unlisted = append(l.unlisted, name)
		}
	}
	slices.Sort(l.refused)
	slices.Sort(l.unlisted)
	return l, nil
}

// What fileInfo found of a listed file.
const (
	fileThere  = iota
	fileSkip   // a link to a folder, or dangling
	fileForged // no such file
)

// fileInfo describes a listed file from what the server says of that name
// alone: its size from SIZE, and its time from MDTM when the listing is
// LIST's (to the minute at best) or the name was listed more than once
// (forged, see readDir). A link counts if it leads to a file.
func (s *Source) fileInfo(c *conn, e *ftp.Entry, twice bool) (usersync.FileInfo, int, error) {
	fi := usersync.FileInfo{Name: e.Name, Size: int64(e.Size), ModTime: e.Time}
	size, err := c.ftp.FileSize(e.Name)
	switch {
	case err == nil:
		fi.Size = size
	case replyCode(err) == 0:
		return fi, fileSkip, err // the connection broke
	case e.Type == ftp.EntryTypeLink:
		return fi, fileSkip, nil // a link to a folder, or dangling
	case !notImplemented(err):
		return fi, fileForged, nil
	}
	if e.Type == ftp.EntryTypeLink {
		fi.ModTime = time.Time{}
	}
	switch {
	case c.ftp.IsTimePreciseInList() && e.Type != ftp.EntryTypeLink && !twice:
		// MLSD times are UTC, whatever Location says about LIST's.
		t := e.Time
		fi.ModTime = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	case c.ftp.IsGetTimeSupported():
		t, err := c.ftp.GetTime(e.Name)
		switch {
		case err == nil:
			fi.ModTime = t
		case replyCode(err) == 0:
			return fi, fileSkip, err
		case twice:
			return fi, fileForged, nil // no time to trust
		}
	}
	return fi, fileThere, nil
}

// Open starts downloading the named file, on a connection of its own
// until the stream is closed. The stream fails, instead of ending, if the
// file turns out shorter or longer than the size the server reported at
// Open, or the server reports the transfer as failed
// (usersync.ErrIntegrity), if the server sends no data for
// Options.Timeout, or if ctx is canceled, which also closes the
// connection.
func (s *Source) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := source.CheckNames(ctx, name); err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	var size int64
	var resp *ftp.Response
	c, err := s.do(ctx, true, func(c *conn) error {
		var err error
		if size, err = c.ftp.FileSize(name); err != nil {
			if !notImplemented(err) {
				return s.explain(c, name, err)
			}
			size = -1 // the transfer's final reply must do
		}
		if resp, err = c.ftp.Retr(name); err != nil {
			return s.explain(c, name, err)
		}
		return nil
	})
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return newDownload(ctx, s, c, resp, name, size), nil
}

// notImplemented reports a reply saying the server does not know the
// command.
func notImplemented(err error) bool {
	switch replyCode(err) {
	case ftp.StatusBadCommand, ftp.StatusCommandNotImplemented, ftp.StatusNotImplemented, ftp.StatusNotImplementedParameter:
		return true
	}
	return false
}

// explain turns a server's refusal to act on a name into the error
// callers test for: FTP replies do not say reliably whether a file is
// missing (vsftpd answers 550 to both, goftp 450 or 551), so the folder is
// looked at. Other errors are returned as they are.
func (s *Source) explain(c *conn, name string, err error) error {
	code := replyCode(err)
	if code < 400 || code >= 600 {
		return err
	}
	e, lerr := s.lookup(c, name)
	switch {
	case lerr != nil && replyCode(lerr) == 0:
		return lerr // the connection broke
	case e == nil:
		return fmt.Errorf("%w (%w)", fs.ErrNotExist, err)
	case e.Type == ftp.EntryTypeFolder:
		return fmt.Errorf("is a folder (%w)", err)
	case code == ftp.StatusFileUnavailable && strings.Contains(strings.ToLower(err.Error()), "permission"):
		return fmt.Errorf("%w (%w)", fs.ErrPermission, err)
	}
	return err
}

// lookup finds name's entry in its folder's listing; nil if it is not
// there (or the folder is not).
func (s *Source) lookup(c *conn, name string) (*ftp.Entry, error) {
	dir, base := path.Split(name)
	entries, err := c.ftp.List(strings.TrimSuffix(dir, "/"))
	if err != nil {
		if replyCode(err) != 0 {
			return nil, nil // no such folder
		}
		return nil, err
	}
	for _, e := range entries {
		if e.Name == base {
			return e, nil
		}
	}
	return nil, nil
}

// Remove deletes the named file. It does not delete folders.
func (s *Source) Remove(ctx context.Context, name string) error {
	if err := source.CheckNames(ctx, name); err != nil {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	_, err := s.do(ctx, false, func(c *conn) error {
		if err := c.ftp.Delete(name); err != nil {
			return s.explain(c, name, err)
		}
		return nil
	})
	if err != nil {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	return nil
}

// Rename moves a file to newname, creating newname's folders as needed,
// and replaces a file already there: atomically on servers whose RNTO
// replaces (vsftpd, ProFTPD, pure-ftpd do), otherwise by deleting that
// file first.
func (s *Source) Rename(ctx context.Context, oldname, newname string) error {
	if err := source.CheckNames(ctx, oldname, newname); err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	_, err := s.do(ctx, false, func(c *conn) error {
		mkdirAll(c, path.Dir(newname))
		err := c.ftp.Rename(oldname, newname)
		if err == nil || replyCode(err) == 0 {
			return err
		}
		if err := s.explain(c, oldname, err); errors.Is(err, fs.ErrNotExist) || replyCode(err) == 0 {
			return err
		}
		if e, lerr := s.lookup(c, newname); lerr != nil || e == nil || e.Type == ftp.EntryTypeFolder {
			return err
		}
		if derr := c.ftp.Delete(newname); derr != nil {
			return err
		}
		return c.ftp.Rename(oldname, newname)
	})
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	return nil
}

// mkdirAll creates dir and its parents. A refusal is taken for "exists":
// servers answer MKD of an existing folder with 550 or 521, and a folder
// that could not be made fails the rename that needs it.
func mkdirAll(c *conn, dir string) {
	if dir == "." {
		return
	}
	var p string
	for _, elem := range strings.Split(dir, "/") {
		p = path.Join(p, elem)
		_ = c.ftp.MakeDir(p)
	}
}

// Close closes the connections; later calls fail with an error wrapping
// fs.ErrClosed, and so do downloads still open. Close may be called more
// than once.
func (s *Source) Close() error {
	s.stop()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	idle, busy := s.idle, s.busy
	s.idle, s.busy = nil, map[*conn]bool{}
	s.mu.Unlock()
	for c := range busy {
		c.kill(source.ErrClosed)
	}
	for _, c := range idle {
		c.quit()
	}
	return nil
}

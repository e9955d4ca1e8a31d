package sftpserver

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"slices"
	"sync"
	"time"

	"github.com/pkg/sftp"
)

// An Upload is a file that became complete in a tenant's folder: an
// upload the client closed, or a file it renamed.
type Upload struct {
	TenantID string   // Tenant.ID
	User     string   // the user name that logged in
	Remote   net.Addr // the client's address
	// Name is the file's slash-separated name in the tenant's folder, as
	// a Source over that folder names it.
	Name string
	Size int64
	// SHA256 is the hex SHA-256 of the content, for an upload; empty for
	// a file that arrived by a rename.
	SHA256 string
	// RenamedFrom is the file's earlier name, when it arrived by a rename.
	RenamedFrom string
	// Time is when the file became complete, by Options.Now.
	Time time.Time
}

const (
	// maxPending bounds the out-of-order pieces an upload tracks for its
	// running hash; past it, the file is hashed again once complete.
	maxPending = 1024
	// maxUploadsPerConn bounds the uploads one connection may have open
	// at once, each holding a file open; a client needs one or two.
	maxUploadsPerConn = 16
)

// An upload is a file being written under a temporary name in the staging
// folder. It becomes the named file, atomically, when the client closes
// it, unless any write failed or the transfer broke off: then it is
// removed, and no one ever sees a partial file.
type upload struct {
	c        *conn
	name     string // final name
	tmp      string // in the staging folder
	f        *os.File
	append   bool
	excl     bool
	replaces int64 // size of the file it replaces when opened, -1 if new
	start    time.Time
	quota    Quota

	mu       sync.Mutex
	size     int64 // bytes from 0 to the furthest write
	reserved int64 // bytes reserved in the tenant's quota
	err      error // the first failure; the upload is then discarded
	done     bool
	times    *[2]time.Time // access and modification times the client set

	// The running SHA-256: of the bytes up to hashed, with the written
	// ranges beyond it that are waiting for the gap before them to fill.
	h       hash.Hash
	hashed  int64
	pending []span
	rehash  bool // bytes already hashed were written again
	buf     []byte
}

type span struct{ start, end int64 }

var (
	_ sftp.WriterAtReaderAt = (*upload)(nil)
	_ sftp.TransferError    = (*upload)(nil)
	_ io.Closer             = (*upload)(nil)
)

// openUpload starts an upload for an SFTP open with write access. Without
// the truncate flag (a resumed upload, or a file opened for update), the
// upload starts as a copy of the existing file.
func (c *conn) openUpload(r *sftp.Request) (*upload, error) {
	name, err := resolveNew(r.Filepath)
	if err != nil {
		return nil, err
	}
	flags := r.Pflags()
	u := &upload{
		c: c, name: name, append: flags.Append, excl: flags.Excl, replaces: -1,
		start: time.Now(), quota: c.quota(), h: sha256.New(),
	}
	if err := c.begin(u); err != nil {
		return nil, err
	}
	if err := u.open(flags); err != nil {
		u.fail(err)
		u.discard()
		c.end(u)
		c.s.log.Warn("sftpserver: upload refused", "event", "upload_failed", "tenant", c.tenant.ID, "user", c.user,
			"remote", c.remote, "file", name, "error", err.Error())
		return nil, forClient(err)
	}
	return u, nil
}

// begin registers an upload on the connection, unless the server is
// shutting down or the connection has its maximum of uploads open.
func (c *conn) begin(u *upload) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining || c.closed {
		return errShuttingDown
	}
	if len(c.uploads) >= maxUploadsPerConn {
		return failure("too many uploads at once on this connection")
	}
	c.uploads = append(c.uploads, u)
	return nil
}

// end unregisters an upload. A draining connection closes after its last
// one, once the client has its reply.
func (c *conn) end(u *upload) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.uploads = slices.DeleteFunc(c.uploads, func(v *upload) bool { return v == u })
	if c.draining && len(c.uploads) == 0 {
		c.closeAfterReply.Store(true)
	}
}

// uploadOf returns the latest upload in progress on this connection to
// that name, if any.
func (c *conn) uploadOf(name string) *upload {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, u := range slices.Backward(c.uploads) {
		if u.name == name {
			return u
		}
	}
	return nil
}

// quota returns the tenant's quota: its own fields, then the server's.
func (c *conn) quota() Quota { return c.tenant.Quota.or(c.s.opts.Quota) }

// open checks the quota and creates the temporary file, seeded with the
// existing file's content unless the client truncates it.
func (u *upload) open(flags sftp.FileOpenFlags) error {
	if err := u.create(flags); err != nil {
		return err
	}
	if u.replaces > 0 && !flags.Trunc {
		return u.seed()
	}
	return nil
}

// create checks the quota, reserves the upload's place in it, and creates
// the temporary file, all under the tenant's lock.
func (u *upload) create(flags sftp.FileOpenFlags) error {
	c, ts := u.c, u.c.ts
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.sweep(c.root, c.s.opts.IdleTimeout)
	info, err := c.root.Lstat(u.name)
	switch {
	case err == nil && u.excl:
		return fs.ErrExist
	case err == nil && !info.Mode().IsRegular():
		return failure("not a regular file")
	case err == nil:
		u.replaces = info.Size()
	case !errors.Is(err, fs.ErrNotExist):
		return err
	case !flags.Creat:
		return err
	}
	if dir := path.Dir(u.name); dir != "." {
		// Fail now rather than once the whole file is sent.
		if info, err := c.root.Stat(dir); err != nil {
			return err
		} else if !info.IsDir() {
			return failure("not a folder")
		}
	}
	if err := ts.recount(c.root); err != nil {
		return err
	}
	if err := ts.checkNewUpload(u.quota, u.replaces); err != nil {
		return err
	}
	tmp, f, err := createStaged(c.root)
	if err != nil {
		ts.release(0, u.replaces)
		return err
	}
	u.tmp, u.f = tmp, f
	ts.uploads[path.Base(tmp)] = true
	if u.replaces > 0 && !flags.Trunc {
		// The copy that seed makes takes the place of the file it
		// replaces, which is credited already: no quota check.
		ts.pendingBytes += u.replaces
		u.reserved, u.size = u.replaces, u.replaces
	}
	return nil
}

// createStaged creates a new file with a random name in the staging
// folder, making the folder if needed.
func createStaged(root *os.Root) (string, *os.File, error) {
	if err := root.Mkdir(stagingDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", nil, err
	}
	var b [12]byte
	rand.Read(b[:])
	tmp := stagingDir + "/" + hex.EncodeToString(b[:]) + ".part"
	f, err := root.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, filePerm)
	return tmp, f, err
}

// seed copies the existing file into the upload, for a client that
// updates or resumes it. create reserved its size.
func (u *upload) seed() error {
	if u.quota.MaxFileSize >= 0 && u.replaces > u.quota.MaxFileSize {
		return fmt.Errorf("%w: files may be at most %d bytes", ErrQuotaExceeded, u.quota.MaxFileSize)
	}
	src, err := u.c.root.Open(u.name)
	if err != nil {
		return err
	}
	defer src.Close()
	u.mu.Lock()
	defer u.mu.Unlock()
	// The file may have changed since create looked: copy what it held
	// then, no more, and no less.
	n, err := io.Copy(io.MultiWriter(u.f, u.h), io.LimitReader(src, u.replaces))
	if err == nil && n != u.replaces {
		err = errors.New("the file changed while it was being copied")
	}
	u.hashed = n
	return err
}

// WriteAt writes a piece of the upload. Pieces may arrive out of order and
// concurrently: pkg/sftp serves writes with several workers.
func (u *upload) WriteAt(p []byte, off int64) (int, error) {
	off, err := u.grow(off, int64(len(p)))
	if err != nil {
		return 0, forClient(err)
	}
	n, err := u.f.WriteAt(p, off)
	if err != nil {
		u.fail(err)
		return n, forClient(err)
	}
	u.hashWrite(p, off)
	return n, nil
}

// grow makes room for a write of n bytes at off (at the end, for an
// append), within the quota, and returns the offset to write at.
func (u *upload) grow(off, n int64) (int64, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err != nil {
		return 0, u.err
	}
	if u.done {
		return 0, fs.ErrClosed
	}
	if u.append {
		off = u.size
	}
	end := off + n
	if off < 0 || end < off {
		return 0, failure("bad offset")
	}
	if end <= u.size {
		return off, nil
	}
	if u.quota.MaxFileSize >= 0 && end > u.quota.MaxFileSize {
		err := fmt.Errorf("%w: files may be at most %d bytes", ErrQuotaExceeded, u.quota.MaxFileSize)
		u.overQuota(err)
		return 0, err
	}
	if err := u.c.ts.reserve(u.quota, end-u.size); err != nil {
		u.overQuota(err)
		return 0, err
	}
	u.reserved += end - u.size
	u.size = end
	return off, nil
}

// hashWrite feeds a write to the running hash: at once if it continues the
// hashed bytes, along with the pieces that were waiting for it; later
// otherwise.
func (u *upload) hashWrite(p []byte, off int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case u.rehash:
	case off == u.hashed:
		u.h.Write(p)
		u.hashed += int64(len(p))
		u.drain()
	case off > u.hashed:
		u.addPending(span{off, off + int64(len(p))})
	default:
		u.rehash, u.pending = true, nil
	}
}

// addPending records a written range beyond the hashed bytes, merging it
// with its neighbors.
func (u *upload) addPending(s span) {
	i := 0
	for i < len(u.pending) && u.pending[i].end < s.start {
		i++
	}
	j := i
	for j < len(u.pending) && u.pending[j].start <= s.end {
		s.start, s.end = min(s.start, u.pending[j].start), max(s.end, u.pending[j].end)
		j++
	}
	u.pending = append(u.pending[:i], append([]span{s}, u.pending[j:]...)...)
	if len(u.pending) > maxPending {
		u.rehash, u.pending = true, nil
	}
}

// drain hashes the pending ranges that now continue the hashed bytes,
// reading them back from the file, where they are in the page cache.
func (u *upload) drain() {
	for len(u.pending) > 0 && u.pending[0].start <= u.hashed {
		s := u.pending[0]
		u.pending = u.pending[1:]
		if s.end <= u.hashed {
			continue
		}
		if err := u.hashRange(u.hashed, s.end); err != nil {
			u.rehash, u.pending = true, nil
			return
		}
	}
}

// hashRange feeds bytes [from, to) of the file to the hash.
func (u *upload) hashRange(from, to int64) error {
	if u.buf == nil {
		u.buf = make([]byte, 64<<10)
	}
	n, err := io.CopyBuffer(u.h, io.NewSectionReader(u.f, from, to-from), u.buf)
	u.hashed = from + n
	if err == nil && u.hashed != to {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// ReadAt reads the upload back, for a client that opened it for reading
// and writing.
func (u *upload) ReadAt(p []byte, off int64) (int, error) {
	return u.f.ReadAt(p, off)
}

// TransferError is called by pkg/sftp when the connection ends with the
// upload open: the client was killed, the network broke, the server was
// closed. The upload is then discarded when Close follows.
func (u *upload) TransferError(err error) {
	u.fail(fmt.Errorf("transfer interrupted: %w", err))
}

// overQuota fails the upload and frees its space at once, rather than when
// the client closes it: its bytes no longer count against the tenant, and
// its temporary file is emptied and unlinked. u.mu is held.
func (u *upload) overQuota(err error) {
	u.failLocked(err)
	u.f.Truncate(0)
	u.c.root.Remove(u.tmp)
	ts := u.c.ts
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.pendingBytes -= u.reserved
	u.reserved = 0
}

func (u *upload) fail(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.failLocked(err)
}

func (u *upload) failLocked(err error) {
	if u.err == nil {
		u.err = err
	}
}

// setstat applies a client's fsetstat to the upload in progress.
func (u *upload) setstat(flags sftp.FileAttrFlags, attrs *sftp.FileStat) error {
	if flags.Size {
		u.mu.Lock()
		size := int64(attrs.Size)
		if size > u.size {
			u.mu.Unlock()
			if _, err := u.grow(size, 0); err != nil {
				return err
			}
			u.mu.Lock()
		}
		err := u.f.Truncate(size)
		u.size = size
		if size < u.hashed {
			u.rehash, u.pending = true, nil
		}
		u.mu.Unlock()
		if err != nil {
			return err
		}
	}
	if flags.Acmodtime {
		// Applied once the last write is done, when the file is complete.
		u.mu.Lock()
		u.times = &[2]time.Time{time.Unix(int64(attrs.Atime), 0), time.Unix(int64(attrs.Mtime), 0)}
		u.mu.Unlock()
	}
	return nil
}

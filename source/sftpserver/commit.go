package sftpserver

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"runtime/debug"
	"time"
)

// Close ends the upload: if every write succeeded, the file is hashed,
// synced to disk and moved to its name in one rename, and the upload is
// announced; otherwise the temporary file is removed and the client told.
// pkg/sftp calls it when the client closes the handle, once the writes
// before it are done, and when the connection ends.
func (u *upload) Close() error {
	u.mu.Lock()
	if u.done {
		u.mu.Unlock()
		return nil
	}
	u.done = true
	err := u.err
	u.mu.Unlock()
	defer u.c.end(u)
	if err == nil {
		var sum string
		if sum, err = u.commit(); err == nil {
			u.committed(sum)
			return nil
		}
	}
	u.discard()
	u.c.s.log.Warn("sftpserver: upload failed", "event", "upload_failed", "tenant", u.c.tenant.ID, "user", u.c.user,
		"remote", u.c.remote, "file", u.name, "bytes", u.size, "error", err.Error())
	return forClient(err)
}

// commit makes the upload the named file and returns its SHA-256.
func (u *upload) commit() (string, error) {
	sum, err := u.sum()
	if err != nil {
		return "", err
	}
	if !u.c.s.opts.NoSync {
		if err := u.f.Sync(); err != nil {
			return "", err
		}
	}
	if err := u.f.Close(); err != nil {
		return "", err
	}
	u.f = nil
	root := u.c.root
	if u.times != nil {
		if err := root.Chtimes(u.tmp, u.times[0], u.times[1]); err != nil {
			return "", err
		}
	}
	if err := u.place(); err != nil {
		return "", err
	}
	if !u.c.s.opts.NoSync {
		// The file is in place, whole: a failure here only means a crash
		// could lose its name. It is announced all the same.
		if err := syncDir(root, path.Dir(u.name)); err != nil {
			u.c.s.log.Error("sftpserver: syncing the folder of an upload failed", "event", "sync_failed", "tenant", u.c.tenant.ID,
				"file", u.name, "error", err.Error())
		}
	}
	return sum, nil
}

// place moves the temporary file to its name, under the tenant's lock so
// that the usage stays exact: a rename, which replaces a file there, or
// for an exclusive create a hard link, which fails if one appeared
// meanwhile.
func (u *upload) place() error {
	root, ts := u.c.root, u.c.ts
	ts.mu.Lock()
	defer ts.mu.Unlock()
	replaced, err := root.Lstat(u.name)
	switch {
	case err == nil && u.excl:
		return fs.ErrExist
	case err == nil && !replaced.Mode().IsRegular():
		return failure("not a regular file")
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if u.excl {
		if err := root.Link(u.tmp, u.name); err != nil {
			return err
		}
		root.Remove(u.tmp)
	} else if err := root.Rename(u.tmp, u.name); err != nil {
		return err
	}
	delete(ts.uploads, path.Base(u.tmp))
	ts.release(u.reserved, u.replaces)
	ts.usedBytes += u.size
	if replaced != nil {
		ts.usedBytes -= replaced.Size()
	} else {
		ts.usedFiles++
	}
	u.reserved, u.tmp = 0, ""
	return nil
}

// syncDir syncs a folder, so that a name just made in it is on disk.
func syncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// sum returns the hex SHA-256 of the file, completing the running hash, or
// hashing the file again when the writes did not allow a running one.
func (u *upload) sum() (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.rehash {
		u.h.Reset()
		u.hashed = 0
	}
	if u.hashed < u.size {
		if err := u.hashRange(u.hashed, u.size); err != nil {
			return "", fmt.Errorf("hashing the upload: %w", err)
		}
	}
	return hex.EncodeToString(u.h.Sum(nil)), nil
}

// committed logs and announces a complete upload.
func (u *upload) committed(sum string) {
	c := u.c
	c.s.log.Info("sftpserver: upload", "event", "upload", "tenant", c.tenant.ID, "user", c.user, "remote", c.remote,
		"file", u.name, "bytes", u.size, "sha256", sum, "duration", time.Since(u.start))
	c.announce(Upload{Name: u.name, Size: u.size, SHA256: sum})
}

// discard removes the temporary file and returns the upload's
// reservations.
func (u *upload) discard() {
	if u.f != nil {
		u.f.Close()
		u.f = nil
	}
	ts := u.c.ts
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if u.tmp != "" {
		u.c.root.Remove(u.tmp)
		delete(ts.uploads, path.Base(u.tmp))
		ts.release(u.reserved, u.replaces)
		u.reserved = 0
	}
}

// announce tells the host of a complete file. A panic in OnUpload is
// logged, with its stack, rather than let it take down every tenant's
// sessions, as net/http does for a handler's.
func (c *conn) announce(up Upload) {
	if c.s.opts.OnUpload == nil {
		return
	}
	up.TenantID, up.User, up.Remote, up.Time = c.tenant.ID, c.user, c.nc.RemoteAddr(), c.s.opts.Now()
	defer func() {
		if p := recover(); p != nil {
			c.s.log.Error("sftpserver: OnUpload panicked", "event", "on_upload_panic", "tenant", up.TenantID, "file", up.Name,
				"error", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	c.s.opts.OnUpload(up)
}

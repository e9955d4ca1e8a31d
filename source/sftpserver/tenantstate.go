package sftpserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"
)

// stagingDir is the folder, in each tenant's folder, where uploads are
// written until they are complete. Clients can neither see nor name it; a
// dirsource.Source skips it as it skips every hidden name.
const stagingDir = ".usersync-uploads"

// tenantState is what the server keeps about a tenant across its
// sessions: how many are open, and what its folder holds, for the quota.
type tenantState struct {
	id string

	mu       sync.Mutex
	sessions int
	// The folder's usage as last counted, plus the uploads committed since.
	usedBytes int64
	usedFiles int
	// Reserved by uploads in progress: bytes written, new names, and the
	// sizes of the files they will replace, which stop counting then.
	pendingBytes  int64
	pendingFiles  int
	pendingCredit int64
	uploads       map[string]bool // staging names of uploads in progress
}

func (ts *tenantState) addSession(max int) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.sessions >= max {
		return false
	}
	ts.sessions++
	return true
}

func (ts *tenantState) removeSession() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.sessions--
}

// recount counts what root holds, outside the staging folder. The host may
// have removed or archived files since the last count. ts.mu is held.
func (ts *tenantState) recount(root *os.Root) error {
	var bytes int64
	var files int
	err := fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walk
			}
			return err
		}
		if p == "." {
			return nil
		}
		if p == stagingDir {
			return fs.SkipDir
		}
		files++
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				bytes += info.Size()
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("counting the folder's usage: %w", err)
	}
	ts.usedBytes, ts.usedFiles = bytes, files
	return nil
}

// sweep removes what a server that stopped mid-upload left in the staging
// folder: files that are not uploads in progress here and have not been
// written to for longer than the idle timeout, which would have ended
// their upload. The age check spares the uploads of another server process
// that shares the folder. ts.mu is held.
func (ts *tenantState) sweep(root *os.Root, idle time.Duration) {
	d, err := root.Open(stagingDir)
	if err != nil {
		return
	}
	defer d.Close()
	entries, _ := d.ReadDir(-1)
	for _, e := range entries {
		if ts.uploads[e.Name()] {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > idle+time.Minute {
			root.Remove(stagingDir + "/" + e.Name())
		}
	}
}

// checkNewUpload checks, when an upload opens, that the tenant may store
// another file (if it makes a new name) and has room left; replaces is the
// size of the file the upload replaces, or -1. It reserves the file and
// credits the replaced size. ts.mu is held.
func (ts *tenantState) checkNewUpload(q Quota, replaces int64) error {
	if replaces < 0 && q.MaxFiles >= 0 && ts.usedFiles+ts.pendingFiles+1 > q.MaxFiles {
		return fmt.Errorf("%w: the folder may hold at most %d files and folders", ErrQuotaExceeded, q.MaxFiles)
	}
	if q.MaxBytes >= 0 && ts.usedBytes-ts.pendingCredit+ts.pendingBytes-max(replaces, 0) > q.MaxBytes {
		return fmt.Errorf("%w: the folder may hold at most %d bytes", ErrQuotaExceeded, q.MaxBytes)
	}
	if replaces < 0 {
		ts.pendingFiles++
	} else {
		ts.pendingCredit += replaces
	}
	return nil
}

// reserve reserves n more bytes for an upload, if the quota allows.
func (ts *tenantState) reserve(q Quota, n int64) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if q.MaxBytes >= 0 && ts.usedBytes-ts.pendingCredit+ts.pendingBytes+n > q.MaxBytes {
		return fmt.Errorf("%w: the folder may hold at most %d bytes", ErrQuotaExceeded, q.MaxBytes)
	}
	ts.pendingBytes += n
	return nil
}

// release returns an upload's reservations: bytes, a new name or the
// credit for the file it replaced. ts.mu is held.
func (ts *tenantState) release(bytes int64, replaces int64) {
	ts.pendingBytes -= bytes
	if replaces < 0 {
		ts.pendingFiles--
	} else {
		ts.pendingCredit -= replaces
	}
}

// usage adjusts the counts after a change the server made itself. ts.mu
// is not held.
func (ts *tenantState) usage(bytes int64, files int) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.usedBytes += bytes
	ts.usedFiles += files
}

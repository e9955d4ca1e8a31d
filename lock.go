package usersync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// ErrLocked is wrapped by the error of a [Locker] whose lock another sync
// holds. A [Runner] that meets it skips that run: another process is
// syncing the same directory.
var ErrLocked = errors.New("another sync holds the lock")

// A Locker is a lock that several processes share, so that two of them,
// such as two replicas of a service, never sync the same directory at once.
// A [Runner] takes it before each run and releases it after.
//
// [FileLock] is one for processes on one machine; sink/sqlsink offers one in
// the database the directory lives in, for processes anywhere.
type Locker interface {
	// Lock takes the lock without waiting for it, and returns the function
	// that releases it. If another sync holds the lock, Lock fails at once
	// with an error wrapping ErrLocked, which names the holder where it
	// can. ctx bounds taking the lock; the ctx given to unlock bounds
	// releasing it.
	Lock(ctx context.Context) (unlock func(context.Context) error, err error)
}

// LockerFunc adapts a function to the [Locker] interface.
type LockerFunc func(ctx context.Context) (unlock func(context.Context) error, err error)

// Lock calls f.
func (f LockerFunc) Lock(ctx context.Context) (func(context.Context) error, error) { return f(ctx) }

// FileLock returns a Locker that holds an exclusive lock on the file at path,
// which it creates if needed (its folder must exist): flock(2) on Linux, macOS
// and the BSDs, a file opened for no one else on Windows. The system releases
// the lock when its holder exits, even when it crashes, so a lock is never
// left behind; on other systems Lock fails with an error wrapping
// errors.ErrUnsupported.
//
// While it holds the lock, the file says who does (process ID, host, since
// when), and the error of a sync turned away repeats it. The file stays when
// the lock is released: deleting it while a sync holds it would let another
// sync lock a new file of the same name. Locks on network file systems are
// only as good as the file system's: prefer the database's lock there.
func FileLock(path string) Locker { return fileLock{path} }

type fileLock struct{ path string }

// errHeld is what lockFile returns when another holds the lock.
var errHeld = errors.New("lock file held")

// Lock takes the lock, or fails with an error wrapping ErrLocked.
func (l fileLock) Lock(ctx context.Context) (func(context.Context) error, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := lockFile(l.path)
	if errors.Is(err, errHeld) {
		return nil, fmt.Errorf("usersync: lock file %s is held by %s: %w", l.path, holder(l.path), ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("usersync: lock file: %w", err)
	}
	// Saying who holds the lock is for people; failing to is no reason not
	// to sync.
	if f.Truncate(0) == nil {
		host, _ := os.Hostname()
		fmt.Fprintf(f, "pid %d on %s since %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	}
	var once sync.Once
	var cerr error
	return func(context.Context) error {
		once.Do(func() {
			f.Truncate(0)
			if cerr = f.Close(); cerr != nil {
				cerr = fmt.Errorf("usersync: unlocking %s: %w", l.path, cerr)
			}
		})
		return cerr
	}, nil
}

// holder reads who holds the lock from the file.
func holder(path string) string {
	const limit = 200 // a file that something else wrote is not printed whole
	b, err := os.ReadFile(path)
	s := strings.TrimSpace(string(b))
	if err != nil || s == "" {
		return "another process"
	}
	if len(s) > limit {
		s = truncateUTF8(s, limit) + "…"
	}
	return s
}

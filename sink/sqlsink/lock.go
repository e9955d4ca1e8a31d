package sqlsink

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/usersync/usersync"
)

var (
	// ErrLocked is wrapped by the *LockError of a sync that found its
	// tenant locked by another. It is usersync.ErrLocked, so that a
	// usersync.Runner given Sink.Locker knows another sync is running.
	ErrLocked = usersync.ErrLocked
	// ErrLockLost means a Sink's lock ended while it held it: its lease ran
	// out and another sync took it over, or the PostgreSQL session holding
	// it ended. Writes of a Sink that lost its lock fail with it, so that
	// two syncs never interleave.
	ErrLockLost = errors.New("the tenant's sync lock was lost")
)

// A LockError says that another sync holds the tenant's lock.
type LockError struct {
	Tenant string
	Holder string    // Options.Holder of the sync that holds it
	Since  time.Time // when it took the lock; zero if unknown
}

// Error says who holds the lock and what to do.
func (e *LockError) Error() string {
	since := ""
	if !e.Since.IsZero() {
		since = " since " + e.Since.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("sqlsink: tenant %q: %v (held by %s%s); try again when it has finished", e.Tenant, ErrLocked, e.Holder, since)
}

// Unwrap returns ErrLocked.
func (e *LockError) Unwrap() error { return ErrLocked }

// A Lock is a held per-tenant sync lock; see [Sink.Lock].
type Lock struct {
	s     *Sink
	key   int64     // PostgreSQL's advisory lock key
	token string    // tells this holder's lock row from another's
	conn  *sql.Conn // the PostgreSQL session that holds the lock
	since time.Time
	lost  atomic.Bool
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	err   error // of Unlock
}

// Lock takes the tenant's sync lock, so that two syncs of one tenant,
// in one process or many, never interleave: take it before Pipeline.Run
// and unlock it after. A second sync fails at once with a *LockError
// (errors.Is ErrLocked) naming the holder.
//
// On PostgreSQL the lock is a session advisory lock on a connection the
// Lock keeps: it ends when the holder unlocks it or its session ends, as
// when its process dies. On SQLite it is a row with a lease that the Lock
// renews in the background; a holder that dies without unlocking blocks
// others until the lease (Options.LockLease) runs out.
//
// While a Sink holds a Lock, each of its write transactions checks that
// the Lock is still held, and fails with ErrLockLost if not.
func (s *Sink) Lock(ctx context.Context) (*Lock, error) {
	l := &Lock{s: s, key: s.lockKey(), token: rand.Text(), since: s.now(), stop: make(chan struct{}), done: make(chan struct{})}
	if err := s.d.tryLock(ctx, s, l); err != nil {
		return nil, s.ctxErr(ctx, err)
	}
	s.lock.Store(l)
	go l.keep()
	return l, nil
}

// lockKey names the tenant's lock for PostgreSQL: its users table and
// tenant, hashed.
func (s *Sink) lockKey() int64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "usersync\x00%s\x00%s", s.n.users, s.tenant)
	return int64(h.Sum64())
}

// keep renews the lock every third of its lease until Unlock.
func (l *Lock) keep() {
	defer close(l.done)
	t := time.NewTicker(l.s.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), l.s.lease/3)
			err := l.s.d.keepLock(ctx, l.s, l)
			cancel()
			if err != nil {
				l.lost.Store(true)
				return
			}
		}
	}
}

// Unlock releases the lock. It returns ErrLockLost if the lock had ended
// before; calling it again returns the first call's result.
func (l *Lock) Unlock(ctx context.Context) error {
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		l.s.lock.CompareAndSwap(l, nil)
		err := l.s.d.unlock(ctx, l.s, l)
		if l.lost.Load() {
			err = ErrLockLost
		}
		if err != nil {
			l.err = fmt.Errorf("sqlsink: unlocking tenant %q: %w", l.s.tenant, err)
		}
	})
	return l.err
}

// checkLock fails with ErrLockLost if the Sink holds a lock that has
// ended; tx is the write transaction about to begin.
func (s *Sink) checkLock(ctx context.Context, tx *txn) error {
	l := s.lock.Load()
	if l == nil {
		return nil
	}
	if l.lost.Load() {
		return ErrLockLost
	}
	return s.d.checkLock(ctx, tx, s, l)
}

// The lock row, which SQLite uses as the lock itself and PostgreSQL to say
// who holds its advisory lock.

// putLockRow writes l's row, over one whose lease ended before expiredBy;
// it returns whether l's row is there now.
func (s *Sink) putLockRow(ctx context.Context, tx *txn, l *Lock, expiredBy int64) (bool, error) {
	q := s.d.bind(`INSERT INTO ` + s.n.locks + ` ("tenant", "holder", "token", "since", "expires") VALUES (?, ?, ?, ?, ?)
ON CONFLICT ("tenant") DO UPDATE SET "holder" = excluded."holder", "token" = excluded."token", "since" = excluded."since", "expires" = excluded."expires"
WHERE ` + s.n.locks + `."expires" < ?`)
	now := s.now()
	res, err := tx.ExecContext(ctx, q, s.tenant, s.holder, l.token, l.since.UnixMilli(), now.Add(s.lease).UnixMilli(), expiredBy)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// lockError reads who holds the tenant's lock.
func (s *Sink) lockError(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) error {
	e := &LockError{Tenant: s.tenant, Holder: "an unknown sync"}
	var since int64
	err := q.QueryRowContext(ctx, s.d.bind(`SELECT "holder", "since" FROM `+s.n.locks+` WHERE "tenant" = ?`), s.tenant).Scan(&e.Holder, &since)
	switch {
	case err == nil:
		e.Since = time.UnixMilli(since)
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	return e
}

// deleteLockRow removes l's row, and only l's.
func (s *Sink) deleteLockRow(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, l *Lock) error {
	_, err := q.ExecContext(ctx, s.d.bind(`DELETE FROM `+s.n.locks+` WHERE "tenant" = ? AND "token" = ?`), s.tenant, l.token)
	return err
}

// SQLite's lock is the row and its lease.

func (d *sqliteDialect) tryLock(ctx context.Context, s *Sink, l *Lock) error {
	return s.inTx(ctx, func(tx *txn) error {
		ok, err := s.putLockRow(ctx, tx, l, s.now().UnixMilli())
		if err != nil || ok {
			return err
		}
		return s.lockError(ctx, tx)
	})
}

// keepLock extends the lease, if the row is still l's.
func (d *sqliteDialect) keepLock(ctx context.Context, s *Sink, l *Lock) error {
	res, err := s.db.ExecContext(ctx, `UPDATE `+s.n.locks+` SET "expires" = ? WHERE "tenant" = ? AND "token" = ? AND "expires" >= ?`,
		s.now().Add(s.lease).UnixMilli(), s.tenant, l.token, s.now().UnixMilli())
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return cmpErr(err, ErrLockLost)
	}
	return nil
}

func (d *sqliteDialect) checkLock(ctx context.Context, tx *txn, s *Sink, l *Lock) error {
	var expires int64
	err := tx.QueryRowContext(ctx, `SELECT "expires" FROM `+s.n.locks+` WHERE "tenant" = ? AND "token" = ?`, s.tenant, l.token).Scan(&expires)
	if errors.Is(err, sql.ErrNoRows) || err == nil && expires < s.now().UnixMilli() {
		l.lost.Store(true)
		return ErrLockLost
	}
	return err
}

func (d *sqliteDialect) unlock(ctx context.Context, s *Sink, l *Lock) error {
	return s.deleteLockRow(ctx, s.db, l)
}

// cmpErr returns err, or def if err is nil.
func cmpErr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

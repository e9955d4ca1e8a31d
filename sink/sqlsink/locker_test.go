package sqlsink_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/locktest"
	"github.com/usersync/usersync/sink/sqlsink"
)

func TestLockerConformance(t *testing.T) {
	forEachDB(t, func(t *testing.T, tdb *testDB) {
		locktest.Run(t, func(t *testing.T) (a, b usersync.Locker) {
			opts := tdb.freshOptions(t, sqlsink.Options{Tenant: "acme", Holder: "replica-1"})
			first, err := sqlsink.New(t.Context(), tdb.db, tdb.dialect, opts)
			require.NoError(t, err)
			o2 := *opts
			o2.Holder = "replica-2"
			second, err := sqlsink.New(t.Context(), tdb.db, tdb.dialect, &o2)
			require.NoError(t, err)
			return first.Locker(), second.Locker()
		})
	})
}

// Sink.Locker is the tenant's lock as a usersync.Locker: a sync turned away
// fails with an error that is both a *LockError and usersync.ErrLocked.
func TestLocker(t *testing.T) {
	forEachDB(t, func(t *testing.T, tdb *testDB) {
		ctx := t.Context()
		opts := tdb.freshOptions(t, sqlsink.Options{Tenant: "acme", Holder: "replica-1"})
		first, err := sqlsink.New(ctx, tdb.db, tdb.dialect, opts)
		require.NoError(t, err)
		o2 := *opts
		o2.Holder = "replica-2"
		second, err := sqlsink.New(ctx, tdb.db, tdb.dialect, &o2)
		require.NoError(t, err)

		unlock, err := first.Locker().Lock(ctx)
		require.NoError(t, err)
		_, err = second.Locker().Lock(ctx)
		require.ErrorIs(t, err, usersync.ErrLocked)
		require.ErrorIs(t, err, sqlsink.ErrLocked)
		var le *sqlsink.LockError
		require.ErrorAs(t, err, &le)
		assert.Equal(t, "replica-1", le.Holder)
		assert.Equal(t, le.Error(), err.Error(), "the message is the LockError's")

		require.NoError(t, first.Apply(ctx, create("ann")), "the holder writes")
		require.NoError(t, unlock(ctx))
		unlock, err = second.Locker().Lock(ctx)
		require.NoError(t, err, "free once released")
		require.NoError(t, unlock(ctx))
	})
}

// receive receives from ch, or fails the test after a minute.
func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Minute):
		t.Fatal("nothing received after a minute")
		panic("unreachable")
	}
}

// A Runner whose lock another replica holds skips its run; once released,
// its run holds the lock while it writes.
func TestLockerWithRunner(t *testing.T) {
	forEachDB(t, func(t *testing.T, tdb *testDB) {
		ctx := t.Context()
		opts := tdb.freshOptions(t, sqlsink.Options{Tenant: "acme", Holder: "replica-1"})
		other, err := sqlsink.New(ctx, tdb.db, tdb.dialect, opts)
		require.NoError(t, err)
		o2 := *opts
		o2.Holder = "replica-2"
		sink, err := sqlsink.New(ctx, tdb.db, tdb.dialect, &o2)
		require.NoError(t, err)

		type outcome struct {
			res *usersync.Result
			err error
		}
		results := make(chan outcome, 10)
		r := &usersync.Runner{
			Lock: sink.Locker(),
			Func: func(ctx context.Context) (*usersync.Result, error) {
				if _, err := other.Lock(ctx); !errors.Is(err, sqlsink.ErrLocked) {
					return nil, errors.New("the run does not hold the lock")
				}
				return &usersync.Result{Status: usersync.Succeeded}, sink.Apply(ctx, create("bo"))
			},
			OnResult: func(res *usersync.Result, err error) { results <- outcome{res, err} },
		}
		held, err := other.Lock(ctx)
		require.NoError(t, err)
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- r.Run(runCtx) }()
		defer func() { stop(); require.NoError(t, receive(t, done)) }()

		r.Trigger()
		got := receive(t, results)
		require.ErrorIs(t, got.err, usersync.ErrLocked)
		assert.Contains(t, got.err.Error(), "replica-1")
		require.NoError(t, held.Unlock(ctx))

		r.Trigger()
		got = receive(t, results)
		require.NoError(t, got.err)
		assert.Equal(t, []string{"bo"}, keys(t, sink))
		l, err := other.Lock(ctx)
		require.NoError(t, err, "the run released the lock")
		require.NoError(t, l.Unlock(ctx))
	})
}

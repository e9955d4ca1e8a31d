// Package locktest is the conformance suite for usersync.Locker
// implementations: usersync.FileLock and sqlsink's Sink.Locker run it.
package locktest

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
)

// Run runs the suite. newPair returns, for each case, two Lockers of one
// fresh lock, as two processes (or two replicas) would hold them.
func Run(t *testing.T, newPair func(t *testing.T) (a, b usersync.Locker)) {
	t.Run("HeldLockTurnsTheOtherAway", func(t *testing.T) {
		ctx := t.Context()
		a, b := newPair(t)
		unlock, err := a.Lock(ctx)
		require.NoError(t, err)
		_, err = b.Lock(ctx)
		require.ErrorIs(t, err, usersync.ErrLocked, "the lock is held")
		_, err = a.Lock(ctx)
		require.ErrorIs(t, err, usersync.ErrLocked, "the lock is not reentrant: a second sync of the same holder waits its turn too")
		require.NoError(t, unlock(ctx))

		unlock, err = b.Lock(ctx)
		require.NoError(t, err, "free once released")
		require.NoError(t, unlock(ctx))
	})
	t.Run("UnlockTwice", func(t *testing.T) {
		ctx := t.Context()
		a, b := newPair(t)
		unlock, err := a.Lock(ctx)
		require.NoError(t, err)
		require.NoError(t, unlock(ctx))
		require.NoError(t, unlock(ctx), "unlocking again is harmless")
		other, err := b.Lock(ctx)
		require.NoError(t, err)
		require.NoError(t, unlock(ctx), "and releases nobody else's lock")
		_, err = a.Lock(ctx)
		require.ErrorIs(t, err, usersync.ErrLocked, "b still holds it")
		require.NoError(t, other(ctx))
	})
	t.Run("CanceledContext", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		a, b := newPair(t)
		_, err := a.Lock(ctx)
		require.Error(t, err)
		assert.False(t, errors.Is(err, usersync.ErrLocked), "a canceled ctx is not a held lock: %v", err)
		unlock, err := b.Lock(t.Context())
		require.NoError(t, err, "the failed attempt holds nothing")
		require.NoError(t, unlock(t.Context()))
	})
}

// Package storetest is the conformance suite for usersync.Store
// implementations: MemStore, FileStore and the SQL store run it.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
)

// Run runs the suite; newStore returns an empty Store for each case.
func Run(t *testing.T, newStore func(t *testing.T) usersync.Store) {
	ctx := context.Background()
	t.Run("MissingKey", func(t *testing.T) {
		_, err := newStore(t).Get(ctx, "applied/users.csv")
		assert.ErrorIs(t, err, usersync.ErrNotFound)
	})
	t.Run("PutGetReplace", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, s.Put(ctx, "plan/held", []byte("one")))
		require.NoError(t, s.Put(ctx, "plan/held", []byte("two")))
		v, err := s.Get(ctx, "plan/held")
		require.NoError(t, err)
		assert.Equal(t, "two", string(v))
	})
	t.Run("AnyKeyAndValue", func(t *testing.T) {
		s := newStore(t)
		for _, k := range []string{"a/../../etc/passwd", "..", ".", "", "/abs", "Åsa users.csv", "x\x00y", "applied/%2F"} {
			val := []byte{0, 1, 2, 255, '\n'}
			require.NoError(t, s.Put(ctx, k, val), k)
			got, err := s.Get(ctx, k)
			require.NoError(t, err, k)
			assert.Equal(t, val, got, k)
		}
		_, err := s.Get(ctx, "a/../../etc")
		assert.ErrorIs(t, err, usersync.ErrNotFound, "keys are names, never paths")
	})
	t.Run("EmptyValue", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, s.Put(ctx, "k", nil))
		v, err := s.Get(ctx, "k")
		require.NoError(t, err)
		assert.Empty(t, v)
	})
	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, s.Put(ctx, "k", []byte("v")))
		require.NoError(t, s.Delete(ctx, "k"))
		_, err := s.Get(ctx, "k")
		assert.ErrorIs(t, err, usersync.ErrNotFound)
		assert.NoError(t, s.Delete(ctx, "k"), "deleting an absent key succeeds")
	})
	t.Run("ValueIsCopied", func(t *testing.T) {
		s := newStore(t)
		v := []byte("abc")
		require.NoError(t, s.Put(ctx, "k", v))
		v[0] = 'X'
		got, err := s.Get(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, "abc", string(got))
	})
	t.Run("Canceled", func(t *testing.T) {
		s := newStore(t)
		c, cancel := context.WithCancel(ctx)
		cancel()
		assert.ErrorIs(t, s.Put(c, "k", nil), context.Canceled)
		_, err := s.Get(c, "k")
		assert.ErrorIs(t, err, context.Canceled)
		assert.ErrorIs(t, s.Delete(c, "k"), context.Canceled)
	})
	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				k := fmt.Sprint("k", i)
				assert.NoError(t, s.Put(ctx, k, []byte(k)))
				v, err := s.Get(ctx, k)
				assert.NoError(t, err)
				assert.Equal(t, k, string(v))
			})
		}
		wg.Wait()
	})
}

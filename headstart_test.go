package usersync

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// poolLister is a DigestLister over n users whose listings each hold one
// connection of a pool of one, as a database/sql pool with
// MaxOpenConns(1) would: Groups waits while Digests lists.
type poolLister struct {
	n        int
	conn     chan struct{} // the pool's one connection
	listings atomic.Int32
	fail     error // ends each listing after n/2 users
}

func newPoolLister(n int) *poolLister {
	l := &poolLister{n: n, conn: make(chan struct{}, 1)}
	l.conn <- struct{}{}
	return l
}

// take waits for the pool's connection; give puts it back.
func (l *poolLister) take(ctx context.Context) error {
	select {
	case <-l.conn:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *poolLister) give() { l.conn <- struct{}{} }

func (l *poolLister) key(i int) string { return fmt.Sprintf("user%08d", i) }

func (l *poolLister) Digests(ctx context.Context) iter.Seq2[UserDigest, error] {
	return func(yield func(UserDigest, error) bool) {
		l.listings.Add(1)
		if err := l.take(ctx); err != nil {
			yield(UserDigest{}, err)
			return
		}
		defer l.give()
		for i := range l.n {
			if err := ctx.Err(); err != nil {
				yield(UserDigest{}, err)
				return
			}
			if l.fail != nil && i == l.n/2 {
				yield(UserDigest{}, l.fail)
				return
			}
			if !yield(UserDigest{Key: l.key(i), Attrs: Digest(i), Known: true}, nil) {
				return
			}
		}
	}
}

func (l *poolLister) Groups(ctx context.Context) iter.Seq2[Group, error] {
	return func(yield func(Group, error) bool) {
		if err := l.take(ctx); err != nil {
			yield(Group{}, err)
			return
		}
		defer l.give()
		yield(Group{ID: "g"}, nil)
	}
}

func (l *poolLister) Users(ctx context.Context) iter.Seq2[Record, error] {
	return func(func(Record, error) bool) {}
}

func (l *poolLister) LookupUsers(ctx context.Context, keys []string) iter.Seq2[Record, error] {
	return func(func(Record, error) bool) {}
}

// drain takes a listing to its end.
func drain(t *testing.T, seq iter.Seq2[UserDigest, error]) ([]UserDigest, error) {
	t.Helper()
	var out []UserDigest
	for d, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, d)
	}
	return out, nil
}

// waitFor waits for cond, or fails the test after a while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
	}
}

func (h *headStart) state() (ended, closed bool, bytes int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ended, h.closed, h.bytes
}

func TestHeadStartYieldsTheWholeListingOnce(t *testing.T) {
	ctx := context.Background()
	l := newPoolLister(5000)
	h := startHeadStart(ctx, l, 1<<30)
	defer h.stop()
	waitFor(t, "the listing's end", func() bool { ended, _, _ := h.state(); return ended })

	got, err := drain(t, h.Digests(ctx))
	require.NoError(t, err)
	require.Equal(t, 5000, len(got))
	for i, d := range got {
		require.Equal(t, l.key(i), d.Key)
	}
	assert.EqualValues(t, 1, l.listings.Load(), "the Reconciler's listing is the head start")

	again, err := drain(t, h.Digests(ctx))
	require.NoError(t, err)
	assert.Equal(t, 5000, len(again), "a second listing is the Sink's own")
	assert.EqualValues(t, 2, l.listings.Load())
}

func TestHeadStartTooLargeIsDroppedAndFreesItsConnection(t *testing.T) {
	ctx := context.Background()
	l := newPoolLister(10000)
	limit := 100 * digestBytes(&UserDigest{Key: l.key(0)})
	h := startHeadStart(ctx, l, limit)
	defer h.stop()
	waitFor(t, "the head start to overflow", func() bool { _, closed, _ := h.state(); return closed })
	_, _, held := h.state()
	assert.Zero(t, held, "a dropped head start holds nothing")

	// The Reconciler lists groups first: with a pool of one connection,
	// this would wait forever behind a listing that waited for room.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, err := range l.Groups(ctx) {
			assert.NoError(t, err)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Groups waited for the connection the head start held")
	}
	got, err := drain(t, h.Digests(ctx))
	require.NoError(t, err)
	assert.Equal(t, 10000, len(got), "the Reconciler lists as it would have without a head start")
}

func TestHeadStartTakenWaitsForRoom(t *testing.T) {
	ctx := context.Background()
	l := newPoolLister(20000)
	limit := 2 * headStartBatch * digestBytes(&UserDigest{Key: l.key(0)})
	h := startHeadStart(ctx, l, limit)
	defer h.stop()
	n := 0
	for d, err := range h.Digests(ctx) {
		require.NoError(t, err)
		require.Equal(t, l.key(n), d.Key)
		if n++; n%1000 == 0 {
			_, _, held := h.state()
			require.LessOrEqual(t, held, limit+headStartBatch*digestBytes(&d))
		}
	}
	assert.Equal(t, 20000, n)
	assert.EqualValues(t, 1, l.listings.Load(), "taken in time, the head start is never dropped")
}

func TestHeadStartPassesTheListingsError(t *testing.T) {
	ctx := context.Background()
	l := newPoolLister(5000)
	l.fail = errors.New("connection reset")
	h := startHeadStart(ctx, l, 1<<30)
	defer h.stop()
	got, err := drain(t, h.Digests(ctx))
	require.ErrorIs(t, err, l.fail)
	assert.LessOrEqual(t, len(got), 2500, "what was listed before the error, at most")
}

func TestHeadStartStoppedMidListingIsAnError(t *testing.T) {
	ctx := context.Background()
	l := newPoolLister(1 << 20)
	h := startHeadStart(ctx, l, 1<<30)
	n := 0
	var err error
	for _, e := range h.Digests(ctx) {
		if e != nil {
			err = e
			break
		}
		if n++; n == 10 {
			go h.stop()
		}
	}
	require.Error(t, err, "a listing cut short must not pass for a whole one")
	assert.Less(t, n, 1<<20)
}

// The Reconciler's ctx governs the listing it takes; the run's, which a
// Reconciler may outlive, does not.
func TestHeadStartCanceled(t *testing.T) {
	run, cancelRun := context.WithCancel(context.Background())
	l := newPoolLister(1 << 16)
	h := startHeadStart(run, l, 1<<30)
	defer h.stop()
	cancelRun()
	got, err := drain(t, h.Digests(context.WithoutCancel(run)))
	require.NoError(t, err)
	assert.Equal(t, 1<<16, len(got))

	h = startHeadStart(context.Background(), l, 1<<30)
	defer h.stop()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = drain(t, h.Digests(ctx))
	require.ErrorIs(t, err, context.Canceled)
}

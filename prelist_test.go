package usersync_test

import (
	"context"
	"errors"
	"io"
	"iter"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/sink/memsink"
)

// listingSink is a memsink that counts its listings of digests and closes
// listed when the first begins.
type listingSink struct {
	*memsink.Sink
	mu       sync.Mutex
	listings int
	listed   chan struct{}
}

func (s *listingSink) Digests(ctx context.Context) iter.Seq2[usersync.UserDigest, error] {
	s.mu.Lock()
	if s.listings++; s.listings == 1 {
		close(s.listed)
	}
	s.mu.Unlock()
	return s.Sink.Digests(ctx)
}

// waitingSource delivers its files' ends only once the Sink's digests are
// being listed, or fails after a while.
type waitingSource struct {
	usersync.Source
	listed <-chan struct{}
}

func (s *waitingSource) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	rc, err := s.Source.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(rc, waitFor(s.listed)), rc}, nil
}

// waitFor is a Reader that ends when ch is closed, and fails if it is not
// soon.
type waitFor <-chan struct{}

func (w waitFor) Read([]byte) (int, error) {
	select {
	case <-w:
		return 0, io.EOF
	case <-time.After(10 * time.Second):
		return 0, errors.New("the Sink's digests were not listed while the file was read")
	}
}

// TestDigestsAreListedWhileTheFileIsRead checks that a Pipeline whose
// Reconciler merges digests lists them as it reads the files, once, and
// plans from that listing.
func TestDigestsAreListedWhileTheFileIsRead(t *testing.T) {
	e := synced(t)
	sink := &listingSink{Sink: e.sink, listed: make(chan struct{})}
	e.p.Sink = sink
	e.p.Source = &waitingSource{Source: e.src, listed: sink.listed}
	e.p.TempDir = t.TempDir()
	e.put(t, "users.csv", day1+"e4,Dan Ek,dan@example.com,\n")
	before, err := usersync.ListFingerprint(context.Background(), e.sink)
	require.NoError(t, err)

	res, err := e.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, usersync.Succeeded, res.Status)
	assert.Equal(t, before, res.Plan.Fingerprint, "the plan's fingerprint is of the listing it was planned from")
	assert.Equal(t, usersync.Counts{Created: 1, Unchanged: 3}, res.Applied)
	assert.Equal(t, 1, sink.listings, "one listing, made while reading, serves the plan and its fingerprint")
	left, _ := filepath.Glob(filepath.Join(e.p.TempDir, "*"))
	assert.Empty(t, left, "the listing's file is removed")

}

// TestNoDigestsAreListedForAnAppliedFile checks that the listing waits for
// the Pipeline to know the file is new.
func TestNoDigestsAreListedForAnAppliedFile(t *testing.T) {
	e := synced(t)
	sink := &listingSink{Sink: e.sink, listed: make(chan struct{})}
	src := &dedupSource{Source: e.src, opens: map[string]int{}, applied: map[[32]byte]bool{}}
	e.p.Sink, e.p.Source = sink, src
	e.put(t, "users.csv", day1+"e4,Dan Ek,dan@example.com,\n")
	_, err := e.p.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, sink.listings)

	res, err := e.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, usersync.NothingToDo, res.Status)
	assert.True(t, res.Files[0].AlreadyApplied)
	assert.Equal(t, 1, sink.listings, "a file applied before lists nothing")
}

// plainReconciler hides a Reconciler's MergesDigests.
type plainReconciler struct{ usersync.Reconciler }

// TestReconcilersThatDoNotMergeListAsBefore checks that a Pipeline lists
// nothing ahead for a Reconciler that does not say it merges digests.
func TestReconcilersThatDoNotMergeListAsBefore(t *testing.T) {
	e := synced(t)
	sink := &listingSink{Sink: e.sink, listed: make(chan struct{})}
	e.p.Sink = sink
	e.p.Reconciler = plainReconciler{e.p.Reconciler}
	e.put(t, "users.csv", day1+"e4,Dan Ek,dan@example.com,\n")
	res, err := e.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, usersync.Counts{Created: 1, Unchanged: 3}, res.Applied)
	assert.Equal(t, 1, sink.listings, "the Reconciler's own listing")
}

// TestAFailedReadEndsTheListing checks that a file that fails to read
// leaves no listing behind.
func TestAFailedReadEndsTheListing(t *testing.T) {
	e := synced(t)
	sink := &listingSink{Sink: e.sink, listed: make(chan struct{})}
	e.p.Sink = sink
	e.p.TempDir = t.TempDir()
	e.p.Source = &failingSource{Source: e.src, n: 10, err: errors.New("connection lost")}
	e.put(t, "users.csv", day1+"e4,Dan Ek,dan@example.com,\n")
	res, err := e.p.Run(context.Background())
	require.Error(t, err)
	assert.Equal(t, usersync.Failed, res.Status)
	left, _ := filepath.Glob(filepath.Join(e.p.TempDir, "*"))
	assert.Empty(t, left)
}

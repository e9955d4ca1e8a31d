package usersync_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/source/memsource"
)

// trackingSource records Finish calls and says which hashes were applied.
type trackingSource struct {
	*memsource.Source
	applied  map[[32]byte]bool
	finished map[string]error
}

func (s *trackingSource) Applied(_ context.Context, f usersync.FileResult) (bool, error) {
	return s.applied[f.SHA256], nil
}

func (s *trackingSource) Finish(_ context.Context, f usersync.FileResult, outcome error) error {
	s.finished[f.Name] = outcome
	if outcome == nil {
		s.applied[f.SHA256] = true
	}
	return nil
}

func tracked(e *env) *trackingSource {
	s := &trackingSource{Source: e.src, applied: map[[32]byte]bool{}, finished: map[string]error{}}
	e.p.Source = s
	return s
}

func TestFinisherHearsEachFilesOutcome(t *testing.T) {
	e := newEnv(t)
	src := tracked(e)
	e.put(t, "users.csv", day1)
	_, err := e.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, map[string]error{"users.csv": nil}, src.finished)

	// A held plan leaves the file for the next run.
	e.p.Reconciler = reconcile.New(&reconcile.Policy{RemoveGuard: reconcile.Guard{Max: 1}})
	e.put(t, "users.csv", "id,name,email,groups\ne9,Ny,ny@example.com,\n")
	_, err = e.p.Run(context.Background())
	assert.ErrorIs(t, src.finished["users.csv"], usersync.ErrGuardTripped)
	assert.Equal(t, err, src.finished["users.csv"])

	// A failed file hears its own error; the good one hears the run's.
	e.put(t, "a.csv", day1)
	e.put(t, "users.csv", "")
	_, err = e.p.Run(context.Background())
	assert.ErrorIs(t, err, usersync.ErrNoRecords)
	assert.ErrorIs(t, src.finished["users.csv"], usersync.ErrNoRecords)
	assert.ErrorIs(t, src.finished["a.csv"], usersync.ErrNoRecords)

	// A dry run finishes nothing.
	clear(src.finished)
	e.remove(t, "a.csv")
	e.put(t, "users.csv", day1)
	e.p.DryRun = true
	_, err = e.p.Run(context.Background())
	require.NoError(t, err)
	assert.Empty(t, src.finished)
}

func TestContentAlreadyAppliedIsNothingToDo(t *testing.T) {
	e := newEnv(t)
	src := tracked(e)
	e.put(t, "users.csv", day1)
	_, err := e.p.Run(context.Background())
	require.NoError(t, err)

	e.events = nil
	res, err := e.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, usersync.NothingToDo, res.Status)
	assert.True(t, res.Files[0].AlreadyApplied)
	assert.Nil(t, res.Plan, "nothing was planned")
	assert.Contains(t, src.finished, "users.csv")

	// One new file among seen ones: all are processed, as one snapshot.
	e.put(t, "b.csv", "id,name,email,groups\ne4,Di,di@example.com,\n")
	res, err = e.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, usersync.Succeeded, res.Status)
	assert.Equal(t, 1, res.Applied.Created)
	assert.Equal(t, 0, res.Applied.Deactivated, "users.csv still counts")
}

func TestDecryptedByIsRecorded(t *testing.T) {
	e := newEnv(t)
	e.put(t, "users.csv", day1)
	e.p.Decryptor = usersync.DecryptorFunc(func(_ context.Context, r io.Reader, _ usersync.FileInfo) (io.Reader, error) {
		return keyedReader{r}, nil
	})
	res, err := e.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "ABCD 1234", res.Files[0].DecryptedBy)
}

type keyedReader struct{ io.Reader }

func (keyedReader) DecryptedBy() string { return "ABCD 1234" }

func TestLongFilesReportProgress(t *testing.T) {
	e := newEnv(t)
	var b strings.Builder
	b.WriteString("id,name,email,groups\n")
	n := usersync.ProgressEvery*2 + 10
	for i := range n {
		fmt.Fprintf(&b, "e%d,N,n%d@example.com,\n", i, i)
	}
	e.put(t, "users.csv", b.String())
	res, err := e.p.Run(context.Background())
	require.NoError(t, err)
	var seen []int
	for _, ev := range e.events {
		if ev.Kind == usersync.FileProgress {
			seen = append(seen, ev.File.Records)
			assert.Positive(t, ev.File.Bytes)
		}
	}
	assert.Equal(t, []int{usersync.ProgressEvery - 1, 2*usersync.ProgressEvery - 1}, seen)
	assert.Equal(t, n, res.Applied.Created)
}

func TestFinishErrorDoesNotFailTheRun(t *testing.T) {
	e := newEnv(t)
	e.p.Source = finishFails{e.src}
	e.put(t, "users.csv", day1)
	res, err := e.p.Run(context.Background())
	require.NoError(t, err)
	assert.ErrorContains(t, res.Files[0].FinishErr, "archive folder full")
}

type finishFails struct{ *memsource.Source }

func (finishFails) Finish(context.Context, usersync.FileResult, error) error {
	return errors.New("archive folder full")
}

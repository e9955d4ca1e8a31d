// Package historytest is the conformance suite for history.Store
// implementations: Mem, File and SQL run it, and so should a host's own.
package historytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/report/history"
)

// Run runs the suite; newStore returns an empty Store for each case.
func Run(t *testing.T, newStore func(t *testing.T) history.Store) {
	ctx := context.Background()
	t.Run("Empty", func(t *testing.T) {
		got, err := newStore(t).Query(ctx, history.Query{})
		require.NoError(t, err)
		assert.Empty(t, got)
	})
	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		want := Summary(day(1), usersync.PartlyFailed, "Acme")
		e, err := s.Append(ctx, want)
		require.NoError(t, err)
		assert.NotEmpty(t, e.ID)
		assert.Same(t, want, e.Summary)
		got, err := s.Query(ctx, history.Query{})
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, e.ID, got[0].ID)
		assertSame(t, want, got[0].Summary)
	})
	t.Run("NewestFirst", func(t *testing.T) {
		s := newStore(t)
		for _, d := range []int{2, 1, 3} {
			_, err := s.Append(ctx, Summary(day(d), usersync.Succeeded, ""))
			require.NoError(t, err)
		}
		got, err := s.Query(ctx, history.Query{})
		require.NoError(t, err)
		assert.Equal(t, []time.Time{day(3), day(2), day(1)}, starts(got))
	})
	t.Run("TimeRange", func(t *testing.T) {
		s := fill(t, newStore(t))
		got, err := s.Query(ctx, history.Query{Since: day(2), Until: day(4)})
		require.NoError(t, err)
		assert.Equal(t, []time.Time{day(3), day(2)}, starts(got), "Since is included, Until is not")
		got, err = s.Query(ctx, history.Query{Since: day(4)})
		require.NoError(t, err)
		assert.Equal(t, []time.Time{day(5), day(4)}, starts(got))
		got, err = s.Query(ctx, history.Query{Until: day(2)})
		require.NoError(t, err)
		assert.Equal(t, []time.Time{day(1)}, starts(got))
	})
	t.Run("Status", func(t *testing.T) {
		s := fill(t, newStore(t))
		got, err := s.Query(ctx, history.Query{Statuses: []usersync.Status{usersync.Failed, usersync.Held}})
		require.NoError(t, err)
		assert.Equal(t, []time.Time{day(4), day(2)}, starts(got))
		for _, e := range got {
			assert.Contains(t, []usersync.Status{usersync.Failed, usersync.Held}, e.Summary.Status)
		}
	})
	t.Run("Name", func(t *testing.T) {
		s := fill(t, newStore(t))
		got, err := s.Query(ctx, history.Query{Name: "Beta"})
		require.NoError(t, err)
		assert.Equal(t, []time.Time{day(5), day(3)}, starts(got))
	})
	t.Run("Limit", func(t *testing.T) {
		s := fill(t, newStore(t))
		got, err := s.Query(ctx, history.Query{Limit: 2, Until: day(5)})
		require.NoError(t, err)
		assert.Equal(t, []time.Time{day(4), day(3)}, starts(got), "the newest of the selection")
	})
	t.Run("Combined", func(t *testing.T) {
		s := fill(t, newStore(t))
		got, err := s.Query(ctx, history.Query{Since: day(2), Statuses: []usersync.Status{usersync.Succeeded},
			Name: "Beta", Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, []time.Time{day(5), day(3)}, starts(got))
	})
	t.Run("UniqueIDs", func(t *testing.T) {
		s := newStore(t)
		ids := map[string]bool{}
		for range 20 {
			e, err := s.Append(ctx, Summary(day(1), usersync.Succeeded, ""))
			require.NoError(t, err)
			assert.False(t, ids[e.ID], "ID %s twice", e.ID)
			ids[e.ID] = true
		}
	})
	t.Run("ConcurrentAppends", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				_, err := s.Append(ctx, Summary(day(1).Add(time.Duration(i)*time.Minute), usersync.Succeeded, ""))
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		got, err := s.Query(ctx, history.Query{})
		require.NoError(t, err)
		assert.Len(t, got, 16, "no entry lost or torn")
	})
	t.Run("Canceled", func(t *testing.T) {
		s := newStore(t)
		c, cancel := context.WithCancel(ctx)
		cancel()
		_, err := s.Append(c, Summary(day(1), usersync.Succeeded, ""))
		assert.ErrorIs(t, err, context.Canceled)
		_, err = s.Query(c, history.Query{})
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("Reporter", func(t *testing.T) {
		s := newStore(t)
		res := &usersync.Result{Status: usersync.Held, Started: day(1), Finished: day(1).Add(time.Minute)}
		r := history.Reporter(s, &report.Options{Name: "Acme"})
		require.NoError(t, r.Report(ctx, usersync.Event{Kind: usersync.RunStarted, Time: day(1)}))
		require.NoError(t, r.Report(ctx, usersync.Event{Kind: usersync.RunFinished, Time: day(1), Result: res}))
		got, err := s.Query(ctx, history.Query{})
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, "Acme", got[0].Summary.Name)
		assert.Equal(t, usersync.Held, got[0].Summary.Status)
	})
}

// day returns midnight UTC of March d, 2025, plus two hours: a nightly run.
func day(d int) time.Time { return time.Date(2025, 3, d, 2, 0, 0, 0, time.UTC) }

// fill appends five runs, one a day from March 1: Acme succeeded, held,
// then Beta succeeded, Acme failed, Beta succeeded.
func fill(t *testing.T, s history.Store) history.Store {
	t.Helper()
	for i, r := range []struct {
		st   usersync.Status
		name string
	}{
		{usersync.Succeeded, "Acme"}, {usersync.Held, "Acme"}, {usersync.Succeeded, "Beta"},
		{usersync.Failed, "Acme"}, {usersync.Succeeded, "Beta"},
	} {
		_, err := s.Append(context.Background(), Summary(day(i+1), r.st, r.name))
		require.NoError(t, err)
	}
	return s
}

func starts(es []history.Entry) []time.Time {
	out := make([]time.Time, len(es))
	for i, e := range es {
		out[i] = e.Summary.Started.UTC()
	}
	return out
}

// Summary returns the summary of a run that started at start with status
// st, for feed name, with a little of everything: files, changes, a failed
// change, a rejected row, a warning.
func Summary(start time.Time, st usersync.Status, name string) *report.Summary {
	changes := []usersync.Change{
		{Kind: usersync.CreateUser, User: usersync.Record{Key: "E1"}, Join: []string{"Sales"}},
		{Kind: usersync.UpdateUser, User: usersync.Record{Key: "E2"}, Attrs: []string{"title"}},
		{Kind: usersync.DeactivateUser, User: usersync.Record{Key: "E3"}},
	}
	plan := &usersync.Plan{Unchanged: 7, Population: 40, Changes: usersync.NewChangeList(changes...)}
	r := &usersync.Result{
		Status:   st,
		Started:  start,
		Finished: start.Add(1500 * time.Millisecond),
		Files: []usersync.FileResult{{FileInfo: usersync.FileInfo{Name: "users.csv", Size: 120}, Bytes: 120,
			Format:  usersync.Format{Encoding: "UTF-8", Delimiter: ';', Warnings: []string{`unknown column "Fax"`}},
			Records: 9, Rejected: 1}},
		Rejected: []*usersync.RowError{{File: "users.csv", Line: 4, Column: "Mail", Value: "x@",
			Err: errors.New("not an email address")}},
		RejectedTotal: 1,
		Plan:          plan,
	}
	switch st {
	case usersync.Succeeded:
		r.Applied = usersync.Counts{Created: 1, Updated: 1, Deactivated: 1, Unchanged: 7}
	case usersync.PartlyFailed:
		r.Applied = usersync.Counts{Created: 1, Deactivated: 1, Unchanged: 7}
		r.Failed = []*usersync.ChangeError{{Change: changes[1], Err: errors.New("locked")}}
		r.Err = fmt.Errorf("%w: 1 of 3", usersync.ErrChangesFailed)
	case usersync.Held:
		plan.Hold = &usersync.GuardError{Guard: "deactivations", Count: 1, Population: 40, Limit: "0"}
		r.Err = plan.Hold
	case usersync.Failed:
		r.Plan, r.Err = nil, errors.New("list: connection refused")
	}
	return report.NewSummary(r, &report.Options{Name: name})
}

// assertSame checks that got is want as JSON: the form every Store keeps.
func assertSame(t *testing.T, want, got *report.Summary) {
	t.Helper()
	w, err := json.Marshal(want)
	require.NoError(t, err)
	g, err := json.Marshal(got)
	require.NoError(t, err)
	assert.JSONEq(t, string(w), string(g))
}

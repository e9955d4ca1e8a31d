package reconcile_test

import (
	"context"
	"encoding/json"
	"iter"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/internal/gen"
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source/memsource"
)

// TestPipelineUnderATinyBudget runs the same nights twice: once with the
// default memory budget, where the records stay in memory, and once with a
// budget so small that every file spills dozens of sorted runs to disk. The
// plans (which the tiny budget keeps on disk too) and the directories they
// leave must be the same, and the spill files must be gone after each run,
// failed or not. It does so on a Sink that merges by digests, whose changes
// the planner makes in key order, and on one that only lists its users,
// backwards, whose changes it must sort.
func TestPipelineUnderATinyBudget(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(*memsink.Sink) usersync.Sink
	}{
		{"digests", func(s *memsink.Sink) usersync.Sink { return s }},
		{"backwards", func(s *memsink.Sink) usersync.Sink { return backwards{s} }},
	} {
		t.Run(tc.name, func(t *testing.T) { testUnderATinyBudget(t, tc.wrap) })
	}
}

// backwards is a Sink that is only a Lister, and lists its users in
// reverse key order.
type backwards struct{ s *memsink.Sink }

func (b backwards) Apply(ctx context.Context, c usersync.Change) error { return b.s.Apply(ctx, c) }

func (b backwards) Groups(ctx context.Context) iter.Seq2[usersync.Group, error] {
	return b.s.Groups(ctx)
}

func (b backwards) Users(ctx context.Context) iter.Seq2[usersync.Record, error] {
	return func(yield func(usersync.Record, error) bool) {
		var users []usersync.Record
		for u, err := range b.s.Users(ctx) {
			if err != nil {
				yield(u, err)
				return
			}
			users = append(users, u)
		}
		slices.SortFunc(users, func(a, b usersync.Record) int { return strings.Compare(b.Key, a.Key) })
		for _, u := range users {
			if !yield(u, nil) {
				return
			}
		}
	}
}

func testUnderATinyBudget(t *testing.T, wrap func(*memsink.Sink) usersync.Sink) {
	nights := []gen.Config{
		{Rows: 6000, First: 1000, Seed: 1},
		{Rows: 6000, First: 1100, Seed: 1, Vary: 0.05, VarySeed: 2}, // 100 leave, 100 join, 5% change
		{Rows: 6000, First: 1100, Seed: 1, Vary: 0.05, VarySeed: 2}, // nothing to do
	}
	type outcome struct {
		counts  usersync.Counts
		users   []string
		changes []string // as JSON
	}
	run := func(budget int64) []outcome {
		mapper, err := csvmap.New(csvmap.Cosafe(), nil)
		require.NoError(t, err)
		src, sink, tmp := memsource.New(), memsink.New(), t.TempDir()
		p := usersync.Pipeline{Source: src, Mapper: mapper, Reconciler: reconcile.New(&reconcile.Policy{
			RemoveGuard: reconcile.Guard{Disabled: true}, CreateGuard: reconcile.Guard{Disabled: true},
		}), Sink: wrap(sink), MemoryBudget: budget, TempDir: tmp}
		var out []outcome
		day := time.Date(2026, 3, 1, 0, 15, 0, 0, time.UTC)
		for _, c := range nights {
			require.NoError(t, src.Put("users.csv", gen.Bytes(c), day))
			res, err := p.Run(t.Context())
			require.NoError(t, err)
			out = append(out, outcome{res.Applied, listAll(t, sink), changesJSON(t, res.Plan)})
			left, err := os.ReadDir(tmp)
			require.NoError(t, err)
			assert.Empty(t, left, "the run removed its spill files")
			day = day.Add(24 * time.Hour)
		}
		// A file that fails half way leaves nothing behind either.
		require.NoError(t, src.Put("users.csv", append(gen.Bytes(nights[0]), "\"open quote"...), day))
		_, err = p.Run(t.Context())
		require.Error(t, err)
		left, err := os.ReadDir(tmp)
		require.NoError(t, err)
		assert.Empty(t, left, "a failed run removed its spill files")
		return out
	}
	inMemory, spilled := run(0), run(1<<19)
	require.Len(t, spilled, len(nights))
	assert.Greater(t, inMemory[0].counts.Created, 5900)
	assert.Positive(t, inMemory[1].counts.Created)
	assert.Positive(t, inMemory[1].counts.Updated)
	assert.Positive(t, inMemory[1].counts.Deactivated)
	assert.Zero(t, inMemory[2].counts.Total(), "the same file again changes nothing")
	assert.Greater(t, inMemory[2].counts.Unchanged, 5900)
	for i := range nights {
		assert.Equal(t, inMemory[i].counts, spilled[i].counts, "night %d", i+1)
		assert.Equal(t, inMemory[i].users, spilled[i].users, "night %d", i+1)
		assert.Equal(t, inMemory[i].changes, spilled[i].changes, "night %d", i+1)
	}
}

// listAll lists the Sink's users as comparable strings, in key order.
func listAll(t *testing.T, l usersync.Lister) []string {
	var users []usersync.Record
	for u, err := range l.Users(t.Context()) {
		require.NoError(t, err)
		users = append(users, u)
	}
	out := comparable(users)
	slices.Sort(out)
	return out
}

// changesJSON encodes each of the plan's changes.
func changesJSON(t *testing.T, p *usersync.Plan) []string {
	var out []string
	for _, c := range synctest.Changes(t, p) {
		b, err := json.Marshal(c)
		require.NoError(t, err)
		out = append(out, string(b))
	}
	return out
}

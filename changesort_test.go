package usersync

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shuffledChanges returns someChanges(n) in random order, with keys that
// repeat: a sorter must keep the order of changes of one key.
func shuffledChanges(n int) []Change {
	cs := someChanges(n)
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
	for i := range cs {
		cs[i].User.Key = fmt.Sprintf("k%03d", r.IntN(n/4))
		cs[i].Reason = fmt.Sprint("added ", i) // tells changes of one key apart
	}
	return cs
}

func TestChangeSorterSorts(t *testing.T) {
	in := shuffledChanges(3000)
	want := slices.Clone(in)
	slices.SortStableFunc(want, byUserKey)
	// 1 spills every change as a run, and so merges runs of runs, three
	// levels deep; 30,000 makes a handful of runs; 0 and 1<<30 none.
	for _, limit := range []int64{0, 1, 30_000, 1 << 30} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			dir := t.TempDir()
			s := NewChangeSorter(dir, limit)
			for i := range in {
				require.NoError(t, s.Add(&in[i]))
			}
			assert.Equal(t, len(in), s.Len())
			for i, r := range s.runs {
				if i > 0 {
					assert.LessOrEqual(t, r.level, s.runs[i-1].level, "levels never rise")
				}
				if i >= maxRuns-1 {
					assert.NotEqual(t, r.level, s.runs[i-maxRuns+1].level, "no maxRuns runs of one level")
				}
			}
			if limit == 1 {
				// 2,999 runs spilled (the last change is held): 11 of
				// level 2, 11 of level 1, 7 of level 0.
				levels := make(map[int]int)
				for _, r := range s.runs {
					levels[r.level]++
				}
				assert.Equal(t, map[int]int{2: 11, 1: 11, 0: 7}, levels)
			}
			spilled := len(s.runs) > 0
			assert.Equal(t, limit > 0 && limit < 1<<30, spilled, "spilled past the limit only")

			w := NewChangeWriter(dir, 0)
			require.NoError(t, w.WriteSorted(s))
			l, err := w.List()
			require.NoError(t, err)
			got, err := l.Collect()
			require.NoError(t, err)
			assert.Equal(t, want, got)
			assert.Equal(t, NewChangeList(want...).counts, l.counts)

			assert.Error(t, w.WriteSorted(s), "a sorter hands its changes over once")
			assert.Error(t, s.Add(&in[0]))
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Empty(t, entries, "the runs' files have no name in the directory")
		})
	}
}

func TestChangeSorterKeepsItsSlice(t *testing.T) {
	s := NewChangeSorter(t.TempDir(), 1<<30)
	for _, c := range shuffledChanges(100) {
		require.NoError(t, s.Add(&c))
	}
	held := s.held
	w := NewChangeWriter("", 0)
	require.NoError(t, w.WriteSorted(s))
	l, err := w.List()
	require.NoError(t, err)
	assert.Same(t, &held[0], &l.segs[0].mem[0], "changes held in memory are handed over, not copied")
}

func TestChangeSorterErrors(t *testing.T) {
	cs := shuffledChanges(100)

	// A run that cannot be written: the error sticks.
	s := NewChangeSorter(t.TempDir()+"/missing", 1)
	require.NoError(t, s.Add(&cs[0]), "the first change is held")
	err := s.Add(&cs[1])
	require.Error(t, err)
	assert.ErrorContains(t, err, "write the plan to disk")
	assert.Equal(t, err, s.Add(&cs[2]))
	assert.Equal(t, err, NewChangeWriter("", 0).WriteSorted(s))

	// A run cut short: the merge stops at the error, making nothing up.
	s = NewChangeSorter(t.TempDir(), 2_000)
	for i := range cs {
		require.NoError(t, s.Add(&cs[i]))
	}
	require.NotEmpty(t, s.runs)
	seg := s.runs[0].list.segs[0]
	require.NoError(t, seg.file.f.Truncate(seg.size/2))
	w := NewChangeWriter("", 0)
	err = w.WriteSorted(s)
	assert.ErrorContains(t, err, "read the plan back from disk")
}

func TestFeedChangeSortersShareTheBudget(t *testing.T) {
	f := &Feed{}
	one := f.ChangeWriter()
	ss := f.ChangeSorters(4)
	require.Len(t, ss, 4)
	for _, s := range ss {
		assert.Equal(t, one.limit/4, s.limit)
	}
}

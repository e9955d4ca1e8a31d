package usersync

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fragmentRecords mixes the users of spoolRecords with memberships rows:
// fragments of users in the feed, of a user not in it, with groups in
// any order and repeated.
func fragmentRecords(n int, seed uint64) []Record {
	rng := rand.New(rand.NewPCG(seed, 2))
	var recs []Record
	for _, u := range spoolRecords(n, seed) {
		recs = append(recs, u)
		if rng.IntN(2) == 0 {
			g := []string{fmt.Sprintf("m%d", rng.IntN(50)), "g1"}
			recs = append(recs, Record{Key: fmt.Sprintf("K%05d", rng.IntN(n)), Groups: g, Fragment: true,
				Attrs: NewLayout("ignored").Make([]string{"x"}), Origin: Position{File: "members.csv", Line: len(recs) + 2}})
		}
	}
	recs = append(recs, Record{Key: "nobody", Groups: []string{"g9"}, Fragment: true, Origin: Position{File: "members.csv", Line: 1}})
	return recs
}

// wantJoined is Feed.Sorted's contract for recs, worked out by brute force:
// the users in key order, then file order, each first of its key with the
// groups of the key's fragments.
func wantJoined(recs []Record) []FeedRecord {
	extra := make(map[string][]string)
	for _, r := range recs {
		if r.Fragment {
			extra[r.Key] = append(extra[r.Key], r.Groups...)
		}
	}
	var out []FeedRecord
	seen := make(map[string]bool)
	for _, r := range recs {
		if r.Fragment {
			continue
		}
		fr := FeedRecord{Index: len(out), Record: r}
		if !seen[r.Key] && extra[r.Key] != nil {
			g := slices.Concat(r.Groups, extra[r.Key])
			slices.Sort(g)
			fr.Groups = slices.Compact(g)
		} else if fr.Groups == nil {
			fr.Groups = []string{}
		}
		seen[r.Key] = true
		out = append(out, fr)
	}
	slices.SortStableFunc(out, func(a, b FeedRecord) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func TestFragmentsJoinAcrossSpilledRuns(t *testing.T) {
	recs := fragmentRecords(20000, 11)
	want := wantJoined(recs)
	for _, limit := range []int{1 << 16, 1 << 30} { // many runs on disk; all in memory
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			s := newSpool(t.TempDir(), limit)
			defer s.Close()
			for i := range recs {
				require.NoError(t, s.add(&recs[i]))
			}
			if limit < len(recs) {
				require.Greater(t, len(s.runs), 10, "spilled")
			}
			f := &Feed{spool: s}
			assert.Equal(t, len(want), f.Len(), "Len counts users only")
			var got []FeedRecord
			for r, err := range f.Sorted(context.Background()) {
				require.NoError(t, err)
				got = append(got, r)
			}
			require.Equal(t, len(want), len(got))
			for i := range want {
				require.Equal(t, want[i], got[i], "record %d in key order", i)
			}
		})
	}
	t.Run("in memory", func(t *testing.T) {
		f := &Feed{Records: recs}
		assert.Equal(t, len(want), f.Len(), "Len counts users only")
		var got []FeedRecord
		for r, err := range f.Sorted(context.Background()) {
			require.NoError(t, err)
			got = append(got, r)
		}
		assert.Equal(t, want, got)
		all, err := f.Load(context.Background())
		require.NoError(t, err)
		require.Len(t, all, len(want))
		for _, w := range want {
			assert.Equal(t, w.Record, all[w.Index], "Load puts record %d in file order", w.Index)
		}
	})
}

func TestFragmentsSmall(t *testing.T) {
	users := NewLayout("name")
	recs := []Record{
		{Key: "b", Attrs: users.Make([]string{"Bo"}), Origin: Position{"users.csv", 2}},
		{Key: "a", Groups: []string{"x"}, Fragment: true, Origin: Position{"members.csv", 2}},
		{Key: "a", Attrs: users.Make([]string{"Ann"}), Groups: []string{"z"}, Origin: Position{"users.csv", 3}},
		{Key: "a", Groups: []string{"z", "y"}, Fragment: true, Origin: Position{"members.csv", 3}},
	}
	s := newSpool(t.TempDir(), 0)
	defer s.Close()
	for i := range recs {
		require.NoError(t, s.add(&recs[i]))
	}
	for _, f := range []*Feed{{Records: recs}, {spool: s}} {
		got, err := f.Load(context.Background())
		require.NoError(t, err)
		assert.Equal(t, []Record{
			{Key: "b", Attrs: users.Make([]string{"Bo"}), Groups: []string{}, Origin: Position{"users.csv", 2}},
			{Key: "a", Attrs: users.Make([]string{"Ann"}), Groups: []string{"x", "y", "z"}, Origin: Position{"users.csv", 3}},
		}, got, "a user without fragments has no groups; one with gets them, sorted, once each")
	}
}

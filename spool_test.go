package usersync

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// spoolRecords makes n records over a few layouts and files, with keys in
// random order, some repeated, and every field set somewhere.
func spoolRecords(n int, seed uint64) []Record {
	rng := rand.New(rand.NewPCG(seed, 1))
	layouts := []*Layout{NewLayout("name", "email"), NewLayout("title"), nil}
	recs := make([]Record, n)
	for i := range recs {
		r := &recs[i]
		r.Key = fmt.Sprintf("K%05d", rng.IntN(n)) // repeats
		if i%17 == 0 {
			r.Key = ""
		}
		switch l := layouts[i%3]; l {
		case nil:
		default:
			vals := make([]string, l.Len())
			for j := range vals {
				vals[j] = fmt.Sprintf("v%d-%d-é", i, j)
			}
			r.Attrs = l.Make(vals)
		}
		switch i % 4 {
		case 1:
			r.Groups = []string{}
		case 2:
			r.Groups = []string{"g1", fmt.Sprintf("g%d", i)}
		}
		r.Inactive, r.Managed = i%5 == 0, i%7 == 0
		r.MissingRuns, r.MissingSince = uint16(i%3), int64(i%11)-5
		r.Origin = Position{File: fmt.Sprintf("f%d.csv", i*3/n), Line: i + 2}
	}
	return recs
}

func TestSpoolSortsAcrossSpilledRuns(t *testing.T) {
	for _, limit := range []int{1 << 16, 1 << 30} { // many runs on disk; all in memory
		spilled := limit == 1<<16
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			recs := spoolRecords(20000, uint64(limit))
			dir := t.TempDir()
			s := newSpool(dir, limit)
			for i := range recs {
				require.NoError(t, s.add(&recs[i]))
			}
			assert.Equal(t, len(recs), s.Len())

			want := make([]int, len(recs))
			for i := range want {
				want[i] = i
			}
			slices.SortStableFunc(want, func(a, b int) int { return cmp.Compare(recs[a].Key, recs[b].Key) })
			var got []int
			for r, err := range s.sorted(context.Background()) {
				require.NoError(t, err)
				require.Equal(t, recs[r.Index], r.Record, "record %d comes back as it went in", r.Index)
				got = append(got, r.Index)
				if spilled {
					require.Nil(t, s.cur.buf, "a spilled spool's merge holds no chunk: its last one is on disk too")
					require.Nil(t, s.spare)
				}
			}
			assert.Equal(t, want, got, "key order, then file order")
			if spilled {
				assert.Greater(t, len(s.runs), 10, "spilled")
			} else {
				assert.Empty(t, s.runs, "held in memory")
			}

			require.NoError(t, s.Close())
			left, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Empty(t, left, "Close removes the spill file")
		})
	}
}

func TestSpoolReadTwice(t *testing.T) {
	recs := spoolRecords(3000, 7)
	s := newSpool(t.TempDir(), 1<<16)
	defer s.Close()
	for i := range recs {
		require.NoError(t, s.add(&recs[i]))
	}
	f := &Feed{spool: s}
	all, err := f.Load(context.Background())
	require.NoError(t, err)
	assert.Equal(t, recs, all, "Load gives file order")
	n := 0
	for _, err := range f.Sorted(context.Background()) {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, len(recs), n, "and Sorted can read the spool again")
}

func TestSpoolCanceled(t *testing.T) {
	recs := spoolRecords(10000, 3)
	s := newSpool(t.TempDir(), 1<<16)
	defer s.Close()
	for i := range recs {
		require.NoError(t, s.add(&recs[i]))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var last error
	for _, err := range s.sorted(ctx) {
		last = err
	}
	assert.ErrorIs(t, last, context.Canceled)
}

func TestSpoolDiskError(t *testing.T) {
	s := newSpool(t.TempDir()+"/missing", 1<<16)
	defer s.Close()
	var err error
	for _, r := range spoolRecords(5000, 5) {
		if err = s.add(&r); err != nil {
			break
		}
	}
	assert.ErrorContains(t, err, "spool records to disk")
}

func BenchmarkSpool(b *testing.B) {
	recs := spoolRecords(100000, 9)
	b.ReportAllocs()
	for b.Loop() {
		s := newSpool(b.TempDir(), 4<<20)
		for i := range recs {
			if err := s.add(&recs[i]); err != nil {
				b.Fatal(err)
			}
		}
		for _, err := range s.sorted(context.Background()) {
			if err != nil {
				b.Fatal(err)
			}
		}
		s.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}

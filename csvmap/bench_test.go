package csvmap_test

import (
	"bytes"
	"encoding/csv"
	"io"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/internal/gen"
)

// cosafeSchema maps every column of a generated file. (A real Cosafe setup
// would leave TimeStamp out: it changes every night, on every row.)
func cosafeSchema() csvmap.Schema {
	return csvmap.Schema{Columns: []csvmap.Column{
		{Name: "UniqueID", Role: csvmap.Key},
		{Name: "Name", Required: true},
		{Name: "Mail", Kind: csvmap.Email, Required: true},
		{Name: "Title"},
		{Name: "TelephoneNumber"},
		{Name: "SecondaryTelephoneNumber"},
		{Name: "TimeStamp"},
		{Name: "Groups", Role: csvmap.Groups},
		{Name: "Skip", Role: csvmap.Skip},
		{Name: "FirstName"},
		{Name: "LastName"},
	}}
}

// A row costs the string encoding/csv makes of it, plus the Attrs, the Key
// and the Groups of its record: nothing else.
func TestAllocsPerRow(t *testing.T) {
	data := gen.Bytes(gen.Config{Rows: 5000, Seed: 1, SkipEvery: -1})
	m := newMapper(t, cosafeSchema(), nil)
	rr, err := m.NewReader(bytes.NewReader(data), usersync.FileInfo{Name: "f"})
	require.NoError(t, err)
	for range 1000 { // every group ID seen, buffers grown
		_, err := rr.Read()
		require.NoError(t, err)
	}
	allocs := testing.AllocsPerRun(2000, func() {
		if _, err := rr.Read(); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, allocs, 4.0)
}

func TestGeneratedFile(t *testing.T) {
	data := gen.Bytes(gen.Config{Rows: 2000, Seed: 1, Comma: ';', CRLF: true, BOM: true})
	m := newMapper(t, cosafeSchema(), &csvmap.Options{Comma: ';'})
	rr, err := m.NewReader(bytes.NewReader(data), usersync.FileInfo{Name: "f"})
	require.NoError(t, err)
	n := 0
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		n++
		require.NotEmpty(t, rec.Groups)
		require.Equal(t, 8, rec.Attrs.Len(), "every column but Key, Groups and Skip")
	}
	f := rr.(usersync.FormatReader).Format()
	assert.Equal(t, 2000, n+f.Skipped)
	assert.Equal(t, 10, f.Skipped)
	assert.Empty(t, f.Warnings)
}

// A Mapper serves many files at once.
func TestMapperConcurrentUse(t *testing.T) {
	data := gen.Bytes(gen.Config{Rows: 2000, Seed: 1, SkipEvery: -1})
	m := newMapper(t, cosafeSchema(), nil)
	var wg sync.WaitGroup
	counts := make([]int, 4)
	for i := range counts {
		wg.Go(func() {
			rr, err := m.NewReader(bytes.NewReader(data), usersync.FileInfo{Name: "f"})
			if !assert.NoError(t, err) {
				return
			}
			for {
				_, err := rr.Read()
				if err != nil {
					assert.ErrorIs(t, err, io.EOF)
					return
				}
				counts[i]++
			}
		})
	}
	wg.Wait()
	assert.Equal(t, []int{2000, 2000, 2000, 2000}, counts)
}

const benchRows = 100_000

// BenchmarkPlainCSV is the baseline: encoding/csv alone over the bytes
// BenchmarkMap maps.
func BenchmarkPlainCSV(b *testing.B) {
	data := gen.Bytes(gen.Config{Rows: benchRows, Seed: 1})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	perRow := countMallocs(b)
	for b.Loop() {
		r := csv.NewReader(bytes.NewReader(data))
		r.ReuseRecord = true
		for {
			if _, err := r.Read(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
	perRow()
}

var sink usersync.Record

func BenchmarkMap(b *testing.B) {
	data := gen.Bytes(gen.Config{Rows: benchRows, Seed: 1})
	m, err := csvmap.New(cosafeSchema(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	perRow := countMallocs(b)
	for b.Loop() {
		rr, err := m.NewReader(bytes.NewReader(data), usersync.FileInfo{Name: "users.csv", Size: int64(len(data))})
		if err != nil {
			b.Fatal(err)
		}
		for {
			rec, err := rr.Read()
			if err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
			sink = rec
		}
	}
	perRow()
}

// countMallocs starts counting and returns a func that reports ns/row and
// allocs/row, which read better than per-file numbers.
func countMallocs(b *testing.B) func() {
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	return func() {
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		rows := float64(b.N * benchRows)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/rows, "ns/row")
		b.ReportMetric(float64(after.Mallocs-before.Mallocs)/rows, "allocs/row")
	}
}

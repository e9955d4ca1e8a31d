package csvmap_test

import (
	"bytes"
	"encoding/csv"
	"io"
	"math"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/internal/gen"
)

// A row costs the Attrs of its record, and nothing else of its own: the
// row's text, its key, its Groups slice and the values normalized on the
// way (E.164 numbers, lower-cased domains) come from arenas and slabs that
// serve hundreds of rows per allocation.
func TestAllocsPerRow(t *testing.T) {
	data := gen.Bytes(gen.Config{Rows: 5000, Seed: 1, SkipEvery: -1})
	m := newMapper(t, csvmap.Cosafe(), nil)
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
	t.Logf("%.3f allocations per row", allocs)
	assert.LessOrEqual(t, allocs, 1.2)
}

func TestGeneratedFile(t *testing.T) {
	data := gen.Bytes(gen.Config{Rows: 2000, Seed: 1, Comma: ';', CRLF: true, BOM: true})
	m := newMapper(t, csvmap.Cosafe(), nil)
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
		require.Equal(t, 7, rec.Attrs.Len(), "every column but Key, Groups, Skip and TimeStamp")
		phone, _ := rec.Attrs.Get("phone")
		require.Regexp(t, `^\+467[0-3]\d{7}$`, phone)
	}
	f := rr.(usersync.FormatReader).Format()
	assert.Equal(t, 2000, n+f.Skipped)
	assert.Equal(t, 10, f.Skipped)
	assert.Equal(t, ';', f.Delimiter, "detected")
	assert.Equal(t, "UTF-8 with BOM", f.Encoding)
	assert.Empty(t, f.Warnings)
}

// A Mapper serves many files at once.
func TestMapperConcurrentUse(t *testing.T) {
	data := gen.Bytes(gen.Config{Rows: 2000, Seed: 1, SkipEvery: -1})
	m := newMapper(t, csvmap.Cosafe(), nil)
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

// benchFile is the foundation's generated file: Cosafe's columns, two phone
// numbers in international form, quoted titles and group lists.
func benchFile() []byte { return gen.Bytes(gen.Config{Rows: benchRows, Seed: 1}) }

// plainPass is the baseline: encoding/csv alone over data, touching every
// field and keeping nothing.
func plainPass(b *testing.B, data []byte) {
	r := csv.NewReader(bytes.NewReader(data))
	r.ReuseRecord = true
	for {
		if _, err := r.Read(); err == io.EOF {
			return
		} else if err != nil {
			b.Fatal(err)
		}
	}
}

var sink usersync.Record

// mapPass maps data with m, as a Pipeline would, keeping nothing.
func mapPass(b *testing.B, m *csvmap.Mapper, data []byte) {
	rr, err := m.NewReader(bytes.NewReader(data), usersync.FileInfo{Name: "users.csv", Size: int64(len(data))})
	if err != nil {
		b.Fatal(err)
	}
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			return
		} else if err != nil {
			b.Fatal(err)
		}
		sink = rec
	}
}

// BenchmarkPlainCSV is the baseline: encoding/csv alone over the bytes
// BenchmarkMap maps.
func BenchmarkPlainCSV(b *testing.B) {
	data := benchFile()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	perRow := countMallocs(b)
	for b.Loop() {
		plainPass(b, data)
	}
	perRow()
}

// BenchmarkMap maps the file with the Cosafe preset: encoding and
// delimiter detected, phone numbers to E.164, emails checked, name rules,
// length bounds on the key.
func BenchmarkMap(b *testing.B) {
	data := benchFile()
	m, err := csvmap.New(csvmap.Cosafe(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	perRow := countMallocs(b)
	for b.Loop() {
		mapPass(b, m, data)
	}
	perRow()
}

// BenchmarkMapVsPlain runs a plain encoding/csv pass and a mapping pass in
// turn, so that both meet the same machine load, and reports how many times
// longer mapping takes (the target is at most 3): map/plain on the clock
// over all passes, map/plain-best for the fastest pass of each, and
// map/plain-cpu in CPU time, the garbage collector's included, which a busy
// machine disturbs least.
func BenchmarkMapVsPlain(b *testing.B) {
	data := benchFile()
	m, err := csvmap.New(csvmap.Cosafe(), nil)
	if err != nil {
		b.Fatal(err)
	}
	var plain, mapped, plainCPU, mappedCPU time.Duration
	bestPlain, bestMapped := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
	for b.Loop() {
		start, startCPU := time.Now(), cpuTime()
		plainPass(b, data)
		mid, midCPU := time.Now(), cpuTime()
		mapPass(b, m, data)
		p, m := mid.Sub(start), time.Since(mid)
		plainCPU, mappedCPU = plainCPU+midCPU-startCPU, mappedCPU+cpuTime()-midCPU
		plain, mapped = plain+p, mapped+m
		bestPlain, bestMapped = min(bestPlain, p), min(bestMapped, m)
	}
	b.ReportMetric(float64(mapped)/float64(plain), "map/plain")
	b.ReportMetric(float64(bestMapped)/float64(bestPlain), "map/plain-best")
	if plainCPU > 0 {
		b.ReportMetric(float64(mappedCPU)/float64(plainCPU), "map/plain-cpu")
	}
	b.ReportMetric(float64(plain.Nanoseconds())/float64(b.N*benchRows), "plain-ns/row")
	b.ReportMetric(float64(mapped.Nanoseconds())/float64(b.N*benchRows), "map-ns/row")
}

// BenchmarkMapEncoding maps the file in the encodings that need a decoder.
func BenchmarkMapEncoding(b *testing.B) {
	utf8 := benchFile()
	for _, enc := range []struct {
		name, encoding string
		data           []byte
	}{
		{"UTF-16LE", "", utf16le(utf8)},
		{"windows-1252", "windows-1252", toWindows1252(b, utf8)},
	} {
		b.Run(enc.name, func(b *testing.B) {
			m, err := csvmap.New(csvmap.Cosafe(), &csvmap.Options{Encoding: enc.encoding})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(enc.data)))
			b.ReportAllocs()
			perRow := countMallocs(b)
			for b.Loop() {
				mapPass(b, m, enc.data)
			}
			perRow()
		})
	}
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

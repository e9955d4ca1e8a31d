package csvmap_test

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/internal/gen"
)

// transformSchema is Cosafe's schema with three transforms and a filter,
// the case: a value map on Title, Title case on Name, lower case
// on Mail; and the caretakers left out of scope.
func transformSchema() csvmap.Schema {
	s := csvmap.Cosafe()
	for i := range s.Columns {
		c := &s.Columns[i]
		switch c.Name {
		case "title":
			c.Transforms = []csvmap.Transform{{Rule: "titles", Map: map[string]string{
				"Teacher": "Educator", "HR Representative": "HR", "Kitchen Staff": "Kitchen"}}}
		case "name":
			c.Transforms = []csvmap.Transform{{Case: csvmap.Title}}
		case "email":
			c.Transforms = []csvmap.Transform{{Case: csvmap.Lower}}
		}
	}
	s.Filters = []csvmap.Filter{{Name: "caretakers", Mode: csvmap.Exclude, Column: "title", Values: []string{"Caretaker"}}}
	return s
}

// BenchmarkTransforms maps the same generated Cosafe file (1M users, or
// USERSYNC_BENCH_ROWS) with Cosafe's schema, then with three transforms and
// a filter added, in turn, so that both meet the same machine load; each
// b.N is one round of both. It reports the median of each side and their
// ratio (target: at most 1.2) on the clock and in CPU time (the garbage
// collector's included: each pass ends with a collection), which a busy
// machine disturbs least. Which side goes first alternates from round to
// round.
//
//	go test -run='^$' -bench=BenchmarkTransforms -benchtime=5x ./csvmap
func BenchmarkTransforms(b *testing.B) {
	rows := 1_000_000
	if n, err := strconv.Atoi(os.Getenv("USERSYNC_BENCH_ROWS")); err == nil && n > 0 {
		rows = n
	}
	data := gen.Bytes(gen.Config{Rows: rows, Seed: 1})
	plain, err := csvmap.New(csvmap.Cosafe(), nil)
	if err != nil {
		b.Fatal(err)
	}
	transformed, err := csvmap.New(transformSchema(), nil)
	if err != nil {
		b.Fatal(err)
	}
	var without, with, withoutCPU, withCPU []time.Duration
	pass := func(m *csvmap.Mapper) (time.Duration, time.Duration) {
		runtime.GC() // each pass starts from the same heap, and pays for its own garbage
		start, startCPU := time.Now(), cpuTime()
		mapPass(b, m, data)
		runtime.GC()
		return time.Since(start), cpuTime() - startCPU
	}
	round := 0
	for b.Loop() {
		var w, wo, wCPU, woCPU time.Duration
		if round%2 == 0 { // which goes first alternates too
			wo, woCPU = pass(plain)
			w, wCPU = pass(transformed)
		} else {
			w, wCPU = pass(transformed)
			wo, woCPU = pass(plain)
		}
		round++
		without, with = append(without, wo), append(with, w)
		withoutCPU, withCPU = append(withoutCPU, woCPU), append(withCPU, wCPU)
	}
	median := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	b.ReportMetric(median(without).Seconds(), "s/without")
	b.ReportMetric(median(with).Seconds(), "s/with")
	b.ReportMetric(median(with).Seconds()/median(without).Seconds(), "with/without")
	if median(withoutCPU) > 0 {
		b.ReportMetric(median(withCPU).Seconds()/median(withoutCPU).Seconds(), "with/without-cpu")
	}
	// The median of each round's ratio: a slow spell of the machine falls
	// on both passes of a round more often than on two rounds alike.
	ratios := make([]float64, len(with))
	for i := range with {
		ratios[i] = with[i].Seconds() / without[i].Seconds()
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "with/without-paired")
	b.ReportMetric(float64(len(data))/1e6, "MB")
}

// BenchmarkMapTransforms is BenchmarkMap with and without transformSchema,
// one after the other, for profiles of each (-bench=MapTransforms/with$).
func BenchmarkMapTransforms(b *testing.B) {
	data := benchFile()
	if n, err := strconv.Atoi(os.Getenv("USERSYNC_BENCH_ROWS")); err == nil && n > 0 {
		data = gen.Bytes(gen.Config{Rows: n, Seed: 1})
	}
	for _, tc := range []struct {
		name string
		s    csvmap.Schema
	}{{"without", csvmap.Cosafe()}, {"with", transformSchema()}} {
		b.Run(tc.name, func(b *testing.B) {
			m, err := csvmap.New(tc.s, nil)
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
		})
	}
}

package csvmap

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/gen"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkPhases(b *testing.B) {
	data := gen.Bytes(gen.Config{Rows: 100_000, Seed: 1})
	m, _ := New(Cosafe(), nil)
	bc, bs, bm := time.Hour, time.Hour, time.Hour
	var tc, ts, tm time.Duration
	for b.Loop() {
		t0 := cpuNow()
		r := csv.NewReader(bytes.NewReader(data))
		r.ReuseRecord = true
		for {
			if _, err := r.Read(); err == io.EOF {
				break
			}
		}
		t1 := cpuNow()
		s := newScanner(bufio.NewReaderSize(bytes.NewReader(data), 64<<10), ',')
		for {
			if _, err := s.read(); err == io.EOF {
				break
			}
		}
		t2 := cpuNow()
		rr, _ := m.NewReader(bytes.NewReader(data), usersync.FileInfo{Name: "f"})
		for {
			if _, err := rr.Read(); err == io.EOF {
				break
			}
		}
		t3 := cpuNow()
		tc, ts, tm = tc+t1-t0, ts+t2-t1, tm+t3-t2
		bc, bs, bm = min(bc, t1-t0), min(bs, t2-t1), min(bm, t3-t2)
	}
	b.ReportMetric(float64(ts)/float64(tc), "scan/csv-cpu")
	b.ReportMetric(float64(tm)/float64(tc), "map/csv-cpu")
	b.ReportMetric(float64(bm)/float64(bc), "map/csv-cpu-best")
	b.ReportMetric(float64(bc)/1e5, "csv-cpu-ns/row-best")
}

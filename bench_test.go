package usersync_test

import (
	"context"
	"testing"

	"github.com/usersync/usersync/internal/bench"
)

// BenchmarkSync runs the bench command's scenario (see internal/bench) at
// 100,000 users: "plain" is the baseline encoding/csv pass over today's
// file, "sync" the whole Pipeline run, plan and apply, against a Sink seeded
// with yesterday's users. Compare the two ns/op for the ratio; the 1M-user
// figures come from go run ./examples/bench.
func BenchmarkSync(b *testing.B) {
	s, err := bench.Prepare(b.TempDir(), 100_000)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := s.PlainCSV(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(s.Users)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("sync", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			b.StopTimer()
			sink, err := s.Seed()
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := s.Sync(context.Background(), sink); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(s.Users)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

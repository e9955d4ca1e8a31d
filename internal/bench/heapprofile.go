package bench

import (
	"context"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/usersync/usersync"
)

// HeapProfiler returns a Reporter that writes to path a heap profile of
// what a run holds at its peak: during each run it watches the live heap
// that each garbage collection leaves, and writes the profile again each
// time that reaches a new high, so that the file holds the last run's
// peak, for `go tool pprof -sample_index=inuse_space`. (A heap profile is
// of the objects the last collection found live.) Writing the profiles
// slows the runs.
func HeapProfiler(path string) usersync.Reporter {
	var (
		mu   sync.Mutex
		stop chan struct{}
		done chan error
	)
	return usersync.ReporterFunc(func(_ context.Context, e usersync.Event) error {
		mu.Lock()
		defer mu.Unlock()
		switch e.Kind {
		case usersync.RunStarted:
			stop, done = make(chan struct{}), make(chan error, 1)
			go func(stop chan struct{}, done chan error) { done <- profilePeaks(path, stop) }(stop, done)
		case usersync.RunFinished:
			if stop == nil {
				return nil
			}
			close(stop)
			err := <-done
			stop = nil
			return err
		}
		return nil
	})
}

// profilePeaks writes a heap profile to path after each collection that
// leaves more live heap than any before, until stop is closed.
func profilePeaks(path string, stop <-chan struct{}) error {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	var peak, cycles uint64
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
		metrics.Read(s)
		live, n := s[0].Value.Uint64(), s[1].Value.Uint64()
		if n == cycles || live <= peak {
			continue
		}
		cycles, peak = n, live
		if err := writeHeapProfile(path); err != nil {
			return err
		}
	}
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

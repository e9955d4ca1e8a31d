package bench

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/usersync/usersync"
)

// HeapProfiler returns a Reporter that writes a heap profile of what the
// process holds to path each time a run's plan is ready, after a
// collection, so that the file holds the last run's: where a sync's
// memory goes at its peak, for `go tool pprof -sample_index=inuse_space`.
// The collection slows each run.
func HeapProfiler(path string) usersync.Reporter {
	return usersync.ReporterFunc(func(_ context.Context, e usersync.Event) error {
		if e.Kind != usersync.PlanReady {
			return nil
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		runtime.GC() // the profile is of the last collection's live objects
		if err := pprof.WriteHeapProfile(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
}

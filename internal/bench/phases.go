package bench

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/usersync/usersync"
)

// PhaseTimer returns a Reporter that writes to w, once a run finishes, how
// long its phases took: reading the files (to the last file read), planning
// (to the plan ready) and applying (to the run's end). It says where a
// sync's time goes without a profiler's overhead. next, if not nil, gets
// every event too.
func PhaseTimer(w io.Writer, next usersync.Reporter) usersync.Reporter {
	var start, read, planned time.Time
	return usersync.ReporterFunc(func(ctx context.Context, e usersync.Event) error {
		now := time.Now()
		switch e.Kind {
		case usersync.RunStarted:
			start, read, planned = now, time.Time{}, time.Time{}
		case usersync.FileRead:
			read = now
		case usersync.PlanReady:
			planned = now
		case usersync.RunFinished:
			if read.IsZero() || planned.IsZero() {
				break
			}
			fmt.Fprintf(w, "phases: read %.2fs plan %.2fs apply %.2fs\n",
				read.Sub(start).Seconds(), planned.Sub(read).Seconds(), now.Sub(planned).Seconds())
		}
		if next == nil {
			return nil
		}
		return next.Report(ctx, e)
	})
}

package report

import (
	"context"
	"fmt"
	"sync"

	"github.com/usersync/usersync"
)

// Phase says what a run is doing, for a progress bar.
type Phase uint8

// The phases of a run, in order.
const (
	Reading  Phase = iota + 1 // a file is being read: Done and Total count its bytes
	Planned                   // the plan is ready: Total counts its changes
	Applying                  // the plan is being applied: Done and Total count changes
	Finished                  // the run is over: Status says how it ended
)

var phaseNames = [...]string{Reading: "reading", Planned: "planned", Applying: "applying", Finished: "finished"}

// String returns the phase's name, such as "reading".
func (p Phase) String() string {
	if int(p) < len(phaseNames) && phaseNames[p] != "" {
		return phaseNames[p]
	}
	return fmt.Sprintf("Phase(%d)", uint8(p))
}

// Progress is how far a run has got.
type Progress struct {
	Phase Phase
	// File is the file being read.
	File string
	// Done and Total are bytes of File while Reading (Total is -1 when the
	// Source cannot tell the size), and changes from Planned on.
	Done, Total int64
	// Records and Rejected count the rows of File read so far.
	Records, Rejected int
	// Status is the run's outcome, once Finished.
	Status usersync.Status
}

// Fraction returns Done/Total between 0 and 1, or -1 when Total is unknown.
// A plan without changes is complete.
func (p Progress) Fraction() float64 {
	switch {
	case p.Total < 0:
		return -1
	case p.Total == 0:
		return 1
	}
	return min(1, float64(p.Done)/float64(p.Total))
}

// ProgressFunc returns a Reporter that turns a run's events into calls of fn
// that a CLI can draw as a progress bar: a Reading call every
// usersync.ProgressEvery rows of a long file and at its end, a Planned call
// when the plan is ready, an Applying call for each change applied or
// failed, and a Finished call at the end. fn is called once per event, from
// the goroutine that runs the Pipeline: keep it quick, and redraw only when
// the bar moves.
func ProgressFunc(fn func(Progress)) usersync.Reporter {
	return &progressReporter{fn: fn}
}

type progressReporter struct {
	fn func(Progress)

	mu          sync.Mutex
	done, total int64 // changes
}

// Report calls fn for the events that move the bar.
func (r *progressReporter) Report(_ context.Context, e usersync.Event) error {
	p, ok := r.progress(e)
	if ok {
		r.fn(p)
	}
	return nil
}

func (r *progressReporter) progress(e usersync.Event) (Progress, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case (e.Kind == usersync.FileProgress || e.Kind == usersync.FileRead) && e.File != nil:
		total := e.File.Size
		if e.Kind == usersync.FileRead && total < 0 {
			total = e.File.Bytes // the end of a file of unknown size
		}
		return Progress{Phase: Reading, File: e.File.Name, Done: e.File.Bytes, Total: total,
			Records: e.File.Records, Rejected: e.File.Rejected}, true
	case e.Kind == usersync.PlanReady && e.Plan != nil:
		r.done, r.total = 0, int64(e.Plan.Changes.Len())
		return Progress{Phase: Planned, Total: r.total}, true
	case e.Kind == usersync.ChangeApplied || e.Kind == usersync.ChangeFailed:
		r.done++
		return Progress{Phase: Applying, Done: r.done, Total: r.total}, true
	case e.Kind == usersync.RunFinished && e.Result != nil:
		return Progress{Phase: Finished, Done: r.done, Total: r.total, Status: e.Result.Status}, true
	}
	return Progress{}, false
}

package report

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/usersync/usersync"
)

// Summarize returns a Reporter that builds the [Summary] of each run from its
// events, with the time each phase took, and hands it to fn when the run
// finishes; fn's error is the Reporter's. fn gets a ctx that carries the
// event's values but is never canceled, as the Reporter contract says.
// Every reporter of this module that
// sends or stores summaries (Text, the mail and history reporters) is made
// with it, so they all tell the same story.
//
// The Reporter follows one run at a time: give each of the Pipelines that
// run at once its own. (Sharing one would mix only the phase timings: the
// rest of the Summary comes from the run's Result.)
func Summarize(fn func(ctx context.Context, s *Summary) error, opts *Options) usersync.Reporter {
	return &summarizer{fn: fn, opts: opts}
}

type summarizer struct {
	fn   func(context.Context, *Summary) error
	opts *Options

	mu    sync.Mutex
	marks marks
}

// marks are the times a run reached each phase, from its events.
type marks struct {
	start, read, plan time.Time
}

// Report notes the time of each phase, and calls fn on RunFinished.
func (s *summarizer) Report(ctx context.Context, e usersync.Event) error {
	s.mu.Lock()
	switch e.Kind {
	case usersync.RunStarted:
		s.marks = marks{start: e.Time}
	case usersync.FileRead:
		s.marks.read = e.Time
	case usersync.PlanReady:
		s.marks.plan = e.Time
	}
	m := s.marks
	if e.Kind == usersync.RunFinished {
		s.marks = marks{}
	}
	s.mu.Unlock()

	if e.Kind != usersync.RunFinished {
		return nil
	}
	if e.Result == nil {
		return errors.New("report: run-finished event without a Result")
	}
	sum := NewSummary(e.Result, s.opts)
	sum.Timings = m.timings(e.Result)
	// A Reporter must not drop a run because ctx was canceled: the end of a
	// canceled run is news too.
	return s.fn(context.WithoutCancel(ctx), sum)
}

// timings splits the run's duration into its phases: reading up to the
// last file's end, planning up to the plan, applying up to the end (a held
// or dry run does not apply).
func (m marks) timings(r *usersync.Result) Timings {
	t := Timings{Total: elapsed(r.Started, r.Finished)}
	start := m.start
	if start.IsZero() {
		start = r.Started
	}
	t.Read = elapsed(start, m.read)
	t.Plan = elapsed(m.read, m.plan)
	if r.Status != usersync.Held && r.Status != usersync.Planned {
		t.Apply = elapsed(m.plan, r.Finished)
	}
	return t
}

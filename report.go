package usersync

import (
	"context"
	"fmt"
	"time"
)

// A Reporter is told what a run does: to send a summary email, keep a
// history, log, or show progress.
//
// The Pipeline calls Report from the goroutine that runs it, in event order.
// Errors from Report are collected in [Result.ReportErrors] and never change
// the outcome of the run. The ctx carries values only: a Reporter must not
// drop an event because ctx was canceled (the RunFinished event of a canceled
// run is reported with such a ctx).
type Reporter interface {
	Report(ctx context.Context, e Event) error
}

// ReporterFunc adapts a function to the [Reporter] interface.
type ReporterFunc func(ctx context.Context, e Event) error

// Report calls f.
func (f ReporterFunc) Report(ctx context.Context, e Event) error { return f(ctx, e) }

// EventKind says what an [Event] reports.
type EventKind uint8

// The events of a run, in the order they happen.
const (
	RunStarted    EventKind = iota + 1 // Time is set
	FileProgress                       // File: counts so far, every ProgressEvery rows of a long file
	FileRead                           // File: read to a clean end, or failed (File.Err)
	RowRejected                        // Row: a row was rejected
	PlanReady                          // Plan: computed (its Hold may be set)
	ChangeApplied                      // Change: applied
	ChangeFailed                       // Change and Err: the Sink refused it
	RunFinished                        // Result: the run is over
)

var eventKindNames = [...]string{
	RunStarted:    "run-started",
	FileProgress:  "file-progress",
	FileRead:      "file-read",
	RowRejected:   "row-rejected",
	PlanReady:     "plan-ready",
	ChangeApplied: "change-applied",
	ChangeFailed:  "change-failed",
	RunFinished:   "run-finished",
}

// String returns the kind's name, such as "file-read".
func (k EventKind) String() string {
	if int(k) < len(eventKindNames) && eventKindNames[k] != "" {
		return eventKindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// An Event is something that happened in a run. Only the fields its Kind
// names are set. Reporters must not keep or modify what the pointers point
// to after Report returns, except Result, which is theirs to keep.
type Event struct {
	Kind   EventKind
	Time   time.Time
	File   *FileResult
	Row    *RowError
	Plan   *Plan
	Change *Change
	Err    error
	Result *Result
}

package main

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
)

// progress draws a run's progress on a terminal with
// github.com/schollz/progressbar: a byte bar for each file read (a spinner
// when the source cannot tell the size), then a bar of the changes applied.
// report.ProgressFunc turns the run's events into the calls it gets.
type progress struct {
	w    io.Writer
	bar  *progressbar.ProgressBar
	file string // the file the bar is for; "" for the changes
}

// newProgress returns a Reporter that draws on w, which should be a
// terminal.
func newProgress(w io.Writer) usersync.Reporter {
	p := &progress{w: w}
	return report.ProgressFunc(p.update)
}

func (p *progress) update(pr report.Progress) {
	switch pr.Phase {
	case report.Reading:
		if p.bar == nil || p.file != pr.File {
			p.start(pr.Total, "reading "+pr.File, true)
			p.file = pr.File
		}
		_ = p.bar.Set64(pr.Done)
	case report.Planned:
		p.finish()
	case report.Applying:
		if p.bar == nil || p.file != "" {
			p.start(pr.Total, "applying changes", false)
			p.file = ""
		}
		_ = p.bar.Set64(pr.Done)
	case report.Finished:
		p.finish()
	}
}

// start replaces the bar with a new one counting to total (-1: unknown).
func (p *progress) start(total int64, what string, bytes bool) {
	p.finish()
	p.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(bytes),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(true),
	)
}

// finish ends the bar, clearing its line, so that the summary that follows
// starts on a clean one.
func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}

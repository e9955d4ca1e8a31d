package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
)

// TestProgressDraws feeds the bar what report.ProgressFunc gives it for a
// run: a file read in steps, then the changes applied.
func TestProgressDraws(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf}
	for _, pr := range []report.Progress{
		{Phase: report.Reading, File: "users.csv", Done: 1 << 20, Total: 4 << 20},
		{Phase: report.Reading, File: "users.csv", Done: 4 << 20, Total: 4 << 20},
		{Phase: report.Reading, File: "more.csv", Done: 10, Total: -1},
		{Phase: report.Planned, Total: 3},
		{Phase: report.Applying, Done: 1, Total: 3},
		{Phase: report.Applying, Done: 3, Total: 3},
		{Phase: report.Finished, Status: usersync.Succeeded},
	} {
		p.update(pr)
	}
	out := buf.String()
	assert.Contains(t, out, "reading users.csv")
	assert.Contains(t, out, "reading more.csv")
	assert.Contains(t, out, "applying changes")
	assert.Nil(t, p.bar, "the last bar is finished")
}

func TestNoProgressWithoutTerminal(t *testing.T) {
	a := &app{stderr: &bytes.Buffer{}}
	assert.False(t, a.showProgress(), "a buffer is no terminal")
}

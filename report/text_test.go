package report_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
)

// TestWriteTextPlannedIsLabelled checks that the counts of a run that
// applied nothing can not be read as applied.
func TestWriteTextPlannedIsLabelled(t *testing.T) {
	for _, r := range []*usersync.Result{held(), dryRun(), failedApply()} {
		t.Run(r.Status.String(), func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, report.WriteText(&b, report.NewSummary(r, nil)))
			got := b.String()
			assert.Contains(t, got, "nothing was applied")
			assert.Contains(t, got, "Planned changes (")
			assert.Contains(t, got, "To create")
			assert.NotContains(t, got, "Applied changes")
			assert.NotRegexp(t, `(?m)^  Created `, got)
		})
	}
}

func TestWriteTextStoppedWhileApplying(t *testing.T) {
	r := succeeded()
	r.Status = usersync.PartlyFailed
	r.Applied = usersync.Counts{GroupsCreated: 1, Created: 2}
	r.Err = fmt.Errorf("apply stopped after 3 of 7 changes: %w", context.Canceled)

	var b bytes.Buffer
	require.NoError(t, report.WriteText(&b, report.NewSummary(r, nil)))
	assert.Contains(t, b.String(), "Status    partly failed: applied 3 of 7 changes; 0 failed, 4 not attempted\n")
	assert.Contains(t, b.String(), "Error     apply stopped after 3 of 7 changes: context canceled\n")
	assert.Contains(t, b.String(), "the next run applies what is left")
}

func TestWriteTextJoinedErrorsOnOneLine(t *testing.T) {
	r := succeeded()
	r.ReportErrors = []error{errors.Join(errors.New("smtp: timeout"), errors.New("retrying later"))}

	var b bytes.Buffer
	require.NoError(t, report.WriteText(&b, report.NewSummary(r, nil)))
	assert.Contains(t, b.String(), "\nReporter errors (1)\n  smtp: timeout; retrying later\n")
}

func TestWriteTextNilSummary(t *testing.T) {
	assert.Error(t, report.WriteText(&bytes.Buffer{}, nil))
}

// TestWriteTextWritesOnce checks that the summary reaches w in one Write,
// so that a failed write leaves no half summary and summaries do not
// interleave.
func TestWriteTextWritesOnce(t *testing.T) {
	w := &countingWriter{}
	require.NoError(t, report.WriteText(w, report.NewSummary(partlyFailed(), nil)))
	assert.Equal(t, 1, w.writes)
}

func TestText(t *testing.T) {
	var b bytes.Buffer
	r := report.Text(&b)
	ctx := context.Background()
	for _, k := range []usersync.EventKind{usersync.RunStarted, usersync.FileRead, usersync.RowRejected,
		usersync.PlanReady, usersync.ChangeApplied, usersync.ChangeFailed} {
		require.NoError(t, r.Report(ctx, usersync.Event{Kind: k, Err: errors.New("x")}))
	}
	assert.Empty(t, b.String(), "only RunFinished writes")

	res := succeeded()
	require.NoError(t, r.Report(ctx, usersync.Event{Kind: usersync.RunFinished, Result: res}))
	var want bytes.Buffer
	require.NoError(t, report.WriteText(&want, report.NewSummary(res, nil)))
	assert.Equal(t, want.String(), b.String())
}

func TestTextCanceledContext(t *testing.T) {
	var b bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, report.Text(&b).Report(ctx, usersync.Event{Kind: usersync.RunFinished, Result: nothingToDo()}))
	assert.NotEmpty(t, b.String(), "a canceled run is still reported")
}

func TestTextWriteError(t *testing.T) {
	errDisk := errors.New("disk full")
	err := report.Text(failingWriter{errDisk}).Report(context.Background(),
		usersync.Event{Kind: usersync.RunFinished, Result: succeeded()})
	assert.ErrorIs(t, err, errDisk)
}

type countingWriter struct {
	buf    bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.buf.Write(p)
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

// TestWriteTextStatusAndAction checks the lines that say what a status means
// and what to do, in the cases the golden files do not cover.
func TestWriteTextStatusAndAction(t *testing.T) {
	noRecords := func(rejected bool) *usersync.Result {
		r := failedFile()
		r.Files[0].Err = &usersync.FileError{Op: "verify", File: "users.csv", Err: usersync.ErrNoRecords}
		r.Err = r.Files[0].Err
		if rejected {
			r.Rejected, r.RejectedTotal = []*usersync.RowError{badMail()}, 1
		}
		return r
	}
	for _, tc := range []struct {
		name           string
		result         func() *usersync.Result
		status, action string
	}{
		{"no changes", func() *usersync.Result {
			return &usersync.Result{Status: usersync.Succeeded, Plan: plan(40)}
		}, "succeeded: nothing needed to change", ""},
		{"one change", func() *usersync.Result {
			return &usersync.Result{Status: usersync.Succeeded, Applied: usersync.Counts{Created: 1}}
		}, "succeeded: 1 change applied", ""},
		{"canceled before the first change", func() *usersync.Result {
			r := failedApply()
			r.Failed, r.Err = nil, fmt.Errorf("apply stopped after 0 of 3 changes: %w", context.Canceled)
			return r
		}, "failed: nothing was applied; stopped before the first of 3 changes",
			"the next run applies what is left"},
		{"empty file", func() *usersync.Result { return noRecords(false) },
			"failed: nothing was applied", "check the file: it held no usable row, so nobody was changed"},
		{"every row rejected", func() *usersync.Result { return noRecords(true) },
			"failed: nothing was applied", "fix the rejected rows below: the file held no usable row"},
		{"reconcile failed", func() *usersync.Result {
			return &usersync.Result{Status: usersync.Failed, Err: errors.New("reconcile: listing users: timeout")}
		}, "failed: nothing was applied", "fix what the error above says, then run again; nothing was changed"},
		{"source down", func() *usersync.Result {
			return &usersync.Result{Status: usersync.Failed, Err: &usersync.FileError{Op: "list", Err: errors.New("connection refused")}}
		}, "failed: nothing was applied", "check that the server is reachable and the login and folder are right (the error above says which); nothing was changed, and the next run tries again"},
		{"tampered file", func() *usersync.Result {
			return &usersync.Result{Status: usersync.Failed, Err: &usersync.FileError{Op: "decrypt", File: "u.csv.pgp", Err: errors.New("bad key")}}
		}, "failed: nothing was applied", "ask the sender to encrypt the file to your current key, and to send it whole; nothing was changed"},
		{"bad format", func() *usersync.Result {
			return &usersync.Result{Status: usersync.Failed, Err: &usersync.FileError{Op: "map", File: "u.csv", Err: errors.New("missing column")}}
		}, "failed: nothing was applied", "correct the file's format as the error above says (columns, encoding, delimiter) and deliver it again; nothing was changed"},
		{"held by a Result made by hand", func() *usersync.Result {
			r := held()
			r.Err = nil
			return r
		}, "held: a safety guard stopped the plan; nothing was applied",
			"review the planned changes below, then approve the plan to apply them"},
		{"unknown status", func() *usersync.Result { return &usersync.Result{Status: 42} }, "Status(42)", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, report.WriteText(&b, report.NewSummary(tc.result(), nil)))
			got := b.String()
			assert.Contains(t, got, "\nStatus    "+tc.status+"\n")
			if tc.action == "" {
				assert.NotContains(t, got, "\nAction ")
			} else {
				assert.Contains(t, got, "\nAction    "+tc.action+"\n")
			}
		})
	}
}

func TestWriteTextHeldShowsReason(t *testing.T) {
	r := held()
	r.Err = nil // the reason is then found in the plan
	var b bytes.Buffer
	require.NoError(t, report.WriteText(&b, report.NewSummary(r, nil)))
	assert.Contains(t, b.String(), "\nReason    safety guard tripped: plan has 250 deactivations and deletions")
}

// TestWriteTextFileErrorNotTheRunError checks that a file's own error is
// shown when it is not the one that failed the run.
func TestWriteTextFileErrorNotTheRunError(t *testing.T) {
	r := failedFile()
	r.Err = errors.New("something else")
	var b bytes.Buffer
	require.NoError(t, report.WriteText(&b, report.NewSummary(r, nil)))
	assert.Contains(t, b.String(), "\n  users.csv: failed: verify users.csv: integrity check failed: read 2048 bytes")
}

// TestArchiveMembersAndSkippedFiles checks that text and HTML reports list
// the files of a zip, and name those its Unpacker left out.
func TestArchiveMembersAndSkippedFiles(t *testing.T) {
	r := succeeded()
	zip := usersync.FileResult{FileInfo: usersync.FileInfo{Name: "bundle.zip", Size: 900}, Bytes: 900,
		Skipped: []string{"bundle.zip/__MACOSX/._users.csv", "bundle.zip/.DS_Store"}}
	zip.Members = []usersync.FileResult{{FileInfo: usersync.FileInfo{Name: "bundle.zip/users.csv", Size: 2000}, Bytes: 2000, Records: 7}}
	r.Files = append(r.Files, zip)
	s := report.NewSummary(r, nil)
	require.Equal(t, zip.Skipped, s.Files[len(s.Files)-1].SkippedFiles)

	var text, html bytes.Buffer
	require.NoError(t, report.WriteText(&text, s))
	require.NoError(t, report.WriteHTML(&html, s))
	assert.Contains(t, text.String(), "    left out of the archive: bundle.zip/__MACOSX/._users.csv, bundle.zip/.DS_Store\n")
	assert.Contains(t, text.String(), "    bundle.zip/users.csv: 7 records")
	assert.Contains(t, html.String(), "bundle.zip/users.csv: 7 records")
	assert.Contains(t, html.String(), "left out of the archive: bundle.zip/__MACOSX/._users.csv, bundle.zip/.DS_Store")
}

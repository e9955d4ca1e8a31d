package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/report"
)

// logged reports each event to a Slog reporter writing JSON at level, and
// returns the records decoded, one map per line.
func logged(t *testing.T, level slog.Level, events ...usersync.Event) (string, []map[string]any) {
	t.Helper()
	var b bytes.Buffer
	r := report.Slog(slog.New(slog.NewJSONHandler(&b, &slog.HandlerOptions{Level: level})))
	for _, e := range events {
		require.NoError(t, r.Report(context.Background(), e))
	}
	var recs []map[string]any
	for line := range strings.Lines(b.String()) {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		recs = append(recs, m)
	}
	return b.String(), recs
}

// keys returns the keys of a record other than time, level and msg.
func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		if k != slog.TimeKey && k != slog.LevelKey && k != slog.MessageKey {
			ks = append(ks, k)
		}
	}
	return ks
}

func TestSlogEvents(t *testing.T) {
	at := started().Add(time.Second)
	res := partlyFailed()
	badFile := failedFile().Files[0]
	heldPlan := held().Plan
	ce := res.Failed[0]
	for _, tc := range []struct {
		name  string
		event usersync.Event
		level string
		msg   string
		want  map[string]any // a subset of the record
		keys  []string       // all keys but time, level and msg
	}{
		{
			name:  "run-started",
			event: usersync.Event{Kind: usersync.RunStarted},
			level: "INFO", msg: "usersync: run started",
			want: map[string]any{"event": "run-started"},
			keys: []string{"event"},
		},
		{
			name:  "file-read",
			event: usersync.Event{Kind: usersync.FileRead, File: &res.Files[0]},
			level: "INFO", msg: "usersync: file read",
			want: map[string]any{"event": "file-read", "file": "users.csv", "bytes": 4812.0, "records": 46.0,
				"rejected": 1.0, "skipped": 2.0, "encoding": "UTF-8 with BOM", "delimiter": ";",
				"sha256": res.Files[0].Hash()},
			keys: []string{"event", "file", "bytes", "records", "rejected", "skipped", "encoding", "delimiter", "sha256"},
		},
		{
			name:  "file-failed",
			event: usersync.Event{Kind: usersync.FileRead, File: &badFile},
			level: "ERROR", msg: "usersync: file failed",
			want: map[string]any{"event": "file-read", "file": "users.csv",
				"err": "verify users.csv: integrity check failed: read 2048 bytes, the source announced 4812"},
			keys: []string{"event", "file", "bytes", "records", "rejected", "skipped", "err"},
		},
		{
			name:  "row-rejected",
			event: usersync.Event{Kind: usersync.RowRejected, Row: badMail()},
			level: "WARN", msg: "usersync: row rejected",
			want: map[string]any{"event": "row-rejected", "file": "users.csv", "line": 14.0, "column": "Mail",
				"err": "not an email address"},
			keys: []string{"event", "file", "line", "column", "err"},
		},
		{
			name:  "plan-ready",
			event: usersync.Event{Kind: usersync.PlanReady, Plan: res.Plan},
			level: "INFO", msg: "usersync: plan ready",
			want: map[string]any{"event": "plan-ready", "changes": 9.0, "created": 3.0, "updated": 4.0,
				"deactivated": 1.0, "groups_created": 1.0, "unchanged": 40.0, "population": 1000.0},
			keys: []string{"event", "changes", "created", "adopted", "restored", "updated", "marked_missing",
				"deactivated", "deleted", "groups_created", "groups_renamed", "unchanged", "manual", "population"},
		},
		{
			name:  "plan-held",
			event: usersync.Event{Kind: usersync.PlanReady, Plan: heldPlan},
			level: "WARN", msg: "usersync: plan held",
			want: map[string]any{"event": "plan-ready", "deactivated": 250.0, "err": heldPlan.Hold.Error()},
			keys: []string{"event", "changes", "created", "adopted", "restored", "updated", "marked_missing",
				"deactivated", "deleted", "groups_created", "groups_renamed", "unchanged", "manual", "population", "err"},
		},
		{
			name:  "change-applied",
			event: usersync.Event{Kind: usersync.ChangeApplied, Change: &synctest.Changes(t, res.Plan)[1]},
			level: "DEBUG", msg: "usersync: change applied",
			want: map[string]any{"event": "change-applied", "change": "create", "key": "E1001"},
			keys: []string{"event", "change", "key"},
		},
		{
			name:  "group-created",
			event: usersync.Event{Kind: usersync.ChangeApplied, Change: &synctest.Changes(t, res.Plan)[0]},
			level: "DEBUG", msg: "usersync: change applied",
			want: map[string]any{"event": "change-applied", "change": "create-group", "key": "G1"},
			keys: []string{"event", "change", "key"},
		},
		{
			name:  "change-failed",
			event: usersync.Event{Kind: usersync.ChangeFailed, Change: &ce.Change, Err: ce},
			level: "ERROR", msg: "usersync: change failed",
			want: map[string]any{"event": "change-failed", "change": "create", "key": "E1003",
				"err": "email address already used by a user created by hand"},
			keys: []string{"event", "change", "key", "err"},
		},
		{
			name:  "run-finished",
			event: usersync.Event{Kind: usersync.RunFinished, Result: res},
			level: "ERROR", msg: "usersync: run finished",
			want: map[string]any{"event": "run-finished", "status": "partly failed", "duration": 83e9,
				"files": 2.0, "changes": 9.0, "created": 2.0, "updated": 3.0, "deactivated": 1.0,
				"groups_created": 1.0, "unchanged": 40.0, "failed": 2.0, "rejected": 1.0, "skipped": 2.0,
				"err": res.Err.Error()},
			keys: []string{"event", "status", "duration", "files", "changes", "created", "adopted", "restored", "updated",
				"marked_missing", "deactivated", "deleted", "groups_created", "groups_renamed", "unchanged", "failed", "rejected", "skipped", "err"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.event.Time = at
			out, recs := logged(t, slog.LevelDebug, tc.event)
			require.Len(t, recs, 1)
			rec := recs[0]
			assert.Equal(t, tc.level, rec[slog.LevelKey])
			assert.Equal(t, tc.msg, rec[slog.MessageKey])
			assert.Equal(t, at.Format(time.RFC3339Nano), rec[slog.TimeKey], "the event's time, not the clock's")
			for k, v := range tc.want {
				assert.Equal(t, v, rec[k], "key %q", k)
			}
			assert.ElementsMatch(t, tc.keys, keys(rec))
			assert.NotContains(t, out, pii, "no attribute value is logged")
			assert.NotContains(t, out, "ann.andersson(at)example", "not even a rejected value")
		})
	}
}

func TestSlogRunLevels(t *testing.T) {
	for _, tc := range []struct {
		result *usersync.Result
		level  string
	}{
		{succeeded(), "INFO"},
		{partlyFailed(), "ERROR"},
		{held(), "WARN"},
		{failedFile(), "ERROR"},
		{failedApply(), "ERROR"},
		{nothingToDo(), "INFO"},
		{dryRun(), "INFO"},
	} {
		t.Run(tc.result.Status.String(), func(t *testing.T) {
			out, recs := logged(t, slog.LevelDebug, usersync.Event{Kind: usersync.RunFinished, Result: tc.result})
			require.Len(t, recs, 1)
			assert.Equal(t, tc.level, recs[0][slog.LevelKey])
			assert.Equal(t, tc.result.Status.String(), recs[0]["status"])
			assert.NotContains(t, out, pii)
		})
	}
}

// TestSlogAppliedCountsOnly checks that a run that applied nothing does not
// log its plan's counts as if they were applied.
func TestSlogAppliedCountsOnly(t *testing.T) {
	_, recs := logged(t, slog.LevelInfo, usersync.Event{Kind: usersync.RunFinished, Result: held()})
	require.Len(t, recs, 1)
	assert.Equal(t, 253.0, recs[0]["changes"])
	assert.Equal(t, 0.0, recs[0]["created"])
	assert.Equal(t, 0.0, recs[0]["deactivated"])
}

func TestSlogLevelFilter(t *testing.T) {
	res := succeeded()
	_, recs := logged(t, slog.LevelInfo,
		usersync.Event{Kind: usersync.ChangeApplied, Change: &synctest.Changes(t, res.Plan)[1]},
		usersync.Event{Kind: usersync.RunFinished, Result: res})
	require.Len(t, recs, 1, "change-applied is Debug")
	assert.Equal(t, "run-finished", recs[0]["event"])
}

func TestSlogWith(t *testing.T) {
	var b bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&b, nil)).With("tenant", "acme")
	require.NoError(t, report.Slog(l).Report(context.Background(), usersync.Event{Kind: usersync.RunStarted}))
	assert.Contains(t, b.String(), `"tenant":"acme"`, "the logger's attributes are kept")
}

// TestSlogIncompleteEvents checks that an event missing its payload is still
// logged, rather than crashing the run that reports it.
func TestSlogIncompleteEvents(t *testing.T) {
	var events []usersync.Event
	for k := range usersync.RunFinished + 2 {
		events = append(events, usersync.Event{Kind: k})
	}
	events = append(events, usersync.Event{Kind: usersync.RunFinished, Result: &usersync.Result{}})
	_, recs := logged(t, slog.LevelDebug, events...)
	require.Len(t, recs, len(events))
	assert.Equal(t, "EventKind(0)", recs[0]["event"])
	assert.Equal(t, (usersync.RunFinished + 1).String(), recs[int(usersync.RunFinished)+1]["event"])
}

func TestSlogCanceledContext(t *testing.T) {
	var b bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := report.Slog(slog.New(slog.NewJSONHandler(&b, nil))).Report(ctx,
		usersync.Event{Kind: usersync.RunFinished, Result: failedFile()})
	require.NoError(t, err)
	assert.Contains(t, b.String(), `"event":"run-finished"`)
}

func TestSlogNilLoggerUsesDefault(t *testing.T) {
	var b bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&b, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })

	require.NoError(t, report.Slog(nil).Report(context.Background(), usersync.Event{Kind: usersync.RunStarted}))
	assert.Contains(t, b.String(), `"event":"run-started"`)
}

func TestSlogHandlerError(t *testing.T) {
	errFull := errors.New("disk full")
	err := report.Slog(slog.New(failingHandler{errFull})).Report(context.Background(),
		usersync.Event{Kind: usersync.RunStarted})
	assert.ErrorIs(t, err, errFull, "the handler's error goes to Result.ReportErrors")
}

type failingHandler struct{ err error }

func (failingHandler) Enabled(context.Context, slog.Level) bool    { return true }
func (h failingHandler) Handle(context.Context, slog.Record) error { return h.err }
func (h failingHandler) WithAttrs([]slog.Attr) slog.Handler        { return h }
func (h failingHandler) WithGroup(string) slog.Handler             { return h }

// TestSlogFileProgress checks that a file half read is logged without a
// hash, which is only known at its end.
func TestSlogFileProgress(t *testing.T) {
	f := partlyFailed().Files[0]
	f.SHA256 = [32]byte{}
	_, recs := logged(t, slog.LevelDebug, usersync.Event{Kind: usersync.FileProgress, File: &f})
	require.Len(t, recs, 1)
	assert.Equal(t, "DEBUG", recs[0][slog.LevelKey])
	assert.Equal(t, "file-progress", recs[0]["event"])
	assert.NotContains(t, recs[0], "sha256")
}

func TestSlogAlert(t *testing.T) {
	var b bytes.Buffer
	r := report.Slog(slog.New(slog.NewJSONHandler(&b, nil)))
	al, ok := r.(report.Alerter)
	require.True(t, ok)
	require.NoError(t, al.Alert(context.Background(), &report.Alert{Kind: report.PlanHeld, Name: "Acme",
		Time: started(), Subject: "usersync Acme: approval needed"}))
	var rec map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &rec))
	assert.Equal(t, map[string]any{"time": "2025-03-04T02:00:00Z", "level": "WARN", "msg": "usersync: alert",
		"event": "alert", "alert": "plan-held", "name": "Acme", "subject": "usersync Acme: approval needed"}, rec)
}

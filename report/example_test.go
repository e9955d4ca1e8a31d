package report_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
)

// nightly returns the Result of a small nightly run, as a Pipeline returns
// it.
func nightly() *usersync.Result {
	start := time.Date(2025, 3, 4, 2, 0, 0, 0, time.UTC)
	return &usersync.Result{
		Status:   usersync.Succeeded,
		Started:  start,
		Finished: start.Add(1500 * time.Millisecond),
		Files: []usersync.FileResult{{
			FileInfo: usersync.FileInfo{Name: "users.csv", Size: 2210},
			Bytes:    2210,
			SHA256:   sha256.Sum256([]byte("the file")),
			Format:   usersync.Format{Encoding: "UTF-8", Delimiter: ';'},
			Records:  42,
			Rejected: 1,
		}},
		Rejected: []*usersync.RowError{{File: "users.csv", Line: 9, Column: "Mail", Value: "bob(at)example",
			Err: errors.New("not an email address")}},
		RejectedTotal: 1,
		Plan: &usersync.Plan{Unchanged: 39, Changes: usersync.NewChangeList([]usersync.Change{
			{Kind: usersync.CreateUser, User: usersync.Record{Key: "E1001", Attrs: usersync.NewAttrs("name", "Ann Berg")}},
			{Kind: usersync.CreateUser, User: usersync.Record{Key: "E1002", Attrs: usersync.NewAttrs("name", "Bo Ek")}},
			{Kind: usersync.DeactivateUser, User: usersync.Record{Key: "E0917"}},
		}...)},
		Applied: usersync.Counts{Created: 2, Deactivated: 1},
	}
}

// noTime is a slog handler option that leaves out the time, so that the
// output is the same each run.
var noTime = &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.Attr{}
	}
	return a
}}

func ExampleWriteText() {
	s := report.NewSummary(nightly(), nil)
	if err := report.WriteText(os.Stdout, s); err != nil {
		fmt.Println(err)
	}
	// Output:
	// usersync: succeeded — 2 created, 1 deactivated, 39 unchanged, 1 rejected
	//
	// Started   2025-03-04 02:00:00 UTC
	// Duration  1.5s
	// Status    succeeded: 3 changes applied
	// Action    correct the rejected rows below in the export (each says where and what is wrong); the next run picks them up
	//
	// Rejected rows (1)
	//   users.csv:9: column Mail: "bob(at)example": not an email address
	//
	// Created (2)
	//   Ann Berg (E1001)
	//   Bo Ek (E1002)
	//
	// Deactivated (1)
	//   E0917
	//
	// Applied changes
	//   Created         2
	//   Deactivated     1
	//   Unchanged      39
	//   Rejected rows   1
	//
	// Files (1)
	//   users.csv: 42 records, 1 rejected (UTF-8, semicolon)
}

func ExampleNewSummary() {
	r := nightly()
	s := report.NewSummary(r, &report.Options{Name: "Acme", Label: "name"})
	fmt.Println(s.Headline)
	fmt.Println(s.Changes[0].Items[0].Key, s.Changes[0].Items[0].Label)

	r.Status, r.Applied = usersync.Held, usersync.Counts{}
	r.Plan.Changes = usersync.ChangeList{}
	for i := range 120 {
		r.Plan.Changes.Append(usersync.Change{Kind: usersync.DeleteUser, User: usersync.Record{Key: fmt.Sprint(i)}})
	}
	s = report.NewSummary(r, &report.Options{Name: "Acme", MaxListed: 5})
	fmt.Println(s.Headline)
	fmt.Printf("%d listed, and %d more\n", len(s.Changes[0].Items), s.Changes[0].More())
	// Output:
	// usersync Acme: succeeded — 2 created, 1 deactivated, 39 unchanged, 1 rejected
	// E1001 Ann Berg
	// usersync Acme: held — nothing applied; plan: 120 to delete, 39 unchanged, 1 rejected
	// 5 listed, and 115 more
}

func ExampleText() {
	r := report.Text(os.Stdout)
	ctx := context.Background()
	// Only the end of the run is written.
	_ = r.Report(ctx, usersync.Event{Kind: usersync.RunStarted})
	_ = r.Report(ctx, usersync.Event{Kind: usersync.RunFinished, Result: &usersync.Result{
		Status:   usersync.NothingToDo,
		Started:  time.Date(2025, 3, 4, 2, 0, 0, 0, time.UTC),
		Finished: time.Date(2025, 3, 4, 2, 0, 0, 12e6, time.UTC),
	}})
	// Output:
	// usersync: nothing to do — no file to read
	//
	// Started   2025-03-04 02:00:00 UTC
	// Duration  12ms
	// Status    nothing to do: no file was ready to read
}

// Summarize builds the Summary from the run's events, with the time each
// phase took, for a reporter of the host's own: here, a chat message.
func ExampleSummarize() {
	chat := report.Summarize(func(_ context.Context, s *report.Summary) error {
		fmt.Println(s.Headline)
		fmt.Println("reading took", s.Timings.Read, "and applying", s.Timings.Apply)
		return nil
	}, nil)

	ctx := context.Background()
	res := nightly()
	at := func(ms int) time.Time { return res.Started.Add(time.Duration(ms) * time.Millisecond) }
	_ = chat.Report(ctx, usersync.Event{Kind: usersync.RunStarted, Time: at(0)})
	_ = chat.Report(ctx, usersync.Event{Kind: usersync.FileRead, Time: at(900), File: &res.Files[0]})
	_ = chat.Report(ctx, usersync.Event{Kind: usersync.PlanReady, Time: at(1100), Plan: res.Plan})
	_ = chat.Report(ctx, usersync.Event{Kind: usersync.RunFinished, Time: at(1500), Result: res})
	// Output:
	// usersync: succeeded — 2 created, 1 deactivated, 39 unchanged, 1 rejected
	// reading took 900ms and applying 400ms
}

func ExampleWriteJSON() {
	r := &usersync.Result{Status: usersync.NothingToDo,
		Started: time.Date(2025, 3, 4, 2, 0, 0, 0, time.UTC), Finished: time.Date(2025, 3, 4, 2, 0, 0, 40e6, time.UTC)}
	if err := report.WriteJSON(os.Stdout, report.NewSummary(r, nil)); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {
	//   "version": 1,
	//   "status": "nothing to do",
	//   "headline": "usersync: nothing to do — no file to read",
	//   "outcome": "nothing to do: no file was ready to read",
	//   "started": "2025-03-04T02:00:00Z",
	//   "finished": "2025-03-04T02:00:00.04Z",
	//   "timings": {
	//     "total_ms": 40,
	//     "read_ms": 0,
	//     "plan_ms": 0,
	//     "apply_ms": 0
	//   },
	//   "files": [],
	//   "counts": {
	//     "applied": {
	//       "groups_created": 0,
	//       "groups_renamed": 0,
	//       "created": 0,
	//       "adopted": 0,
	//       "restored": 0,
	//       "updated": 0,
	//       "marked_missing": 0,
	//       "deactivated": 0,
	//       "deleted": 0,
	//       "unchanged": 0
	//     },
	//     "failed": 0,
	//     "not_attempted": 0,
	//     "records": 0,
	//     "rejected": 0,
	//     "skipped": 0,
	//     "manual": 0,
	//     "population": 0
	//   },
	//   "guards": [],
	//   "changes": [],
	//   "failed": {
	//     "total": 0,
	//     "items": []
	//   },
	//   "rejected": {
	//     "total": 0,
	//     "items": []
	//   },
	//   "warnings": {
	//     "total": 0,
	//     "items": []
	//   },
	//   "report_errors": []
	// }
}

// A rejected row whose value is a formula is written so that a spreadsheet
// shows it as text.
func ExampleWriteRejectedCSV() {
	r := nightly()
	r.Rejected = append(r.Rejected, &usersync.RowError{File: "users.csv", Line: 12, Column: "Name",
		Value: `=HYPERLINK("http://evil.example","Click")`, Err: errors.New("not a name")})
	r.RejectedTotal = 2
	var b strings.Builder
	if err := report.WriteRejectedCSV(&b, report.NewSummary(r, nil), nil); err != nil {
		fmt.Println(err)
	}
	fmt.Print(strings.ReplaceAll(b.String(), "\r\n", "\n")) // RFC 4180's CRLF, shown as LF
	// Output:
	// file,line,column,value,key,reason
	// users.csv,9,Mail,bob(at)example,,not an email address
	// users.csv,12,Name,"'=HYPERLINK(""http://evil.example"",""Click"")",,not a name
}

func ExampleNeutralize() {
	for _, cell := range []string{"Ann", "=1+1", "+46 8 123 45", "-", "@SUM(A1)", "\tTab"} {
		fmt.Printf("%q\n", report.Neutralize(cell))
	}
	// Output:
	// "Ann"
	// "'=1+1"
	// "'+46 8 123 45"
	// "'-"
	// "'@SUM(A1)"
	// "'\tTab"
}

func ExampleSlog() {
	r := report.Slog(slog.New(slog.NewTextHandler(os.Stdout, noTime)))
	ctx := context.Background()
	res := nightly()
	change := usersync.Change{Kind: usersync.CreateUser, User: usersync.Record{
		Key: "E1001", Attrs: usersync.NewAttrs("name", "Bob Berg", "mail", "bob@example.com")}}

	_ = r.Report(ctx, usersync.Event{Kind: usersync.RowRejected, Row: res.Rejected[0]})
	_ = r.Report(ctx, usersync.Event{Kind: usersync.ChangeApplied, Change: &change}) // Debug: not shown
	_ = r.Report(ctx, usersync.Event{Kind: usersync.ChangeFailed, Change: &change,
		Err: &usersync.ChangeError{Change: change, Err: errors.New("quota exceeded")}})
	_ = r.Report(ctx, usersync.Event{Kind: usersync.RunFinished, Result: res})
	// Output:
	// level=WARN msg="usersync: row rejected" event=row-rejected file=users.csv line=9 column=Mail err="not an email address"
	// level=ERROR msg="usersync: change failed" event=change-failed change=create key=E1001 err="quota exceeded"
	// level=INFO msg="usersync: run finished" event=run-finished status=succeeded duration=1.5s files=1 changes=3 created=2 adopted=0 restored=0 updated=0 marked_missing=0 deactivated=1 deleted=0 groups_created=0 groups_renamed=0 unchanged=39 failed=0 rejected=1 skipped=0
}

func ExampleRedactSecrets() {
	const password = "hunter2-Secret"
	h := report.RedactSecrets(slog.NewTextHandler(os.Stdout, noTime), password)
	log := slog.New(h)

	log.Error("sftp: connect failed", "err", errors.New("ssh: handshake failed for user acme, password "+password))
	log.Info("source", "url", "ftps://acme:"+password+"@ftp.example.com/out")
	// Output:
	// level=ERROR msg="sftp: connect failed" err="ssh: handshake failed for user acme, password [REDACTED]"
	// level=INFO msg=source url=ftps://acme:[REDACTED]@ftp.example.com/out
}

func ExampleMulti() {
	history := usersync.ReporterFunc(func(_ context.Context, e usersync.Event) error {
		if e.Kind == usersync.RunFinished {
			return errors.New("history: database is read-only")
		}
		return nil
	})
	r := report.Multi(history, report.Text(os.Stdout))

	// The summary is written although the history failed; the Pipeline
	// keeps the error in Result.ReportErrors.
	err := r.Report(context.Background(), usersync.Event{Kind: usersync.RunFinished, Result: &usersync.Result{
		Status: usersync.NothingToDo,
	}})
	fmt.Println("error:", err)
	// Output:
	// usersync: nothing to do — no file to read
	//
	// Started   -
	// Duration  -
	// Status    nothing to do: no file was ready to read
	// error: history: database is read-only
}

// A CLI draws a progress bar from the events of a run.
func ExampleProgressFunc() {
	bar := report.ProgressFunc(func(p report.Progress) {
		fmt.Printf("%-8s %-9s %3.0f%%\n", p.Phase, p.File, 100*p.Fraction())
	})
	ctx := context.Background()
	res := nightly()
	half := res.Files[0]
	half.Bytes = 1105
	_ = bar.Report(ctx, usersync.Event{Kind: usersync.FileProgress, File: &half})
	_ = bar.Report(ctx, usersync.Event{Kind: usersync.FileRead, File: &res.Files[0]})
	_ = bar.Report(ctx, usersync.Event{Kind: usersync.PlanReady, Plan: res.Plan})
	for c := range res.Plan.Changes.All() {
		_ = bar.Report(ctx, usersync.Event{Kind: usersync.ChangeApplied, Change: &c})
	}
	_ = bar.Report(ctx, usersync.Event{Kind: usersync.RunFinished, Result: res})
	// Output:
	// reading  users.csv  50%
	// reading  users.csv 100%
	// planned              0%
	// applying            33%
	// applying            67%
	// applying           100%
	// finished           100%
}

// A Watch alerts when the nightly file stops coming: here, after a run at
// 02:00 that found a file, and a check at 05:00 the next day.
func ExampleWatch() {
	now := time.Date(2025, 3, 4, 2, 0, 0, 0, time.UTC)
	alerts := report.Slog(slog.New(slog.NewTextHandler(os.Stdout, noTime)))
	w := report.NewWatch(&usersync.MemStore{}, alerts, &report.WatchOptions{
		Summary: &report.Options{Name: "Acme"},
		Now:     func() time.Time { return now },
	})
	ctx := context.Background()
	_ = w.Report(ctx, usersync.Event{Kind: usersync.RunFinished, Result: nightly()})

	now = now.Add(27 * time.Hour)
	if err := w.Check(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// level=WARN msg="usersync: alert" event=alert alert=feed-stale name=Acme subject="usersync Acme: feed stale — no new file for 27 hours" last_file=users.csv last_file_at=2025-03-04T02:00:00.000Z
}

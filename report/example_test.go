package report_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
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
			Format:   usersync.Format{Encoding: "UTF-8", Delimiter: ';'},
			Records:  42,
			Rejected: 1,
		}},
		Rejected: []*usersync.RowError{{File: "users.csv", Line: 9, Column: "Mail", Value: "bob(at)example",
			Err: errors.New("not an email address")}},
		RejectedTotal: 1,
		Plan: &usersync.Plan{Unchanged: 39, Changes: []usersync.Change{
			{Kind: usersync.CreateUser, User: usersync.Record{Key: "E1001"}},
			{Kind: usersync.CreateUser, User: usersync.Record{Key: "E1002"}},
			{Kind: usersync.DeactivateUser, User: usersync.Record{Key: "E0917"}},
		}},
		Applied: usersync.Counts{Created: 2, Deactivated: 1},
	}
}

func ExampleWriteText() {
	if err := report.WriteText(os.Stdout, nightly()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// usersync: succeeded — 2 created, 1 deactivated, 39 unchanged, 1 rejected
	//
	// Started   2025-03-04 02:00:00 UTC
	// Duration  1.5s
	// Status    succeeded: 3 changes applied
	//
	// Files (1)
	//   Name       Bytes  Records  Rejected  Skipped  Encoding  Delimiter  Result
	//   users.csv   2210       42         1        0  UTF-8     semicolon  ok
	//
	// Applied changes
	//   Created          2
	//   Restored         0
	//   Updated          0
	//   Deactivated      1
	//   Deleted          0
	//   Groups created   0
	//   Unchanged       39
	//   Failed           0
	//   Rejected rows    1
	//   Skipped rows     0
	//
	// Rejected rows (1)
	//   users.csv:9: column Mail: "bob(at)example": not an email address
}

func ExampleHeadline() {
	r := nightly()
	fmt.Println(report.Headline(r))

	r.Status, r.Applied = usersync.Held, usersync.Counts{}
	r.Plan.Changes = make([]usersync.Change, 120)
	for i := range r.Plan.Changes {
		r.Plan.Changes[i].Kind = usersync.DeleteUser
	}
	fmt.Println(report.Headline(r))
	// Output:
	// usersync: succeeded — 2 created, 1 deactivated, 39 unchanged, 1 rejected
	// usersync: held — nothing applied; plan: 120 to delete, 39 unchanged, 1 rejected
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

func ExampleSlog() {
	// A text handler without times, so that the output is the same each run.
	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	})
	r := report.Slog(slog.New(h))
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
	// level=INFO msg="usersync: run finished" event=run-finished status=succeeded duration=1.5s files=1 changes=3 created=2 restored=0 updated=0 deactivated=1 deleted=0 groups_created=0 unchanged=39 failed=0 rejected=1 skipped=0
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

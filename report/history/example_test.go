package history_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/report/history"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
)

func day(d int) time.Time { return time.Date(2025, 3, d, 2, 0, 0, 0, time.UTC) }

// An "import history" page: the runs of the last days, newest first.
func Example() {
	dir, _ := os.MkdirTemp("", "history")
	defer os.RemoveAll(dir)
	store := history.NewFile(filepath.Join(dir, "history.jsonl"))

	// The Pipeline's Reporter appends each run; here, three nights by hand.
	r := history.Reporter(store, &report.Options{Name: "Acme"})
	ctx := context.Background()
	for d, st := range []usersync.Status{usersync.Succeeded, usersync.Held, usersync.NothingToDo} {
		res := &usersync.Result{Status: st, Started: day(d + 1), Finished: day(d + 1).Add(2 * time.Second)}
		if err := r.Report(ctx, usersync.Event{Kind: usersync.RunFinished, Result: res}); err != nil {
			fmt.Println(err)
		}
	}

	entries, err := store.Query(ctx, history.Query{Since: day(2), Name: "Acme"})
	if err != nil {
		fmt.Println(err)
	}
	for _, e := range entries {
		fmt.Println(e.Summary.Started.Format("Jan 2 15:04"), e.Summary.Headline)
	}
	// Output:
	// Mar 3 02:00 usersync Acme: nothing to do — no file to read
	// Mar 2 02:00 usersync Acme: held — nothing applied; plan: no changes
}

// The runs that need someone, from a table in the host's own database.
func ExampleSQL() {
	dir, _ := os.MkdirTemp("", "history")
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(filepath.Join(dir, "app.db")) // sink/sqlsink/sqlite
	if err != nil {
		fmt.Println(err)
	}
	defer db.Close()

	ctx := context.Background()
	store, err := history.NewSQL(ctx, db, history.SQLite, nil)
	if err != nil {
		fmt.Println(err)
	}
	for d, st := range []usersync.Status{usersync.Succeeded, usersync.Failed, usersync.PartlyFailed} {
		_, _ = store.Append(ctx, report.NewSummary(&usersync.Result{Status: st, Started: day(d + 1)}, nil))
	}
	problems, _ := store.Query(ctx, history.Query{Statuses: []usersync.Status{usersync.Failed, usersync.PartlyFailed}})
	for _, e := range problems {
		fmt.Println(e.ID[:20], e.Summary.Status)
	}
	// Output:
	// 20250303T020000.000Z partly failed
	// 20250302T020000.000Z failed
}

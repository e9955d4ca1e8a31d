package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/report/history"
)

// statuses are the words history --status takes.
var statuses = map[string]usersync.Status{
	"succeeded": usersync.Succeeded, "partly_failed": usersync.PartlyFailed, "partial": usersync.PartlyFailed,
	"held": usersync.Held, "failed": usersync.Failed, "nothing_to_do": usersync.NothingToDo,
	"planned": usersync.Planned,
}

// cmdHistory lists the last runs, newest first, or shows one in full.
func cmdHistory(ctx context.Context, a *app, args []string) int {
	fs := a.flagSet("history")
	n := fs.Int("n", 20, "show the last `N` runs")
	var only []usersync.Status
	fs.Func("status", "show only runs that ended so: succeeded, partly_failed, held, failed, nothing_to_do", func(s string) error {
		for _, w := range strings.Split(s, ",") {
			st, ok := statuses[strings.ReplaceAll(strings.ToLower(strings.TrimSpace(w)), " ", "_")]
			if !ok {
				return fmt.Errorf("unknown status %q", w)
			}
			only = append(only, st)
		}
		return nil
	})
	rest, err := a.parse(fs, args)
	if err != nil {
		return a.flagError(err)
	}
	if len(rest) > 1 || *n < 1 {
		return a.fail(usagef(errors.New("usage: usersync history [-n N] [--status S] [ID]")))
	}
	if err := a.load(); err != nil {
		return a.fail(err)
	}
	store, done, err := a.openHistory(ctx)
	if err != nil {
		return a.fail(err)
	}
	defer done()
	if len(rest) == 1 {
		return a.showEntry(ctx, store, rest[0])
	}
	var entries []history.Entry
	if store != nil {
		if entries, err = store.Query(ctx, history.Query{Name: a.cfg.Name, Statuses: only, Limit: *n}); err != nil {
			return a.fail(err)
		}
	}
	if a.json {
		a.emit(&output{ExitCode: exitOK, Entries: entries})
		return exitOK
	}
	a.listEntries(entries)
	return exitOK
}

// openHistory opens the history the config keeps; nil if there is none
// yet, as before the first run.
func (a *app) openHistory(ctx context.Context) (history.Store, func(), error) {
	h := a.cfg.Reports.History
	switch {
	case h != nil && h.Disabled:
		return nil, nil, usagef(errors.New("the config keeps no history (reports.history.disabled)"))
	case h != nil && h.File != "":
		return history.NewFile(string(h.File)), func() {}, nil
	}
	if s := a.cfg.Sink.SQLite; s != nil {
		if _, err := os.Stat(string(s.Path)); errors.Is(err, os.ErrNotExist) {
			return nil, func() {}, nil // no run yet; do not create the database to say so
		}
	}
	db, _, err := a.openDB(ctx)
	if err != nil {
		return nil, nil, err
	}
	store, err := a.historyStore(ctx, db)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("reports.history: %w", err)
	}
	return store, func() { db.Close() }, nil
}

// listEntries prints one line per run.
func (a *app) listEntries(entries []history.Entry) {
	if len(entries) == 0 {
		a.printf("No runs yet.\n")
		return
	}
	if a.quiet {
		return
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTARTED\tSTATUS\tHEADLINE")
	for _, e := range entries {
		s := e.Summary
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.ID, s.Started.Local().Format("2006-01-02 15:04:05"),
			statusName(s.Status), oneLine(s.Headline))
	}
	tw.Flush()
}

// showEntry prints one run's summary in full.
func (a *app) showEntry(ctx context.Context, store history.Store, id string) int {
	e, err := findEntry(ctx, store, id)
	if err != nil {
		return a.fail(err)
	}
	if a.json {
		a.emit(&output{Status: statusName(e.Summary.Status), ExitCode: exitOK, Entries: []history.Entry{e}})
		return exitOK
	}
	if !a.quiet {
		var b strings.Builder
		_ = report.WriteText(&b, e.Summary)
		fmt.Fprint(a.stdout, b.String())
	}
	return exitOK
}

// findEntry finds the run with the ID, looking only around the time the ID
// starts with.
func findEntry(ctx context.Context, store history.Store, id string) (history.Entry, error) {
	notFound := fmt.Errorf("no run %q in the history (usersync history lists the IDs)", id)
	if store == nil {
		return history.Entry{}, notFound
	}
	q := history.Query{}
	if ts, _, ok := strings.Cut(id, "-"); ok {
		if t, err := time.Parse("20060102T150405.000Z", ts); err == nil {
			q.Since, q.Until = t.Add(-time.Millisecond), t.Add(time.Millisecond)
		}
	}
	entries, err := store.Query(ctx, q)
	if err != nil {
		return history.Entry{}, err
	}
	for _, e := range entries {
		if e.ID == id {
			return e, nil
		}
	}
	return history.Entry{}, notFound
}

// oneLine makes text from outside safe for one line of a terminal.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

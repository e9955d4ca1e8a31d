package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/report/history"
)

// statusWords are the words history --status takes, as its help lists
// them: how a run ended, as outcomeOf says it.
var statusWords = []string{"succeeded", "nothing_to_do", "partly_failed", "held", "failed", "stale"}

// statuses are the words history --status takes, with the Status each
// selects in the history store; "stale" is a failed run that outcomeOf
// tells apart.
var statuses = map[string]usersync.Status{
	"succeeded": usersync.Succeeded, "partly_failed": usersync.PartlyFailed, "partial": usersync.PartlyFailed,
	"held": usersync.Held, "failed": usersync.Failed, "nothing_to_do": usersync.NothingToDo,
	"planned": usersync.Planned, "stale": usersync.Failed,
}

// outcomeOf says how a run in the history ended, and the exit code the run
// had: its status, except that an approved plan refused because the files
// or the directory changed since (exit code 6) is "stale", not "failed",
// and a run that applied but rejected rows keeps "succeeded" with exit
// code 8. The summary keeps the error's text only: a StalePlanError's
// always starts with usersync.ErrStalePlan's.
func outcomeOf(s *report.Summary) (word string, code int) {
	word = statusName(s.Status)
	switch s.Status {
	case usersync.Succeeded:
		if s.Counts.Rejected > 0 {
			return word, exitRejected
		}
		return word, exitOK
	case usersync.NothingToDo, usersync.Planned:
		return word, exitOK
	case usersync.Held:
		return word, exitHeld
	case usersync.PartlyFailed:
		return word, exitPartial
	}
	if strings.Contains(s.Error, usersync.ErrStalePlan.Error()) {
		return "stale", exitStale
	}
	return word, exitFailed
}

// staleHeadline says "stale plan" where the headline at the start of s
// says "failed", the Status a stale plan has.
func staleHeadline(s string) string {
	return strings.Replace(s, ": failed — ", ": stale plan — ", 1)
}

// entryOutput is a history entry in JSON: the entry as the history keeps
// it, and how the run ended.
type entryOutput struct {
	history.Entry
	Outcome  string `json:"outcome"`
	ExitCode int    `json:"exit_code"`
}

func entriesOutput(entries []history.Entry) []entryOutput {
	out := make([]entryOutput, len(entries))
	for i, e := range entries {
		out[i].Entry = e
		out[i].Outcome, out[i].ExitCode = outcomeOf(e.Summary)
	}
	return out
}

// historyCommand lists the last runs, newest first, or shows one in full.
func historyCommand(a *app) *cobra.Command {
	var n int
	var status []string
	c := a.do(&cobra.Command{
		Use:   "history [-n N] [--status S] [ID]",
		Short: "List the last runs, or show one",
		Long: `history lists the last runs of the config's feed, newest first, one a line, or
shows one run in full, by the ID the list gives.`,
		Example: `  usersync -c acme.yaml history
  usersync -c acme.yaml history -n 5 --status failed,held
  usersync -c acme.yaml history 20261205T001500.123Z-1a2b3c4d`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef(errUnexpected(args[1:]))
			}
			return nil
		},
	}, func(ctx context.Context, args []string) int {
		if n < 1 {
			return a.fail(usagef(fmt.Errorf("-n %d: give a number of runs, 1 or more", n)))
		}
		var only []string
		for _, w := range status {
			w = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(w)), " ", "_")
			if _, ok := statuses[w]; !ok {
				return a.fail(usagef(fmt.Errorf("--status: unknown status %q; the statuses are %s", w, strings.Join(statusWords, ", "))))
			}
			if w == "partial" {
				w = "partly_failed"
			}
			only = append(only, w)
		}
		if err := a.load(); err != nil {
			return a.fail(err)
		}
		return a.history(ctx, args, n, only)
	})
	c.Flags().IntVarP(&n, "limit", "n", 20, "show the last `N` runs")
	c.Flags().StringSliceVar(&status, "status", nil, "show only runs that ended so: "+strings.Join(statusWords, ", "))
	_ = c.RegisterFlagCompletionFunc("status", cobra.FixedCompletions(statusWords, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// history lists the runs, or shows the one args names.
func (a *app) history(ctx context.Context, rest []string, n int, only []string) int {
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
		q := history.Query{Name: a.cfg.Name, Limit: n}
		for _, w := range only {
			q.Statuses = append(q.Statuses, statuses[w])
		}
		if slices.Contains(q.Statuses, usersync.Failed) {
			q.Limit = 0 // failed and stale share the Status: count after telling them apart
		}
		if entries, err = store.Query(ctx, q); err != nil {
			return a.fail(err)
		}
		if len(only) > 0 {
			entries = slices.DeleteFunc(entries, func(e history.Entry) bool {
				w, _ := outcomeOf(e.Summary)
				return !slices.Contains(only, w)
			})
		}
		if len(entries) > n {
			entries = entries[:n]
		}
	}
	if a.json {
		a.emit(&output{ExitCode: exitOK, Entries: entriesOutput(entries)})
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
	fmt.Fprintln(tw, "ID\tSTARTED\tSTATUS\tEXIT\tHEADLINE")
	for _, e := range entries {
		s := e.Summary
		word, code := outcomeOf(s)
		headline := s.Headline
		if word == "stale" {
			headline = staleHeadline(headline) + "; plan again"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", e.ID, s.Started.Local().Format("2006-01-02 15:04:05"),
			word, code, oneLine(a.redact(headline)))
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
		word, _ := outcomeOf(e.Summary)
		a.emit(&output{Status: word, ExitCode: exitOK, Entries: entriesOutput([]history.Entry{e})})
		return exitOK
	}
	if !a.quiet {
		var b strings.Builder
		_ = report.WriteText(&b, e.Summary)
		text := b.String()
		if word, _ := outcomeOf(e.Summary); word == "stale" {
			text = staleHeadline(text)
		}
		fmt.Fprint(a.stdout, text)
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

// Package reporttest is the conformance suite for usersync.Reporter
// implementations, in the manner of testing/slogtest: it runs real
// Pipelines that end in every status with the Reporter attached, and feeds
// it events a hand-made caller might send, and checks the rules every
// Reporter keeps:
//
//   - it reports every run without error, whatever its outcome;
//   - it never panics, even on an event that lacks its payload or of a kind
//     it does not know (its error is then the caller's to see);
//   - it reports a run whose ctx was canceled (the RunFinished event of a
//     canceled run comes with one);
//   - if it is a report.Alerter, it delivers each kind of alert.
//
// What a Reporter makes of the events (a log, an email, a history entry) is
// its own tests' business.
package reporttest

import (
	"context"
	"testing"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/report/internal/testruns"
)

// Run runs the suite; newReporter returns a fresh Reporter for each case.
func Run(t *testing.T, newReporter func(t *testing.T) usersync.Reporter) {
	t.Run("EveryStatus", func(t *testing.T) {
		r := newReporter(t)
		runs := testruns.New(t, time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC))
		seen := map[usersync.Status]bool{}
		for _, n := range nights() {
			res := runs.Run(r, n)
			seen[res.Status] = true
			if len(res.ReportErrors) > 0 {
				t.Errorf("a %s run: Report failed: %v", res.Status, res.ReportErrors)
			}
		}
		for st := usersync.Succeeded; st <= usersync.Planned; st++ {
			if !seen[st] {
				t.Errorf("the suite made no %s run", st)
			}
		}
	})
	t.Run("IncompleteEvents", func(t *testing.T) {
		r := newReporter(t)
		for k := range usersync.RunFinished + 2 {
			report1(t, r, context.Background(), usersync.Event{Kind: k})
		}
		report1(t, r, context.Background(), usersync.Event{Kind: usersync.RunFinished, Result: &usersync.Result{}})
	})
	t.Run("CanceledContext", func(t *testing.T) {
		r := newReporter(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res := &usersync.Result{Status: usersync.Failed, Err: context.Canceled}
		if err := report1(t, r, ctx, usersync.Event{Kind: usersync.RunStarted}); err != nil {
			t.Errorf("RunStarted with a canceled ctx: %v", err)
		}
		if err := report1(t, r, ctx, usersync.Event{Kind: usersync.RunFinished, Result: res}); err != nil {
			t.Errorf("RunFinished with a canceled ctx: %v", err)
		}
	})
	t.Run("Alerts", func(t *testing.T) {
		al, ok := newReporter(t).(report.Alerter)
		if !ok {
			t.Skip("not an Alerter")
		}
		held := report.NewSummary(&usersync.Result{Status: usersync.Held,
			Plan: &usersync.Plan{Hold: &usersync.GuardError{Guard: "deletes", Count: 9, Population: 10, Limit: "1"}}}, nil)
		for _, a := range []*report.Alert{
			{Kind: report.FeedStale, Time: time.Now(), Subject: "usersync: feed stale — no new file for 27 hours",
				Message: "No new file.", LastFile: "users.csv", LastFileAt: time.Now().Add(-27 * time.Hour)},
			{Kind: report.PlanHeld, Time: time.Now(), Subject: "usersync: approval needed", Message: "Held.",
				Summary: held},
		} {
			if err := al.Alert(context.Background(), a); err != nil {
				t.Errorf("Alert %s: %v", a.Kind, err)
			}
		}
	})
}

// nights are runs that end in every status, in an order that makes them
// so: a first sync, a failed change, a dry run, nothing, a broken file, and
// a file that would deactivate most users.
func nights() []testruns.Night {
	return []testruns.Night{
		{Feed: testruns.Feed(60)},
		{Feed: testruns.Nightly + feedTail(60), Fail: []string{"E1002"}},
		{Feed: testruns.Feed(61), DryRun: true},
		{},
		{Feed: "UniqueID;Name;Mail\n"},
		{Feed: testruns.Feed(5)},
	}
}

// feedTail returns the rows of users E0001..En without a header.
func feedTail(n int) string {
	feed := testruns.Feed(n)
	for i := range feed {
		if feed[i] == '\n' {
			return feed[i+1:]
		}
	}
	return ""
}

// report1 reports e and turns a panic into a test failure.
func report1(t *testing.T, r usersync.Reporter, ctx context.Context, e usersync.Event) (err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("Report(%s) panicked: %v", e.Kind, p)
		}
	}()
	return r.Report(ctx, e)
}

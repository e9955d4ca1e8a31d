package report_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
)

// alerts is an Alerter that keeps what it receives, and fails with err.
type alerts struct {
	mu  sync.Mutex
	got []*report.Alert
	err error
}

func (a *alerts) Report(context.Context, usersync.Event) error { return nil }

func (a *alerts) Alert(_ context.Context, al *report.Alert) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, al)
	return a.err
}

func (a *alerts) kinds() []report.AlertKind {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ks []report.AlertKind
	for _, al := range a.got {
		ks = append(ks, al.Kind)
	}
	return ks
}

// watchClock is a Watch with a clock the test moves.
type watchClock struct {
	now   time.Time
	store *usersync.MemStore
	to    *alerts
	w     *report.Watch
}

func newWatch(t *testing.T, opts *report.WatchOptions) *watchClock {
	t.Helper()
	c := &watchClock{now: started(), store: &usersync.MemStore{}, to: &alerts{}}
	if opts == nil {
		opts = &report.WatchOptions{}
	}
	opts.Now = func() time.Time { return c.now }
	c.w = report.NewWatch(c.store, c.to, opts)
	return c
}

// run reports the end of a run with r, h hours after the watch began.
func (c *watchClock) run(t *testing.T, h int, r *usersync.Result) error {
	t.Helper()
	c.now = started().Add(time.Duration(h) * time.Hour)
	return c.w.Report(context.Background(), usersync.Event{Kind: usersync.RunFinished, Result: r})
}

func (c *watchClock) check(h int) error {
	c.now = started().Add(time.Duration(h) * time.Hour)
	return c.w.Check(context.Background())
}

func TestWatchStaleFeed(t *testing.T) {
	c := newWatch(t, nil)
	require.NoError(t, c.run(t, 0, succeeded()))
	require.NoError(t, c.run(t, 24, nothingToDo()))
	assert.Empty(t, c.to.got, "24 hours is within the window")
	require.NoError(t, c.check(26))
	assert.Empty(t, c.to.got, "26 hours is the window")

	require.NoError(t, c.check(27))
	require.Len(t, c.to.got, 1)
	a := c.to.got[0]
	assert.Equal(t, report.FeedStale, a.Kind)
	assert.Equal(t, "usersync: feed stale — no new file for 27 hours", a.Subject)
	assert.Equal(t, "users.csv", a.LastFile)
	assert.Equal(t, started(), a.LastFileAt)
	assert.Equal(t, report.DefaultWindow, a.Window)
	assert.Equal(t, "No new file has arrived for 27 hours; one is expected at least every 26 hours.\n"+
		"The last new file was users.csv, at 2025-03-04 02:00:00 UTC.\n"+
		"Check that the customer's export still runs and that its upload reaches the folder.", a.Message)

	require.NoError(t, c.run(t, 48, nothingToDo()))
	require.NoError(t, c.check(52))
	assert.Len(t, c.to.got, 1, "one alert per window, not one per check")
	require.NoError(t, c.check(27+26))
	assert.Len(t, c.to.got, 2, "the silence goes on: alerted again a window later")
	assert.Equal(t, "usersync: feed stale — no new file for 53 hours", c.to.got[1].Subject)

	require.NoError(t, c.run(t, 60, succeeded()))
	require.NoError(t, c.check(80))
	assert.Len(t, c.to.got, 2, "a new file resets the window")
}

// TestWatchNeverAFile checks that a feed that never delivered is stale a
// window after the watch began.
func TestWatchNeverAFile(t *testing.T) {
	c := newWatch(t, &report.WatchOptions{Window: time.Hour, Summary: &report.Options{Name: "Acme"}})
	require.NoError(t, c.check(0))
	require.NoError(t, c.check(1))
	assert.Empty(t, c.to.got)
	require.NoError(t, c.check(2))
	require.Len(t, c.to.got, 1)
	assert.Equal(t, "Acme", c.to.got[0].Name)
	assert.Contains(t, c.to.got[0].Message, "No file has arrived since the watch began, at 2025-03-04 02:00:00 UTC.")
	_, err := c.store.Get(context.Background(), "report/watch/Acme")
	assert.NoError(t, err, "each feed keeps its own state")
}

// TestWatchAlreadyApplied checks that the same file again is no new file.
func TestWatchAlreadyApplied(t *testing.T) {
	c := newWatch(t, nil)
	require.NoError(t, c.run(t, 0, succeeded()))
	again := nothingToDo()
	again.Files = []usersync.FileResult{usersCSV()}
	again.Files[0].AlreadyApplied = true
	require.NoError(t, c.run(t, 24, again))
	require.NoError(t, c.run(t, 48, again))
	assert.Equal(t, []report.AlertKind{report.FeedStale}, c.to.kinds())
}

func TestWatchHeld(t *testing.T) {
	c := newWatch(t, &report.WatchOptions{Summary: &report.Options{Name: "Acme", MaxListed: 2}})
	require.NoError(t, c.run(t, 0, held()))
	require.Len(t, c.to.got, 1)
	a := c.to.got[0]
	assert.Equal(t, report.PlanHeld, a.Kind)
	assert.Equal(t, "usersync Acme: approval needed — nothing applied; plan: 3 to create, 250 to deactivate, 40 unchanged, 1 rejected", a.Subject)
	require.NotNil(t, a.Summary)
	assert.Len(t, a.Summary.Changes[1].Items, 2, "summarised with the Watch's options")
	assert.Contains(t, a.Message, "safety guard tripped: plan has 250 deactivations and deletions")

	var text, html bytes.Buffer
	require.NoError(t, report.WriteAlertText(&text, a))
	assert.True(t, strings.HasPrefix(text.String(), a.Subject+"\n\nA safety guard held the plan of the run started 2025-03-04 02:00:00 UTC; nothing was applied.\n"))
	assert.Contains(t, text.String(), "\n\nusersync Acme: held — ")
	require.NoError(t, report.WriteAlertHTML(&html, a))
	assert.Contains(t, html.String(), "A safety guard held the plan")
	assert.Contains(t, html.String(), "To deactivate (250)")
}

// TestWatchDeliveryFails checks that an alert that could not be delivered
// is tried again at the next check.
func TestWatchDeliveryFails(t *testing.T) {
	c := newWatch(t, &report.WatchOptions{Window: time.Hour})
	c.to.err = errors.New("smtp down")
	require.NoError(t, c.check(0))
	assert.ErrorContains(t, c.check(2), "smtp down")
	c.to.err = nil
	require.NoError(t, c.check(2))
	assert.Len(t, c.to.got, 2, "tried again")
	require.NoError(t, c.check(2))
	assert.Len(t, c.to.got, 2)
}

func TestWatchStoreFails(t *testing.T) {
	errDB := errors.New("database is down")
	w := report.NewWatch(failingStore{errDB}, &alerts{}, nil)
	assert.ErrorIs(t, w.Check(context.Background()), errDB)
	assert.ErrorIs(t, w.Report(context.Background(), usersync.Event{Kind: usersync.RunFinished, Result: succeeded()}), errDB)

	store := &usersync.MemStore{}
	require.NoError(t, store.Put(context.Background(), "report/watch", []byte("{not json")))
	assert.ErrorContains(t, report.NewWatch(store, &alerts{}, nil).Check(context.Background()), "report/watch")
}

type failingStore struct{ err error }

func (s failingStore) Get(context.Context, string) ([]byte, error) { return nil, s.err }
func (s failingStore) Put(context.Context, string, []byte) error   { return s.err }
func (s failingStore) Delete(context.Context, string) error        { return s.err }

func TestNotify(t *testing.T) {
	a := &report.Alert{Kind: report.FeedStale, Subject: "s"}
	err := report.Notify(context.Background(), usersync.ReporterFunc(func(context.Context, usersync.Event) error {
		return nil
	}), a)
	assert.ErrorIs(t, err, errors.ErrUnsupported, "an alert nobody receives is an error")

	var b bytes.Buffer
	require.NoError(t, report.Notify(context.Background(), report.Text(&b), a))
	assert.Equal(t, "s\n\n\n", b.String())
}

func TestMultiAlert(t *testing.T) {
	first, second := &alerts{err: errors.New("chat down")}, &alerts{}
	m := report.Multi(first, usersync.ReporterFunc(func(context.Context, usersync.Event) error { return nil }), second)
	a := &report.Alert{Kind: report.PlanHeld}
	err := report.Notify(context.Background(), m, a)
	assert.ErrorContains(t, err, "chat down")
	assert.Len(t, first.got, 1)
	assert.Len(t, second.got, 1, "one Alerter failing does not keep the alert from the next")

	none := report.Multi(usersync.ReporterFunc(func(context.Context, usersync.Event) error { return nil }))
	assert.ErrorIs(t, report.Notify(context.Background(), none, a), errors.ErrUnsupported)
}

func TestAlertKind(t *testing.T) {
	assert.Equal(t, "feed-stale", report.FeedStale.String())
	assert.Equal(t, "plan-held", report.PlanHeld.String())
	assert.Equal(t, "AlertKind(9)", report.AlertKind(9).String())
	b, err := report.PlanHeld.MarshalText()
	require.NoError(t, err)
	assert.Equal(t, "plan-held", string(b))
	var k report.AlertKind
	require.NoError(t, k.UnmarshalText(b))
	assert.Equal(t, report.PlanHeld, k)
	assert.Error(t, k.UnmarshalText([]byte("meteor")))
}

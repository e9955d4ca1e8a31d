package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/usersync/usersync"
)

// DefaultWindow is how long a feed may go without a new file before a
// [Watch] raises FeedStale: a nightly feed, with two hours to spare.
const DefaultWindow = 26 * time.Hour

// WatchOptions tune a [Watch]. A nil *WatchOptions means the defaults.
type WatchOptions struct {
	// Window is how often a new file is expected; 0 means DefaultWindow.
	Window time.Duration
	// Key is where the Watch keeps its state in the Store; "" means
	// "report/watch", or "report/watch/NAME" when Summary names the feed,
	// so that the feeds of one Store keep apart.
	Key string
	// Summary is how a held run is summarised for its alert, and names the
	// feed.
	Summary *Options
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// A Watch raises alerts about a feed and delivers them through a Reporter
// (see [Notify]): FeedStale when no new file arrived within the window, and
// PlanHeld when a guard holds a run's plan.
//
// A Watch is itself a Reporter: put it in the Pipeline's Reporter beside
// the reporters it alerts, as in Multi(alerts, watch). It sees each run
// finish, remembers in a [usersync.Store] when the feed last brought a new
// file, and checks the window after every run. A host whose runs might stop
// altogether calls [Watch.Check] on a schedule too, such as hourly. A stale
// feed is alerted once per window, not at every check.
type Watch struct {
	store  usersync.Store
	to     usersync.Reporter
	window time.Duration
	key    string
	name   string
	now    func() time.Time
	sum    usersync.Reporter

	mu sync.Mutex // one read-modify-write of the state at a time
}

var _ usersync.Reporter = (*Watch)(nil)

// NewWatch returns a Watch that keeps its state in store and delivers its
// alerts to to.
func NewWatch(store usersync.Store, to usersync.Reporter, opts *WatchOptions) *Watch {
	if opts == nil {
		opts = &WatchOptions{}
	}
	w := &Watch{store: store, to: to, window: opts.Window, key: opts.Key, now: opts.Now}
	if opts.Summary != nil {
		w.name = opts.Summary.Name
	}
	if w.window <= 0 {
		w.window = DefaultWindow
	}
	if w.key == "" {
		w.key = "report/watch"
		if w.name != "" {
			w.key += "/" + w.name
		}
	}
	if w.now == nil {
		w.now = time.Now
	}
	w.sum = Summarize(w.finished, opts.Summary)
	return w
}

// Report watches each run's end.
func (w *Watch) Report(ctx context.Context, e usersync.Event) error { return w.sum.Report(ctx, e) }

// finished notes a new file, alerts a held plan, and checks the window.
func (w *Watch) finished(ctx context.Context, s *Summary) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	st, err := w.load(ctx)
	if err != nil {
		return err
	}
	if f := newFile(s); f != "" {
		st.LastFile, st.LastFileAt = f, w.now()
		if err := w.save(ctx, st); err != nil {
			return err
		}
	}
	var errs []error
	if s.Status == usersync.Held {
		errs = append(errs, Notify(ctx, w.to, heldAlert(s, w.now())))
	}
	return errors.Join(append(errs, w.check(ctx, st))...)
}

// newFile returns the last file of the run that an earlier run did not
// already apply, or "". A file that failed still counts: the feed arrived,
// and its failure is the run's to report.
func newFile(s *Summary) string {
	for i := len(s.Files) - 1; i >= 0; i-- {
		if !s.Files[i].AlreadyApplied {
			return s.Files[i].Name
		}
	}
	return ""
}

// Check raises FeedStale when no new file arrived within the window, unless
// it did so already for this silence within the last window.
func (w *Watch) Check(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	st, err := w.load(ctx)
	if err != nil {
		return err
	}
	return w.check(ctx, st)
}

func (w *Watch) check(ctx context.Context, st watchState) error {
	now := w.now()
	if now.Sub(st.reference()) <= w.window {
		return nil
	}
	if st.AlertedAt.After(st.reference()) && now.Sub(st.AlertedAt) < w.window {
		return nil
	}
	if err := Notify(ctx, w.to, staleAlert(w.name, now, st, w.window)); err != nil {
		return err // not marked alerted: the next check tries again
	}
	st.AlertedAt = now
	return w.save(ctx, st)
}

// watchState is what a Watch remembers between runs.
type watchState struct {
	// Since is when the Watch first looked at the feed.
	Since      time.Time `json:"since"`
	LastFile   string    `json:"last_file,omitempty"`
	LastFileAt time.Time `json:"last_file_at,omitzero"`
	// AlertedAt is when FeedStale was last raised.
	AlertedAt time.Time `json:"alerted_at,omitzero"`
}

// reference is the time the window runs from: the last new file, or the
// start of the watch.
func (st watchState) reference() time.Time {
	if st.LastFileAt.After(st.Since) {
		return st.LastFileAt
	}
	return st.Since
}

// load reads the state; the first time, it starts the watch now.
func (w *Watch) load(ctx context.Context) (watchState, error) {
	var st watchState
	b, err := w.store.Get(ctx, w.key)
	switch {
	case errors.Is(err, usersync.ErrNotFound):
		st.Since = w.now()
		return st, w.save(ctx, st)
	case err != nil:
		return st, fmt.Errorf("report: watch: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("report: watch: state %q: %w", w.key, err)
	}
	return st, nil
}

func (w *Watch) save(ctx context.Context, st watchState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := w.store.Put(ctx, w.key, b); err != nil {
		return fmt.Errorf("report: watch: %w", err)
	}
	return nil
}

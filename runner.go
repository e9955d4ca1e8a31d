package usersync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// DefaultWatchEvery is how often a [Runner] lists its Watch source when
// WatchEvery is 0.
const DefaultWatchEvery = time.Minute

// A Runner runs a sync on its own: on a [Schedule] (an interval, a time of
// day in a time zone, a cron expression), when a file arrives, and when the
// host asks ([Runner.Trigger]), until its Run's ctx is done.
//
// It never runs two syncs at once. Whatever asks for a run while one is in
// progress (a scheduled time, a new file, any number of Triggers) brings
// one more run after it, not a second one beside it nor a queue of them.
// With a Lock, it also skips a run while another process syncs the same
// directory.
//
// Only Pipeline (or Func) is required; the other fields are optional. Set
// them before Run and do not change them, nor the Pipeline, while it runs.
// A Runner must not be copied after first use.
type Runner struct {
	// Pipeline is the sync to run. The Runner runs a copy of it, with a
	// Reporter that passes every event on to Pipeline.Reporter and also
	// tells the Runner when the plan is ready, so that shutting down can
	// cancel a run that has not applied anything yet (see Run).
	Pipeline *Pipeline
	// Func runs one sync, instead of Pipeline, for a host that does more
	// around each run, such as building its Pipeline from the tenant's
	// current settings. The Runner cannot see when a Func starts applying:
	// at shutdown it lets a Func finish, within ShutdownTimeout.
	Func func(ctx context.Context) (*Result, error)

	// Schedule says when to run; nil means only when Watch or Trigger
	// asks.
	Schedule Schedule
	// Jitter delays each scheduled run by a random duration up to Jitter,
	// so that the syncs of many tenants on one schedule do not all start at
	// the same second. The schedule itself does not drift: each run is
	// delayed from its scheduled time.
	Jitter time.Duration
	// Rand draws the jitter; nil means math/rand/v2's generator. Only Run's
	// goroutine uses it.
	Rand rand.Source

	// Watch, if set, is listed every WatchEvery, and a run starts when a
	// file shows up that was not there, or that changed (size or
	// modification time), at the last listing. The first listing, when Run
	// starts, counts every file as new. Give it the Pipeline's Source: with
	// source.Pickup's readiness rules, a file shows up once it is complete.
	Watch Source
	// WatchEvery is how often Watch is listed; 0 means DefaultWatchEvery.
	WatchEvery time.Duration

	// Pause, if set, is asked whenever a run is about to start, with the
	// time; while it reports true, runs are skipped, not put off: a school
	// pausing its sync over the summer holidays, a tenant an administrator
	// paused. See Between. It is called from Run's goroutine only.
	Pause func(now time.Time) bool

	// Lock, if set, is taken before each run and released after. When
	// another sync holds it, the run is skipped and logged, and OnResult
	// is told.
	Lock Locker

	// ShutdownTimeout bounds how long Run, once its ctx is done, waits for
	// a run that is applying its plan; when it passes, the run is canceled
	// and stops between two changes. 0 means no bound.
	ShutdownTimeout time.Duration

	// OnResult, if set, is called after each run with what it returned;
	// also when a run could not start because Lock failed (res is nil and
	// err is the Locker's, wrapping ErrLocked when another sync holds the
	// lock). It is called from the goroutine of the run, after the lock is
	// released, never for two runs at once.
	OnResult func(res *Result, err error)

	// Logger receives what the Runner does: runs started and finished,
	// skipped runs and why, the next scheduled run. nil means none.
	Logger *slog.Logger

	// Clock tells the time and waits; nil means the system's. Tests give a
	// fake one, to run months of schedules in milliseconds. The Pipeline's
	// Now, when nil, is set to Clock.Now for the runs of the Runner.
	Clock Clock

	mu      sync.Mutex
	running bool          // Run is running
	pending string        // why a run is wanted; "" if none is
	wake    chan struct{} // a run may be wanted; buffered, 1
}

// A Clock tells a [Runner] the time and wakes it up when the time comes.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

// systemClock is the Clock of package time.
type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Trigger asks for a run now, for an event the Runner cannot see itself: an
// upload to the product's own SFTP server, an administrator's "Sync now".
// It does not wait for the run, and is safe to call from any goroutine.
//
// Triggers coalesce: the run starts as soon as none is in progress, and any
// number of triggers during a run bring one more run after it. During a
// pause, the run is skipped. A Trigger before Run starts a run as soon as Run
// starts: the way to sync at once, then on the schedule.
func (r *Runner) Trigger() { r.want("triggered") }

// want records that a run is wanted, and why, and wakes Run.
func (r *Runner) want(reason string) {
	r.mu.Lock()
	if r.pending == "" {
		r.pending = reason
	}
	wake := r.wakeChan()
	r.mu.Unlock()
	select {
	case wake <- struct{}{}:
	default: // Run is awake already
	}
}

// take returns why a run is wanted, and forgets it; "" if none is.
func (r *Runner) take() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	reason := r.pending
	r.pending = ""
	return reason
}

// wakeChan returns r.wake, made on first use; r.mu is held.
func (r *Runner) wakeChan() chan struct{} {
	if r.wake == nil {
		r.wake = make(chan struct{}, 1)
	}
	return r.wake
}

// Run runs syncs, as the Schedule, Watch and Trigger ask, until ctx is done.
// It then shuts down gracefully and returns nil, or at once an error if the
// Runner is not set up right or is running already.
//
// Shutting down never leaves a plan half applied unless told to. A run that
// is still reading files and planning is canceled: it applies nothing. A
// run that is applying its plan is left to finish, unaffected by ctx, and
// Run returns after it; with a ShutdownTimeout, a run still applying when
// it passes is canceled between two changes (every change is idempotent,
// so the next run completes the plan). Run returns once the run in
// progress and the Watch's listing have ended, and starts no new run after
// ctx is done.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.check(); err != nil {
		return err
	}
	wake, err := r.begin()
	if err != nil {
		return err
	}
	defer r.end()

	l := r.newLoop()
	l.started()
	var wg sync.WaitGroup
	defer wg.Wait()
	if r.Watch != nil {
		wg.Go(func() { l.watch(ctx) })
	}
	due, fire := l.arm(time.Time{})
	l.startIfWanted(ctx)
	for {
		select {
		case <-ctx.Done():
			l.shutdown()
			return nil
		case <-fire:
			r.want("scheduled")
			due, fire = l.arm(due)
		case <-wake:
		case <-l.finished:
			l.cur = nil
		}
		l.startIfWanted(ctx)
	}
}

// check reports a Runner that cannot run.
func (r *Runner) check() error {
	switch {
	case r.Pipeline == nil && r.Func == nil:
		return errors.New("usersync: Runner needs a Pipeline or a Func")
	case r.Pipeline != nil && r.Func != nil:
		return errors.New("usersync: Runner has both a Pipeline and a Func; set one")
	case r.Jitter < 0, r.WatchEvery < 0, r.ShutdownTimeout < 0:
		return errors.New("usersync: Runner: Jitter, WatchEvery and ShutdownTimeout must not be negative")
	}
	return nil
}

// begin marks r as running, or fails if it is.
func (r *Runner) begin() (wake <-chan struct{}, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		return nil, errors.New("usersync: Runner.Run called while the Runner is running")
	}
	r.running = true
	return r.wakeChan(), nil
}

func (r *Runner) end() {
	r.mu.Lock()
	r.running = false
	r.mu.Unlock()
}

// loop is the state of one Run, owned by its goroutine.
type loop struct {
	r        *Runner
	clock    Clock
	log      *slog.Logger
	rand     *rand.Rand
	cur      *job      // the run in progress; nil if none
	finished chan *job // a run ended
}

func (r *Runner) newLoop() *loop {
	l := &loop{r: r, clock: r.Clock, log: r.Logger, finished: make(chan *job)}
	if l.clock == nil {
		l.clock = systemClock{}
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if r.Rand != nil {
		l.rand = rand.New(r.Rand)
	}
	return l
}

// started logs what the Runner is set to do.
func (l *loop) started() {
	r := l.r
	attrs := []any{}
	if s, ok := r.Schedule.(fmt.Stringer); ok {
		attrs = append(attrs, "schedule", s.String())
	}
	if r.Jitter > 0 {
		attrs = append(attrs, "jitter", r.Jitter)
	}
	if r.Watch != nil {
		attrs = append(attrs, "watch", "every "+cmp.Or(r.WatchEvery, DefaultWatchEvery).String())
	}
	if r.Lock != nil {
		attrs = append(attrs, "lock", true)
	}
	l.log.Info("usersync: runner started", attrs...)
}

// arm returns the next scheduled time after prev (after now when prev is
// zero), and a channel that fires at it, jitter added. Scheduled times that
// passed while the Runner could not fire them (a suspended machine, a clock
// set forward) are skipped: they make one run, not a burst. Without a
// Schedule, or once it ends, the channel is nil and never fires.
func (l *loop) arm(prev time.Time) (due time.Time, fire <-chan time.Time) {
	s := l.r.Schedule
	if s == nil {
		return time.Time{}, nil
	}
	now := l.clock.Now()
	if !prev.IsZero() {
		due = s.Next(prev)
	}
	if !due.After(now) {
		due = s.Next(now)
	}
	switch {
	case due.IsZero():
		l.log.Info("usersync: the schedule has no further runs")
		return time.Time{}, nil
	case !due.After(now):
		// A Schedule that does not move on would spin: stop asking it.
		l.log.Error("usersync: the schedule's next time is not after the time asked: no further scheduled runs", "next", due, "now", now)
		return time.Time{}, nil
	}
	at := due.Add(l.jitter())
	l.log.Info("usersync: next scheduled sync", "at", at)
	return due, l.clock.After(at.Sub(now))
}

// jitter draws a delay in [0, Jitter).
func (l *loop) jitter() time.Duration {
	j := int64(l.r.Jitter)
	switch {
	case j <= 0:
		return 0
	case l.rand != nil:
		return time.Duration(l.rand.Int64N(j))
	default:
		return time.Duration(rand.Int64N(j))
	}
}

// startIfWanted starts a run if one is wanted and none is in progress,
// unless a pause skips it.
func (l *loop) startIfWanted(ctx context.Context) {
	if l.cur != nil || ctx.Err() != nil {
		return
	}
	reason := l.r.take()
	if reason == "" {
		return
	}
	if p := l.r.Pause; p != nil && p(l.clock.Now()) {
		l.log.InfoContext(ctx, "usersync: sync paused: run skipped", "reason", reason)
		return
	}
	l.cur = l.start(ctx, reason)
}

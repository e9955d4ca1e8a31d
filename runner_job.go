package usersync

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// unlockTimeout bounds releasing a Runner's Lock, which happens also after
// shutdown began.
const unlockTimeout = 30 * time.Second

// A job is one run of a Runner, in its own goroutine. Its ctx is detached
// from Run's, so that shutting down decides whether to cancel it: at once
// while it plans, not while it applies.
type job struct {
	cancel context.CancelFunc

	mu       sync.Mutex
	applying bool // the plan is ready: canceling now would apply it in part
	stopping bool // shutdown began; the run may not start applying
}

// start runs reason's sync in a goroutine that sends the job to
// l.finished when it is over.
func (l *loop) start(ctx context.Context, reason string) *job {
	jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	j := &job{cancel: cancel}
	go func() {
		defer func() { l.finished <- j }()
		defer cancel()
		l.run(jctx, j, reason)
	}()
	return j
}

// run takes the lock, runs the sync, logs and reports its outcome.
func (l *loop) run(ctx context.Context, j *job, reason string) {
	r := l.r
	log := l.log.With("reason", reason)
	var unlock func(context.Context) error
	if r.Lock != nil {
		var err error
		if unlock, err = r.Lock.Lock(ctx); err != nil {
			l.lockFailed(ctx, log, err)
			return
		}
	}
	log.InfoContext(ctx, "usersync: sync started")
	started := l.clock.Now()
	res, err := l.call(ctx, j)
	logResult(ctx, log, res, err, l.clock.Now().Sub(started))
	if unlock != nil {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
		if err := unlock(uctx); err != nil {
			log.ErrorContext(ctx, "usersync: releasing the sync lock", "err", err)
		}
		cancel()
	}
	if r.OnResult != nil {
		r.OnResult(res, err)
	}
}

// lockFailed logs and reports a run that could not take the lock.
func (l *loop) lockFailed(ctx context.Context, log *slog.Logger, err error) {
	switch {
	case ctx.Err() != nil:
		log.DebugContext(ctx, "usersync: shut down while taking the sync lock", "err", err)
		return // not a run: shutdown canceled it before it began
	case errors.Is(err, ErrLocked):
		log.InfoContext(ctx, "usersync: another process is syncing: run skipped", "err", err)
	default:
		log.ErrorContext(ctx, "usersync: cannot take the sync lock: run skipped", "err", err)
	}
	if l.r.OnResult != nil {
		l.r.OnResult(nil, err)
	}
}

// call runs the Func, or a copy of the Pipeline that tells j when its plan
// is ready.
func (l *loop) call(ctx context.Context, j *job) (*Result, error) {
	if l.r.Func != nil {
		j.planned() // for all the Runner knows, a Func applies from the start
		return l.r.Func(ctx)
	}
	p := *l.r.Pipeline
	p.Reporter = phaseReporter{next: p.Reporter, j: j}
	if p.Now == nil {
		p.Now = l.clock.Now
	}
	return p.Run(ctx)
}

// planned records that the run's plan is ready: from now on, shutdown lets
// it finish. If shutdown began before, the run's ctx is canceled already,
// and the Pipeline stops before the first change.
func (j *job) planned() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.stopping {
		j.applying = true
	}
}

// stop begins shutdown: it cancels the run unless its plan is ready, and
// reports whether it is applying.
func (j *job) stop() (applying bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.stopping = true
	if !j.applying {
		j.cancel()
	}
	return j.applying
}

// shutdown ends the run in progress as Runner.Run says, and waits for it.
func (l *loop) shutdown() {
	if l.cur == nil {
		l.log.Info("usersync: runner stopped")
		return
	}
	if !l.cur.stop() {
		l.log.Info("usersync: shutting down: canceling the sync in progress before it applies anything")
		<-l.finished
		l.log.Info("usersync: runner stopped")
		return
	}
	d := l.r.ShutdownTimeout
	l.log.Info("usersync: shutting down: waiting for the sync in progress to finish applying its plan", "timeout", d)
	var timeout <-chan time.Time
	if d > 0 {
		timeout = l.clock.After(d)
	}
	select {
	case <-l.finished:
	case <-timeout:
		l.cur.cancel()
		l.log.Warn("usersync: shutdown timeout: stopping the sync between two changes; the next run completes the plan", "timeout", d)
		<-l.finished
	}
	l.log.Info("usersync: runner stopped")
}

// phaseReporter passes events on, and tells its job when the plan is ready.
type phaseReporter struct {
	next Reporter
	j    *job
}

func (p phaseReporter) Report(ctx context.Context, e Event) error {
	if e.Kind == PlanReady {
		p.j.planned()
	}
	if p.next == nil {
		return nil
	}
	return p.next.Report(ctx, e)
}

// logResult logs how a run ended, at a level that says how well.
func logResult(ctx context.Context, log *slog.Logger, res *Result, err error, took time.Duration) {
	attrs := []slog.Attr{slog.Duration("took", took)}
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelError
	}
	if res != nil {
		attrs = append(attrs, slog.String("status", res.Status.String()), slog.Int("files", len(res.Files)),
			slog.Int("applied", res.Applied.Total()), slog.Int("failed", len(res.Failed)),
			slog.Int("rejected rows", res.RejectedTotal))
		if res.Status == Held || res.Status == PartlyFailed {
			level = slog.LevelWarn
		}
	}
	if err != nil {
		attrs = append(attrs, slog.Any("err", err))
	}
	log.LogAttrs(ctx, level, "usersync: sync finished", attrs...)
}

package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/usersync/usersync"
)

// finishTimeout bounds recording a run's end, which happens also during
// shutdown.
const finishTimeout = 30 * time.Second

// maxErrorText bounds the error message kept in the status table.
const maxErrorText = 2000

// worker works the SyncArgs jobs of a Fleet.
type worker struct {
	river.WorkerDefaults[SyncArgs]
	f *Fleet
}

// Work runs one sync of a tenant, records how it ended, and schedules the
// tenant's next run, in one transaction with the job's completion.
func (w *worker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	f := w.f
	args := job.Args
	t, ok, err := f.tenant(ctx, args.Tenant)
	if err != nil {
		// The host's store failed: River tries the job again later.
		f.log.ErrorContext(ctx, "fleet: cannot tell whether the tenant exists; River retries the job", "tenant", args.Tenant, "err", err)
		return err
	}
	if !ok {
		f.log.InfoContext(ctx, "fleet: tenant removed: job canceled", "tenant", args.Tenant)
		return river.JobCancel(fmt.Errorf("fleet: tenant %q: %w", args.Tenant, ErrUnknownTenant))
	}
	log := f.log.With("tenant", args.Tenant, "reason", args.Reason)
	rec := &record{tenant: t.ID, reason: args.Reason, started: time.Now(), worker: f.eng.clientID(), retry: args.Retry}
	var (
		res   *usersync.Result
		class Class
	)
	if t.Pause != nil && t.Pause(rec.started) {
		rec.status = "paused"
		log.InfoContext(ctx, "fleet: sync paused: run skipped")
	} else {
		var interrupted bool
		res, err, interrupted = w.run(ctx, t.ID)
		if interrupted {
			// Canceled by shutdown before applying anything: run it
			// again at once, on another worker or after a restart.
			log.InfoContext(ctx, "fleet: shutting down: sync canceled before it applied anything; it runs again at once")
			return river.JobSnooze(0)
		}
		if errors.Is(err, ErrUnknownTenant) {
			return river.JobCancel(err)
		}
		class = classifyRun(res, err, f.opts.Classify)
		rec.fill(res, err, class)
		logRun(ctx, log, rec, class, err)
	}
	rec.finished = time.Now()
	if f.opts.OnResult != nil && rec.status != "paused" {
		f.opts.OnResult(t.ID, res, err)
	}
	next := func(triggered bool) *river.InsertManyParams {
		now := time.Now()
		a := SyncArgs{Tenant: t.ID, Version: t.Version}
		var at time.Time
		switch {
		case triggered:
			a.Reason = ReasonTriggered // at zero: available at once
		case class == Transient && args.Retry < max(f.opts.MaxRetries, 0):
			a.Reason, a.Retry, at = ReasonRetry, args.Retry+1, now.Add(f.opts.Backoff(args.Retry+1))
		default:
			if at = f.nextScheduled(t, now); at.IsZero() {
				return nil
			}
			a.Reason = ReasonScheduled
		}
		return &river.InsertManyParams{Args: a, InsertOpts: &river.InsertOpts{ScheduledAt: at, Queue: f.opts.Queue, UniqueOpts: uniqueOpts()}}
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	if err := f.eng.finish(fctx, job, rec, next); err != nil {
		log.ErrorContext(ctx, "fleet: recording the run and scheduling the next one; River retries the job", "err", err)
		return err
	}
	return nil
}

// run opens the tenant's sync and runs it, under RunTimeout and the
// shutdown rules: interrupted reports a run that shutdown canceled before
// it applied anything.
func (w *worker) run(ctx context.Context, id string) (res *usersync.Result, err error, interrupted bool) {
	f := w.f
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.opts.RunTimeout)
	defer cancel()
	r := &run{cancel: cancel}
	if !f.track(r) {
		return nil, nil, true
	}
	defer f.untrack(r)
	// River cancels ctx when the job is canceled: like shutdown, that
	// stops a run that is not applying yet.
	defer context.AfterFunc(ctx, func() { r.stop() })()

	s, err := f.tenants.Open(rctx, id)
	if err == nil {
		res, err = r.call(rctx, s)
		if s.Close != nil {
			if cerr := s.Close(); cerr != nil {
				f.log.WarnContext(ctx, "fleet: closing the sync's parts", "tenant", id, "err", cerr)
			}
		}
	}
	return res, err, r.interrupted()
}

// track records a run in progress, unless shutdown began.
func (f *Fleet) track(r *run) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopping {
		return false
	}
	f.runs[r] = struct{}{}
	return true
}

func (f *Fleet) untrack(r *run) {
	f.mu.Lock()
	delete(f.runs, r)
	f.mu.Unlock()
}

// A run is one sync in progress, which shutdown cancels unless its plan is
// ready, as usersync.Runner does.
type run struct {
	cancel context.CancelFunc

	mu       sync.Mutex
	applying bool // the plan is ready: canceling now would apply it in part
	stopping bool // shutdown began; the run may not start applying
}

// call runs the Func, or a copy of the Pipeline that tells r when its plan
// is ready.
func (r *run) call(ctx context.Context, s *Sync) (*usersync.Result, error) {
	switch {
	case s.Func != nil:
		r.planned() // for all the fleet knows, a Func applies from the start
		return s.Func(ctx)
	case s.Pipeline != nil:
		p := *s.Pipeline
		p.Reporter = phaseReporter{next: p.Reporter, r: r}
		return p.Run(ctx)
	}
	return nil, errors.New("fleet: Tenants.Open returned a Sync with neither Pipeline nor Func")
}

func (r *run) planned() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stopping {
		r.applying = true
	}
}

// stop cancels the run unless it is applying, and reports whether it is.
func (r *run) stop() (applying bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopping = true
	if !r.applying {
		r.cancel()
	}
	return r.applying
}

func (r *run) interrupted() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopping && !r.applying
}

// phaseReporter passes events on, and tells its run when the plan is ready.
type phaseReporter struct {
	next usersync.Reporter
	r    *run
}

func (p phaseReporter) Report(ctx context.Context, e usersync.Event) error {
	if e.Kind == usersync.PlanReady {
		p.r.planned()
	}
	if p.next == nil {
		return nil
	}
	return p.next.Report(ctx, e)
}

// fill records a run's outcome.
func (rec *record) fill(res *usersync.Result, err error, class Class) {
	rec.status = "failed"
	if res != nil {
		rec.status = res.Status.String()
		rec.applied = res.Applied.Total()
		rec.failed = len(res.Failed)
		rec.rejected = res.RejectedTotal
	}
	if err != nil {
		rec.class = class.String()
		rec.err = err.Error()
		if len(rec.err) > maxErrorText {
			n := maxErrorText
			for n > 0 && rec.err[n]&0xC0 == 0x80 { // not within a character
				n--
			}
			rec.err = rec.err[:n] + "…"
		}
	}
}

func logRun(ctx context.Context, log *slog.Logger, rec *record, class Class, err error) {
	attrs := []slog.Attr{slog.String("status", rec.status), slog.Duration("took", time.Since(rec.started)),
		slog.Int("applied", rec.applied), slog.Int("failed", rec.failed)}
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("class", class.String()), slog.Any("err", err))
	}
	log.LogAttrs(ctx, level, "fleet: sync finished", attrs...)
}

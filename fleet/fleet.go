package fleet

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/usersync/usersync"
)

// Defaults for Options' fields.
const (
	DefaultQueue      = "usersync"
	DefaultMaxWorkers = 10
	DefaultRunTimeout = time.Hour
	DefaultMaxRetries = 5
	DefaultRefresh    = time.Minute
)

// JobKind is the River kind of a tenant's sync job.
const JobKind = "usersync_sync"

// The reasons a job runs, in SyncArgs.Reason and TenantStatus.
const (
	ReasonScheduled = "scheduled"
	ReasonRetry     = "retry"
	ReasonTriggered = "triggered"
	ReasonUpload    = "upload"
)

// SyncArgs are the River job arguments of one run of a tenant. A tenant
// has at most one job that is not finished (River's unique jobs, by Tenant
// only): the run in progress or the next one.
type SyncArgs struct {
	Tenant string `json:"tenant" river:"unique"`
	// Reason says why the job runs: ReasonScheduled, ReasonRetry,
	// ReasonTriggered, ReasonUpload or what a Trigger said.
	Reason string `json:"reason,omitempty"`
	// Retry counts the transient failures since the last run that did not
	// fail for a transient reason.
	Retry int `json:"retry,omitempty"`
	// Version is the tenant's settings version the job was scheduled from.
	Version string `json:"version,omitempty"`
}

// Kind returns JobKind.
func (SyncArgs) Kind() string { return JobKind }

// uniqueStates are the states in which a tenant's job blocks another.
var uniqueStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}

// Options tunes a Fleet. A nil *Options, like the zero value, gives the
// defaults each field names.
type Options struct {
	// Queue is the River queue of the fleet's jobs; DefaultQueue if "".
	Queue string
	// MaxWorkers bounds the runs this process does at once;
	// DefaultMaxWorkers if 0.
	MaxWorkers int
	// RunTimeout bounds each run: past it, the run is canceled (between
	// two changes if it is applying) and counts as a transient failure.
	// DefaultRunTimeout if 0.
	RunTimeout time.Duration
	// RescueAfter is how long a job may be running before River takes its
	// worker for dead (killed, its machine gone) and runs it again
	// (River's RescueStuckJobsAfter). It must be longer than RunTimeout;
	// 0 means RunTimeout + 10 minutes. River's rescuer looks every 30
	// seconds.
	RescueAfter time.Duration
	// Jitter delays each scheduled run by a random duration up to Jitter,
	// so that thousands of tenants due at 00:15 do not all start at once.
	Jitter time.Duration
	// MaxRetries bounds the retries after transient failures, before the
	// tenant waits for its next scheduled run; DefaultMaxRetries if 0,
	// none if negative.
	MaxRetries int
	// Backoff returns the wait before retry n (1, 2, ...); nil means 30s,
	// doubling each time, up to 30 minutes, with a random part.
	Backoff func(n int) time.Duration
	// Classify says which failures are transient; nil means Classify.
	Classify func(error) Class
	// Refresh is how often the Tenants are listed, to schedule tenants
	// added and reschedule those changed; DefaultRefresh if 0.
	Refresh time.Duration
	// PollInterval is how often River looks for due jobs besides being
	// notified (River's FetchPollInterval); 0 means River's default (1s).
	PollInterval time.Duration
	// ID names this worker in River and in TenantStatus.Worker; "" lets
	// River make one from the host name and time.
	ID string
	// NoMigrate skips migrating the database in NewPostgres and
	// NewSQLite.
	NoMigrate bool
	// OnResult, if set, is called after each run of a tenant with what it
	// returned (res is nil when the run could not start), from the
	// goroutine of the run.
	OnResult func(tenant string, res *usersync.Result, err error)
	// Logger receives what the fleet does; nil means none. River's own
	// warnings and errors go to it too.
	Logger *slog.Logger
}

// A Fleet runs the syncs of many tenants as River jobs: each tenant's runs
// at the times of its Schedule, retries after transient failures, and runs
// triggered by uploads and administrators. Every process that runs a Fleet
// over the same database shares the work.
type Fleet struct {
	tenants Tenants
	opts    Options
	log     *slog.Logger
	eng     engine

	mu       sync.Mutex
	cache    map[string]Tenant // by ID, from the last List
	runs     map[*run]struct{} // in progress in this process
	stopping bool
}

// NewPostgres returns a Fleet over a PostgreSQL database, through pool, and
// migrates the database first (River's tables and the fleet's own) unless
// opts.NoMigrate is set. Fleets in several processes, on several machines,
// share the work through the database.
func NewPostgres(ctx context.Context, pool *pgxpool.Pool, tenants Tenants, opts *Options) (*Fleet, error) {
	f, cfg, err := newFleet(tenants, opts)
	if err != nil {
		return nil, err
	}
	if !f.opts.NoMigrate {
		if err := MigratePostgres(ctx, pool); err != nil {
			return nil, err
		}
	}
	if f.eng, err = newPostgresEngine(pool, cfg, f.opts.Queue); err != nil {
		return nil, err
	}
	return f, nil
}

// NewSQLite returns a Fleet over an SQLite database, for one process, and
// migrates it first unless opts.NoMigrate is set. db must be opened with a
// database/sql SQLite driver (modernc.org/sqlite), and should allow one
// connection (db.SetMaxOpenConns(1)), as River's SQLite driver advises.
func NewSQLite(ctx context.Context, db *sql.DB, tenants Tenants, opts *Options) (*Fleet, error) {
	f, cfg, err := newFleet(tenants, opts)
	if err != nil {
		return nil, err
	}
	if !f.opts.NoMigrate {
		if err := MigrateSQLite(ctx, db); err != nil {
			return nil, err
		}
	}
	cfg.PollOnly = true
	if f.eng, err = newSQLiteEngine(db, cfg, f.opts.Queue); err != nil {
		return nil, err
	}
	return f, nil
}

func newFleet(tenants Tenants, opts *Options) (*Fleet, *river.Config, error) {
	if tenants == nil {
		return nil, nil, errors.New("fleet: nil Tenants")
	}
	f := &Fleet{tenants: tenants, runs: map[*run]struct{}{}}
	if opts != nil {
		f.opts = *opts
	}
	o := &f.opts
	o.Queue = cmp.Or(o.Queue, DefaultQueue)
	o.MaxWorkers = cmp.Or(o.MaxWorkers, DefaultMaxWorkers)
	o.RunTimeout = cmp.Or(o.RunTimeout, DefaultRunTimeout)
	o.RescueAfter = cmp.Or(o.RescueAfter, o.RunTimeout+10*time.Minute)
	o.MaxRetries = cmp.Or(o.MaxRetries, DefaultMaxRetries)
	o.Refresh = cmp.Or(o.Refresh, DefaultRefresh)
	if o.Classify == nil {
		o.Classify = Classify
	}
	if o.Backoff == nil {
		o.Backoff = defaultBackoff
	}
	switch {
	case o.MaxWorkers < 0, o.RunTimeout < 0, o.Jitter < 0, o.Refresh < 0:
		return nil, nil, errors.New("fleet: Options: MaxWorkers, RunTimeout, Jitter and Refresh must not be negative")
	case o.RescueAfter <= o.RunTimeout:
		return nil, nil, fmt.Errorf("fleet: Options.RescueAfter (%v) must be longer than RunTimeout (%v)", o.RescueAfter, o.RunTimeout)
	}
	f.log = o.Logger
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &worker{f: f}); err != nil {
		return nil, nil, err
	}
	cfg := &river.Config{
		ID:                   o.ID,
		Queues:               map[string]river.QueueConfig{o.Queue: {MaxWorkers: o.MaxWorkers}},
		Workers:              workers,
		JobTimeout:           o.RescueAfter, // the runs themselves end by RunTimeout (worker.run)
		RescueStuckJobsAfter: o.RescueAfter,
		FetchPollInterval:    o.PollInterval,
		FetchCooldown:        min(o.PollInterval, 100*time.Millisecond),
		MaxAttempts:          1000,                                // failures are retried by the fleet; River's attempts count rescues
		Logger:               slog.New(warnings{f.log.Handler()}), // River's own Info logs are chatty
	}
	if o.PollInterval == 0 {
		cfg.FetchCooldown = 0
	}
	return f, cfg, nil
}

// defaultBackoff waits 30s before the first retry, doubling up to 30
// minutes, plus up to a quarter more at random.
func defaultBackoff(n int) time.Duration {
	d := 30 * time.Second << min(max(n-1, 0), 6)
	d = min(d, 30*time.Minute)
	return d + rand.N(d/4+1)
}

// Run works the fleet's jobs until ctx is done, and lists the Tenants every
// Options.Refresh to schedule new and changed tenants. It then shuts down
// as usersync.Runner does: runs still planning are canceled (another
// worker, or this one when it starts again, runs them at once), runs
// applying their plans finish (within RunTimeout), and Run returns nil.
func (f *Fleet) Run(ctx context.Context) error {
	if err := f.refresh(ctx); err != nil {
		return err
	}
	if err := f.eng.start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("fleet: starting River: %w", err)
	}
	f.log.InfoContext(ctx, "fleet: worker started", "worker", f.eng.clientID(), "queue", f.opts.Queue, "max_workers", f.opts.MaxWorkers)
	tick := time.NewTicker(f.opts.Refresh)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return f.shutdown()
		case <-tick.C:
			if err := f.refresh(ctx); err != nil && ctx.Err() == nil {
				f.log.ErrorContext(ctx, "fleet: refreshing the tenants", "err", err)
			}
		}
	}
}

// shutdown cancels the runs still planning, and stops River, which waits
// for the others.
func (f *Fleet) shutdown() error {
	f.mu.Lock()
	f.stopping = true
	n := 0
	for r := range f.runs {
		if r.stop() {
			n++
		}
	}
	f.mu.Unlock()
	f.log.Info("fleet: shutting down: runs still planning are canceled, runs applying finish", "applying", n)
	if err := f.eng.stop(context.Background()); err != nil {
		return fmt.Errorf("fleet: stopping River: %w", err)
	}
	f.log.Info("fleet: worker stopped")
	return nil
}

// Trigger asks for a run of tenant id now, for a reason such as
// ReasonTriggered ("sync now") or ReasonUpload: any worker of the fleet
// picks it up. If the tenant's next run is waiting, it runs now instead;
// if a run is in progress, one more follows it. Like the Runner's
// triggers, any number of triggers during a run bring one more run.
func (f *Fleet) Trigger(ctx context.Context, id, reason string) error {
	if err := f.checkTenant(ctx, id); err != nil {
		return err
	}
	return f.eng.trigger(ctx, SyncArgs{Tenant: id, Reason: cmp.Or(reason, ReasonTriggered)})
}

// TriggerTx is Trigger inside the host's transaction tx, on the fleet's
// database: the run is asked for if and when tx commits, with whatever
// else the host writes (an approval, new settings). TTx is the fleet's
// driver's: pgx.Tx for NewPostgres, *sql.Tx for NewSQLite.
func TriggerTx[TTx any](ctx context.Context, f *Fleet, tx TTx, id, reason string) error {
	te, ok := f.eng.(txEngine[TTx])
	if !ok {
		return fmt.Errorf("fleet: TriggerTx: a %T is not a transaction of the fleet's database driver", tx)
	}
	if err := f.checkTenant(ctx, id); err != nil {
		return err
	}
	return te.triggerTx(ctx, tx, SyncArgs{Tenant: id, Reason: cmp.Or(reason, ReasonTriggered)})
}

// checkTenant fails for a tenant that Tenants does not list.
func (f *Fleet) checkTenant(ctx context.Context, id string) error {
	_, ok, err := f.tenant(ctx, id)
	switch {
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf("fleet: tenant %q: %w", id, ErrUnknownTenant)
	}
	return nil
}

// tenant returns tenant id from the last List, listing again if it is not
// there (a tenant just added).
func (f *Fleet) tenant(ctx context.Context, id string) (Tenant, bool, error) {
	f.mu.Lock()
	t, ok := f.cache[id]
	f.mu.Unlock()
	if ok {
		return t, true, nil
	}
	if _, err := f.list(ctx); err != nil {
		return Tenant{}, false, fmt.Errorf("fleet: listing the tenants: %w", err)
	}
	f.mu.Lock()
	t, ok = f.cache[id]
	f.mu.Unlock()
	return t, ok, nil
}

// list lists the Tenants and caches them.
func (f *Fleet) list(ctx context.Context) ([]Tenant, error) {
	ts, err := f.tenants.List(ctx)
	if err != nil {
		return nil, err
	}
	cache := make(map[string]Tenant, len(ts))
	for _, t := range ts {
		cache[t.ID] = t
	}
	f.mu.Lock()
	f.cache = cache
	f.mu.Unlock()
	return ts, nil
}

// refresh lists the Tenants, schedules the first run of each tenant new to
// the database, and reschedules the waiting run of each tenant whose
// settings changed. A tenant removed is forgotten; its waiting job, when
// due, finds it gone and is canceled.
func (f *Fleet) refresh(ctx context.Context) error {
	ts, err := f.list(ctx)
	if err != nil {
		return fmt.Errorf("fleet: listing the tenants: %w", err)
	}
	db := f.eng.sqlDB()
	known, err := versions(ctx, db)
	if err != nil {
		return fmt.Errorf("fleet: reading the tenants' versions: %w", err)
	}
	now := time.Now()
	var params []river.InsertManyParams
	var changed []Tenant
	for _, t := range ts {
		v, ok := known[t.ID]
		delete(known, t.ID)
		if ok && v == t.Version {
			continue
		}
		changed = append(changed, t)
		if at := f.nextScheduled(t, now); !at.IsZero() {
			params = append(params, river.InsertManyParams{
				Args:       SyncArgs{Tenant: t.ID, Reason: ReasonScheduled, Version: t.Version},
				InsertOpts: &river.InsertOpts{ScheduledAt: at, Queue: f.opts.Queue, UniqueOpts: uniqueOpts()},
			})
		}
	}
	for len(params) > 0 {
		batch := params[:min(len(params), 500)]
		params = params[len(batch):]
		res, err := f.eng.insertMany(ctx, batch)
		if err != nil {
			return fmt.Errorf("fleet: scheduling tenants: %w", err)
		}
		for i, r := range res {
			if r.UniqueSkippedAsDuplicate {
				f.reschedule(ctx, r.Job, batch[i])
			}
		}
	}
	if err := recordVersions(ctx, db, changed); err != nil {
		return fmt.Errorf("fleet: recording the tenants' versions: %w", err)
	}
	for id := range known {
		if _, err := db.ExecContext(ctx, sqlForget, id); err != nil {
			return fmt.Errorf("fleet: forgetting tenant %s: %w", id, err)
		}
		f.log.InfoContext(ctx, "fleet: tenant removed", "tenant", id)
	}
	if len(changed) > 0 {
		f.log.InfoContext(ctx, "fleet: tenants scheduled", "new_or_changed", len(changed), "tenants", len(ts))
	}
	return nil
}

// reschedule replaces a tenant's waiting scheduled job, computed from its
// old settings, with p. A job running, retrying or triggered is left
// alone: its end schedules the next run from the new settings.
func (f *Fleet) reschedule(ctx context.Context, job *rivertype.JobRow, p river.InsertManyParams) {
	args := p.Args.(SyncArgs)
	var old SyncArgs
	if err := unmarshalArgs(job.EncodedArgs, &old); err != nil || job.State != rivertype.JobStateScheduled ||
		old.Reason != ReasonScheduled || old.Version == args.Version {
		return // another worker scheduled it from the same settings, or it is not a scheduled run
	}
	if err := f.eng.jobDelete(ctx, job.ID); err != nil {
		f.log.WarnContext(ctx, "fleet: rescheduling a changed tenant", "tenant", args.Tenant, "err", err)
		return
	}
	if _, err := f.eng.insertMany(ctx, []river.InsertManyParams{p}); err != nil {
		f.log.ErrorContext(ctx, "fleet: rescheduling a changed tenant", "tenant", args.Tenant, "err", err)
	}
}

// nextScheduled returns the tenant's next scheduled time after now, jitter
// added; zero if it has none.
func (f *Fleet) nextScheduled(t Tenant, now time.Time) time.Time {
	if t.Schedule == nil {
		return time.Time{}
	}
	at := t.Schedule.Next(now)
	if at.IsZero() || !at.After(now) {
		return time.Time{}
	}
	if f.opts.Jitter > 0 {
		at = at.Add(rand.N(f.opts.Jitter))
	}
	return at
}

func uniqueOpts() river.UniqueOpts {
	return river.UniqueOpts{ByArgs: true, ByState: uniqueStates}
}

// warnings passes on the records of Warn level and above.
type warnings struct{ slog.Handler }

func (w warnings) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && w.Handler.Enabled(ctx, l)
}

func (w warnings) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnings{w.Handler.WithAttrs(attrs)}
}

func (w warnings) WithGroup(name string) slog.Handler { return warnings{w.Handler.WithGroup(name)} }

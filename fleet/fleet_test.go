package fleet_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/fleet"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
	"github.com/usersync/usersync/source/memsource"
	"github.com/usersync/usersync/source/sftpserver"
)

// memTenants are tenants in memory, whose runs a test provides.
type memTenants struct {
	mu   sync.Mutex
	ts   []fleet.Tenant
	open func(id string) (*fleet.Sync, error)
}

func (m *memTenants) List(context.Context) ([]fleet.Tenant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.ts), nil
}

func (m *memTenants) Open(_ context.Context, id string) (*fleet.Sync, error) { return m.open(id) }

func (m *memTenants) set(ts ...fleet.Tenant) {
	m.mu.Lock()
	m.ts = ts
	m.mu.Unlock()
}

// sqliteFleet makes a fleet over a new SQLite database; start runs it
// until the returned stop is called, which waits for Run to return.
type sqliteFleet struct {
	t    *testing.T
	path string
	ts   fleet.Tenants
	opts fleet.Options
}

func newSQLiteFleet(t *testing.T, ts fleet.Tenants, opts *fleet.Options) *sqliteFleet {
	sf := &sqliteFleet{t: t, path: filepath.Join(t.TempDir(), "fleet.db"), ts: ts}
	if opts != nil {
		sf.opts = *opts
	}
	sf.opts.PollInterval = 20 * time.Millisecond
	return sf
}

func (sf *sqliteFleet) open() *fleet.Fleet {
	sf.t.Helper()
	db, err := sqlite.Open(sf.path)
	if err != nil {
		sf.t.Fatal(err)
	}
	sf.t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	f, err := fleet.NewSQLite(context.Background(), db, sf.ts, &sf.opts)
	if err != nil {
		sf.t.Fatal(err)
	}
	return f
}

// start runs f until stop; stop returns when Run did.
func start(t *testing.T, f *fleet.Fleet) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return")
		}
	}
	t.Cleanup(stop)
	return stop
}

func status(t *testing.T, f *fleet.Fleet, id string) fleet.TenantStatus {
	t.Helper()
	st, err := f.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("Status has no tenant %s: %+v", id, st)
	return fleet.TenantStatus{}
}

func wait(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// Triggers during a run bring one more run after it, as the Runner's do.
func TestTriggerDuringRun(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	var runs atomic.Int32
	ts := &memTenants{ts: []fleet.Tenant{{ID: "a", Version: "1"}}, open: func(string) (*fleet.Sync, error) {
		return &fleet.Sync{Func: func(context.Context) (*usersync.Result, error) {
			runs.Add(1)
			started <- struct{}{}
			<-release
			return &usersync.Result{Status: usersync.Succeeded}, nil
		}}, nil
	}}
	f := newSQLiteFleet(t, ts, nil).open()
	start(t, f)
	ctx := context.Background()
	if err := f.Trigger(ctx, "a", ""); err != nil {
		t.Fatal(err)
	}
	wait(t, "the triggered run", started)
	for range 2 {
		if err := f.Trigger(ctx, "a", ""); err != nil {
			t.Fatal(err)
		}
	}
	if s := status(t, f, "a"); !s.Running || s.Triggered != 2 {
		t.Errorf("during the run: %+v, want running with 2 triggers", s)
	}
	release <- struct{}{}
	wait(t, "the run the triggers asked for", started)
	release <- struct{}{}
	select {
	case <-started:
		t.Fatal("a third run started: triggers during a run bring one more run, not one each")
	case <-time.After(time.Second):
	}
	if n := runs.Load(); n != 2 {
		t.Errorf("%d runs, want 2", n)
	}
	if err := f.Trigger(ctx, "nobody", ""); !errors.Is(err, fleet.ErrUnknownTenant) {
		t.Errorf("Trigger(nobody): %v, want ErrUnknownTenant", err)
	}
}

// A trigger makes a tenant's waiting scheduled run run now; the run after
// is scheduled again.
func TestTriggerScheduled(t *testing.T) {
	ran := make(chan struct{}, 1)
	loc := time.FixedZone("here", 0)
	now := time.Now().In(loc)
	daily := usersync.Daily((now.Hour()+12)%24, 0, loc)
	ts := &memTenants{ts: []fleet.Tenant{{ID: "a", Version: "1", Schedule: daily}}, open: func(string) (*fleet.Sync, error) {
		return &fleet.Sync{Func: func(context.Context) (*usersync.Result, error) {
			ran <- struct{}{}
			return &usersync.Result{Status: usersync.Succeeded}, nil
		}}, nil
	}}
	f := newSQLiteFleet(t, ts, nil).open()
	start(t, f)
	want := daily.Next(time.Now())
	waitUntil(t, "the first scheduled run", func() bool {
		s := status(t, f, "a")
		return s.Next.Equal(want) && s.NextReason == fleet.ReasonScheduled
	})
	if err := f.Trigger(context.Background(), "a", fleet.ReasonUpload); err != nil {
		t.Fatal(err)
	}
	wait(t, "the triggered run", ran)
	waitUntil(t, "the next scheduled run", func() bool {
		s := status(t, f, "a")
		return s.Last.Status == "succeeded" && s.Last.Reason == fleet.ReasonScheduled && s.Next.Equal(want)
	})
}

// A tenant's settings changed: its waiting run moves to its new schedule.
func TestTenantChanged(t *testing.T) {
	loc := time.FixedZone("here", 0)
	h := (time.Now().In(loc).Hour() + 12) % 24
	first, second := usersync.Daily(h, 0, loc), usersync.Daily(h, 30, loc)
	ts := &memTenants{ts: []fleet.Tenant{{ID: "a", Version: "1", Schedule: first}}, open: func(string) (*fleet.Sync, error) {
		return nil, errors.New("no run expected")
	}}
	sf := newSQLiteFleet(t, ts, &fleet.Options{Refresh: 100 * time.Millisecond})
	f := sf.open()
	start(t, f)
	waitUntil(t, "the first schedule", func() bool { return status(t, f, "a").Next.Equal(first.Next(time.Now())) })
	ts.set(fleet.Tenant{ID: "a", Version: "2", Schedule: second})
	waitUntil(t, "the new schedule", func() bool { return status(t, f, "a").Next.Equal(second.Next(time.Now())) })
	ts.set()
	waitUntil(t, "the tenant's removal", func() bool {
		st, err := f.Status(context.Background())
		return err == nil && len(st) == 1 && !st[0].Listed
	})
}

// Shutting down cancels a run that is planning: it applies nothing, and
// runs again at once when a worker starts.
func TestShutdownCancelsPlanning(t *testing.T) {
	listing := make(chan struct{}, 1)
	var block atomic.Bool
	block.Store(true)
	m := mapper(t)
	ts := &memTenants{ts: []fleet.Tenant{{ID: "a", Version: "1"}}, open: func(string) (*fleet.Sync, error) {
		return &fleet.Sync{Pipeline: &usersync.Pipeline{
			Source:     blockingSource{Source: memsource.New(), listing: listing, block: &block},
			Mapper:     m,
			Reconciler: reconcile.New(nil),
			Sink:       memsink.New(),
		}}, nil
	}}
	var results atomic.Int32
	sf := newSQLiteFleet(t, ts, &fleet.Options{OnResult: func(string, *usersync.Result, error) { results.Add(1) }})
	f := sf.open()
	stop := start(t, f)
	if err := f.Trigger(context.Background(), "a", ""); err != nil {
		t.Fatal(err)
	}
	wait(t, "the run's listing", listing)
	stop() // returns once the run is canceled
	if n := results.Load(); n != 0 {
		t.Errorf("the canceled run was reported %d times as finished", n)
	}
	if s := status(t, f, "a"); s.Running || s.Next.IsZero() || time.Until(s.Next) > time.Second || s.Last.Status != "" {
		t.Errorf("after shutdown: %+v, want a run due now and none recorded", s)
	}
	block.Store(false)
	f2 := sf.open()
	start(t, f2)
	waitUntil(t, "the run again", func() bool { return status(t, f2, "a").Last.Status == "nothing to do" })
}

// Shutting down lets a run that is applying (a Func, for all the fleet
// knows) finish.
func TestShutdownLetsApplyingFinish(t *testing.T) {
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	var finished atomic.Bool
	ts := &memTenants{ts: []fleet.Tenant{{ID: "a", Version: "1"}}, open: func(string) (*fleet.Sync, error) {
		return &fleet.Sync{Func: func(ctx context.Context) (*usersync.Result, error) {
			started <- struct{}{}
			<-release
			finished.Store(ctx.Err() == nil)
			return &usersync.Result{Status: usersync.Succeeded}, nil
		}}, nil
	}}
	f := newSQLiteFleet(t, ts, nil).open()
	stop := start(t, f)
	if err := f.Trigger(context.Background(), "a", ""); err != nil {
		t.Fatal(err)
	}
	wait(t, "the run", started)
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Run returned while a run was applying")
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	wait(t, "Run to return", stopped)
	if !finished.Load() {
		t.Error("the applying run's ctx was canceled")
	}
	if s := status(t, f, "a"); s.Last.Status != "succeeded" || s.Running {
		t.Errorf("after shutdown: %+v, want the run recorded as succeeded", s)
	}
}

// An upload to the drop box asks for a run.
func TestOnUpload(t *testing.T) {
	ran := make(chan struct{}, 1)
	ts := &memTenants{ts: []fleet.Tenant{{ID: "a", Version: "1"}}, open: func(string) (*fleet.Sync, error) {
		return &fleet.Sync{Func: func(context.Context) (*usersync.Result, error) {
			ran <- struct{}{}
			return &usersync.Result{Status: usersync.Succeeded}, nil
		}}, nil
	}}
	f := newSQLiteFleet(t, ts, nil).open()
	start(t, f)
	f.OnUpload(context.Background())(sftpserver.Upload{TenantID: "a", Name: "users.csv"})
	wait(t, "the upload's run", ran)
	waitUntil(t, "the upload's run recorded", func() bool { return status(t, f, "a").Last.Reason == fleet.ReasonUpload })
}

// A paused tenant's run is skipped; a removed tenant's job is canceled.
func TestPausedAndRemoved(t *testing.T) {
	ts := &memTenants{ts: []fleet.Tenant{
		{ID: "paused", Version: "1", Pause: func(time.Time) bool { return true }},
		{ID: "gone", Version: "1"},
	}, open: func(id string) (*fleet.Sync, error) {
		t.Errorf("tenant %s was opened", id)
		return nil, errors.New("no run expected")
	}}
	sf := newSQLiteFleet(t, ts, nil)
	f := sf.open()
	ctx := context.Background()
	for _, id := range []string{"paused", "gone"} {
		if err := f.Trigger(ctx, id, ""); err != nil {
			t.Fatal(err)
		}
	}
	ts.set(ts.ts[0])
	start(t, f)
	waitUntil(t, "the paused run", func() bool { return status(t, f, "paused").Last.Status == "paused" })
	waitUntil(t, "the removed tenant's job canceled", func() bool {
		st, err := f.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return len(st) == 1 && st[0].ID == "paused" // no job, no status
	})
}

// Transient failures are retried up to MaxRetries, then the tenant waits
// for its next run; the status says why.
func TestRetriesExhausted(t *testing.T) {
	var runs atomic.Int32
	ts := &memTenants{ts: []fleet.Tenant{{ID: "a", Version: "1"}}, open: func(string) (*fleet.Sync, error) {
		runs.Add(1)
		return nil, fleet.ErrTransient
	}}
	f := newSQLiteFleet(t, ts, &fleet.Options{MaxRetries: 1, Backoff: func(int) time.Duration { return 10 * time.Millisecond }}).open()
	start(t, f)
	if err := f.Trigger(context.Background(), "a", ""); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the retry", func() bool { s := status(t, f, "a"); return s.Last.Retry == 1 && s.Next.IsZero() })
	time.Sleep(200 * time.Millisecond)
	s := status(t, f, "a")
	if n := runs.Load(); n != 2 || s.Last.Class != "transient" || s.Last.Reason != fleet.ReasonRetry || s.Last.Runs != 2 {
		t.Errorf("%d runs, status %+v; want 2 runs, the last a transient failure of the retry", n, s)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// blockingSource lists nothing; while block is set, its List waits for
// ctx to be canceled.
type blockingSource struct {
	*memsource.Source
	listing chan<- struct{}
	block   *atomic.Bool
}

func (s blockingSource) List(ctx context.Context) ([]usersync.FileInfo, error) {
	if !s.block.Load() {
		return nil, nil
	}
	s.listing <- struct{}{}
	<-ctx.Done()
	return nil, ctx.Err()
}

func mapper(t *testing.T) usersync.Mapper {
	m, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{{Name: "id", Header: "ID", Role: csvmap.Key}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TriggerTx asks for a run if and when the host's transaction commits.
func TestTriggerTx(t *testing.T) {
	ts := &memTenants{ts: []fleet.Tenant{{ID: "a", Version: "1"}}, open: func(string) (*fleet.Sync, error) {
		return nil, errors.New("no run expected")
	}}
	sf := newSQLiteFleet(t, ts, nil)
	db, err := sqlite.Open(sf.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	f, err := fleet.NewSQLite(ctx, db, ts, nil)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := fleet.TriggerTx(ctx, f, tx, "a", "approved"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if s := status(t, f, "a"); !s.Next.IsZero() {
		t.Errorf("after a rollback: %+v, want no run", s)
	}
	if tx, err = db.BeginTx(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := fleet.TriggerTx(ctx, f, tx, "a", "approved"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if s := status(t, f, "a"); s.Next.IsZero() || s.NextReason != "approved" {
		t.Errorf("after a commit: %+v, want a run for the approval", s)
	}
	if err := fleet.TriggerTx(ctx, f, "not a tx", "a", ""); err == nil {
		t.Error("TriggerTx took a string for a transaction")
	}
}

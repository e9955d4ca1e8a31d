package usersync_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
	_ "time/tzdata" // the tests' time zones, on machines without a zoneinfo database

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/sink/memsink"
)

// funcRunner returns a Runner on a fake clock whose Func reports each run's
// time on the returned channel.
func funcRunner(clk *fakeClock) (*usersync.Runner, <-chan time.Time) {
	ran := make(chan time.Time, 100)
	r := &usersync.Runner{Clock: clk, Func: func(context.Context) (*usersync.Result, error) {
		ran <- clk.Now()
		return &usersync.Result{Status: usersync.NothingToDo}, nil
	}}
	return r, ran
}

// runFires runs a Runner on s from start, and returns the times of its
// first n runs, checking that each ran when its timer fired.
func runFires(t *testing.T, s usersync.Schedule, start time.Time, n int) []time.Time {
	t.Helper()
	clk := newFakeClock(start)
	r, ran := funcRunner(clk)
	r.Schedule = s
	stop := started(t, r.Run)
	var got []time.Time
	for range n {
		at := clk.step(t, 1)
		got = append(got, recv(t, ran, "a run"))
		require.Equal(t, at, got[len(got)-1], "the run starts when its timer fires")
	}
	require.NoError(t, stop())
	return got
}

// Daily at 00:15 America/Chicago through both 2026 changes of daylight
// saving time: once per local day, at 00:15 local time each day.
func TestRunnerDailyAcrossDST(t *testing.T) {
	chicago := mustLoad(t, "America/Chicago")
	got := runFires(t, usersync.Daily(0, 15, chicago), time.Date(2026, 1, 1, 12, 0, 0, 0, chicago), 364)
	for i, f := range got {
		want := time.Date(2026, 1, 2+i, 0, 15, 0, 0, chicago)
		require.Equal(t, local(want, chicago), local(f, chicago), "run %d", i)
	}
	assert.Equal(t, "2026-03-08 00:15 CST", local(got[65], chicago))
	assert.Equal(t, "2026-03-09 00:15 CDT", local(got[66], chicago))
	assert.Equal(t, "2026-11-01 00:15 CDT", local(got[303], chicago))
	assert.Equal(t, "2026-11-02 00:15 CST", local(got[304], chicago))
}

// Scheduled times missed while the machine slept make one run, not a
// burst, and the schedule goes on from the time it woke.
func TestRunnerMissedFiresMakeOneRun(t *testing.T) {
	clk := newFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	r, ran := funcRunner(clk)
	r.Schedule = usersync.Daily(0, 15, time.UTC)
	started(t, r.Run)
	clk.step(t, 1)
	recv(t, ran, "the first run")

	clk.set(time.Date(2026, 5, 5, 9, 0, 0, 0, time.UTC)) // three nights missed
	assert.Equal(t, time.Date(2026, 5, 5, 9, 0, 0, 0, time.UTC), recv(t, ran, "the late run"))
	assert.Equal(t, time.Date(2026, 5, 6, 0, 15, 0, 0, time.UTC), clk.next(t, 1), "the next run")
	assert.Empty(t, ran)
}

// A trigger during a long run, and a scheduled time, start no second run
// beside it, and bring one run after it.
func TestRunnerCoalescesRequestsDuringARun(t *testing.T) {
	clk := newFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	lg := newLogs()
	var runs, active, most atomic.Int32
	begun := make(chan int32, 10)
	release := make(chan struct{})
	r := &usersync.Runner{
		Schedule: usersync.Every(time.Hour),
		Clock:    clk,
		Logger:   lg.logger(),
		Func: func(ctx context.Context) (*usersync.Result, error) {
			n := active.Add(1)
			defer active.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			i := runs.Add(1)
			begun <- i
			if i == 1 {
				<-release
			}
			return &usersync.Result{Status: usersync.Succeeded}, nil
		},
	}
	r.Trigger()
	stop := started(t, r.Run)
	require.Equal(t, int32(1), recv(t, begun, "the first run"))

	r.Trigger()
	r.Trigger()
	r.Trigger()
	clk.step(t, 1) // the hourly run comes due
	clk.next(t, 1) // the Runner has taken it, and armed the next
	close(release)

	require.Equal(t, int32(2), recv(t, begun, "the run after"))
	lg.wait(t, "sync finished", 2)
	require.NoError(t, stop())
	assert.Equal(t, int32(2), runs.Load(), "one run after the first, for all that came during it")
	assert.Equal(t, int32(1), most.Load(), "never two runs at once")
}

// shutdownEnv is a Pipeline over in-memory parts whose Reconciler or Sink
// a test holds up, run by a Runner.
type shutdownEnv struct {
	*env
	r       *usersync.Runner
	logs    *logs
	results chan result
}

type result struct {
	res *usersync.Result
	err error
}

func newShutdownEnv(t *testing.T) *shutdownEnv {
	e := &shutdownEnv{env: newEnv(t), logs: newLogs(), results: make(chan result, 10)}
	e.put(t, "users.csv", day1)
	e.r = &usersync.Runner{
		Pipeline: e.p,
		Logger:   e.logs.logger(),
		OnResult: func(res *usersync.Result, err error) { e.results <- result{res, err} },
	}
	return e
}

// heldReconciler signals when it plans, and waits until its ctx is
// canceled. Then it fails, or with finish set, finishes the plan anyway,
// as a Reconciler that does not look at ctx would.
type heldReconciler struct {
	usersync.Reconciler
	planning chan struct{}
	finish   bool
}

func (h heldReconciler) Reconcile(ctx context.Context, feed *usersync.Feed, current usersync.Lister) (*usersync.Plan, error) {
	close(h.planning)
	<-ctx.Done()
	if !h.finish {
		return nil, ctx.Err()
	}
	return h.Reconciler.Reconcile(context.WithoutCancel(ctx), feed, current)
}

// Shutdown while the run plans cancels it; nothing is applied, also when
// the plan gets finished.
func TestRunnerShutdownWhilePlanning(t *testing.T) {
	for _, finish := range []bool{false, true} {
		t.Run(fmt.Sprintf("plan finished=%v", finish), func(t *testing.T) {
			e := newShutdownEnv(t)
			held := heldReconciler{Reconciler: e.p.Reconciler, planning: make(chan struct{}), finish: finish}
			e.p.Reconciler = held
			e.r.Trigger()
			stop := started(t, e.r.Run)
			recv(t, held.planning, "planning")
			require.NoError(t, stop())

			got := recv(t, e.results, "the run's result")
			require.ErrorIs(t, got.err, context.Canceled)
			assert.Equal(t, usersync.Failed, got.res.Status)
			assert.Zero(t, got.res.Applied.Total())
			assert.Empty(t, e.users(), "nothing applied")
			if finish {
				require.NotNil(t, got.res.Plan)
				assert.Len(t, synctest.Changes(t, got.res.Plan), 5, "the plan was ready, but shutdown came first")
			}
			assert.Equal(t, 1, e.logs.count("canceling the sync in progress before it applies anything"))
		})
	}
}

// gatedSink holds up its batch number at until released, and records
// whether any batch came with a canceled ctx.
type gatedSink struct {
	*memsink.Sink
	at       int32
	applying chan struct{}
	release  chan struct{}
	batches  atomic.Int32
	canceled atomic.Bool
}

func (g *gatedSink) ApplyBatch(ctx context.Context, cs []usersync.Change) []error {
	if g.batches.Add(1) == g.at {
		close(g.applying)
		<-g.release
	}
	if ctx.Err() != nil {
		g.canceled.Store(true)
	}
	return g.Sink.ApplyBatch(ctx, cs)
}

func gate(e *shutdownEnv, at int32) *gatedSink {
	g := &gatedSink{Sink: e.sink, at: at, applying: make(chan struct{}), release: make(chan struct{})}
	e.p.Sink = g
	e.p.BatchSize = 1
	return g
}

// Shutdown while the run applies its plan lets it finish: every change
// applies, and Run returns after.
func TestRunnerShutdownWhileApplying(t *testing.T) {
	e := newShutdownEnv(t)
	g := gate(e, 1)
	reporter := e.p.Reporter
	e.r.Trigger()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.r.Run(ctx) }()
	recv(t, g.applying, "applying")
	cancel()
	e.logs.wait(t, "waiting for the sync in progress to finish applying its plan", 1)
	select {
	case err := <-done:
		t.Fatalf("Run returned %v while the run was applying", err)
	default:
	}
	close(g.release)
	require.NoError(t, recv(t, done, "return from Run"))

	got := recv(t, e.results, "the run's result")
	require.NoError(t, got.err)
	assert.Equal(t, usersync.Succeeded, got.res.Status)
	assert.Equal(t, 5, got.res.Applied.Total())
	assert.Len(t, e.users(), 3)
	assert.Equal(t, int32(5), g.batches.Load())
	assert.False(t, g.canceled.Load(), "no change was applied with a canceled ctx")

	// The Pipeline's own Reporter saw the run; the Pipeline is unchanged.
	require.NotEmpty(t, e.events)
	assert.Equal(t, usersync.RunFinished, e.events[len(e.events)-1].Kind)
	assert.Equal(t, fmt.Sprint(reporter), fmt.Sprint(e.p.Reporter))
	assert.Nil(t, e.p.Now)
}

// A ShutdownTimeout stops a run that is still applying between two changes.
func TestRunnerShutdownTimeout(t *testing.T) {
	e := newShutdownEnv(t)
	g := gate(e, 2) // the first change applied, the second is on its way
	clk := newFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	e.r.Clock = clk
	e.r.ShutdownTimeout = time.Minute
	e.r.Trigger()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.r.Run(ctx) }()
	recv(t, g.applying, "applying")
	cancel()
	e.logs.wait(t, "waiting for the sync in progress", 1)
	assert.Equal(t, clk.Now().Add(time.Minute), clk.step(t, 1))
	e.logs.wait(t, "shutdown timeout", 1)
	close(g.release)
	require.NoError(t, recv(t, done, "return from Run"))

	got := recv(t, e.results, "the run's result")
	require.ErrorIs(t, got.err, context.Canceled)
	assert.Contains(t, got.err.Error(), "apply stopped after 2 of 5 changes")
	assert.Equal(t, usersync.PartlyFailed, got.res.Status)
	assert.Equal(t, 1, got.res.Applied.Total())
	require.Len(t, got.res.Failed, 1, "the change in flight met the canceled ctx")
	require.ErrorIs(t, got.res.Failed[0], context.Canceled)
	assert.Equal(t, int32(2), g.batches.Load(), "no change after it was tried")
}

// A Runner runs its Pipeline, reports the result, and gives the run its
// clock.
func TestRunnerRunsPipeline(t *testing.T) {
	e := newShutdownEnv(t)
	clk := newFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	e.r.Clock = clk
	e.r.Trigger()
	stop := started(t, e.r.Run)
	got := recv(t, e.results, "the run's result")
	require.NoError(t, stop())
	require.NoError(t, got.err)
	assert.Equal(t, 3, got.res.Applied.Created)
	assert.Equal(t, clk.Now(), got.res.Started)
	assert.Equal(t, 1, e.logs.count(`msg="usersync: sync started" reason=triggered`))
	assert.Equal(t, 1, e.logs.count(`status=succeeded files=1 applied=5`), e.logs.String())
}

// During a pause, scheduled runs and triggers are skipped, not put off.
func TestRunnerPause(t *testing.T) {
	clk := newFakeClock(time.Date(2026, 6, 17, 12, 0, 0, 0, time.UTC))
	lg := newLogs()
	r, ran := funcRunner(clk)
	r.Logger = lg.logger()
	r.Schedule = usersync.Daily(0, 15, time.UTC)
	r.Pause = usersync.Between(time.Date(2026, 6, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 23, 0, 0, 0, 0, time.UTC))
	stop := started(t, r.Run)

	var days []int
	runOn := func() { days = append(days, recv(t, ran, "a run").Day()) }
	paused := 0
	skipped := func() { paused++; lg.wait(t, "sync paused: run skipped", paused) }

	clk.step(t, 1)
	runOn() // 18th
	clk.step(t, 1)
	runOn() // 19th
	clk.step(t, 1)
	skipped() // 20th
	clk.step(t, 1)
	skipped() // 21st
	r.Trigger()
	skipped() // 21st, triggered
	clk.step(t, 1)
	skipped() // 22nd
	clk.step(t, 1)
	runOn() // 23rd
	require.NoError(t, stop())
	assert.Equal(t, []int{18, 19, 23}, days)
	assert.Empty(t, ran)
	assert.Equal(t, 1, lg.count(`reason=triggered`))
}

// Each scheduled run is delayed by up to Jitter, drawn from Rand, and the
// schedule does not drift.
func TestRunnerJitter(t *testing.T) {
	jittered := func(seed uint64) []time.Time {
		start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		clk := newFakeClock(start)
		r, ran := funcRunner(clk)
		r.Schedule = usersync.Daily(0, 15, time.UTC)
		r.Jitter = 10 * time.Minute
		r.Rand = rand.NewPCG(seed, 1)
		stop := started(t, r.Run)
		var got []time.Time
		for i := range 60 {
			clk.step(t, 1)
			at := recv(t, ran, "a run")
			due := time.Date(2026, 5, 2+i, 0, 15, 0, 0, time.UTC)
			require.False(t, at.Before(due), "run %d at %v, before %v", i, at, due)
			require.Less(t, at.Sub(due), 10*time.Minute, "run %d", i)
			got = append(got, at)
		}
		require.NoError(t, stop())
		return got
	}
	a := jittered(1)
	assert.Equal(t, a, jittered(1), "the same draws from the same Rand")
	assert.NotEqual(t, a, jittered(2))
	delays := map[time.Duration]bool{}
	for _, at := range a {
		delays[at.Sub(at.Truncate(24*time.Hour).Add(15*time.Minute))] = true
	}
	assert.Greater(t, len(delays), 50, "delays vary")
}

// A lock held by another process skips the run, logged, and OnResult is
// told; the run's lock is held during the run and released before
// OnResult.
func TestRunnerLock(t *testing.T) {
	clk := newFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	lg := newLogs()
	var held, heldInRun atomic.Bool
	locked := errors.New("unused")
	results := make(chan result, 10)
	r := &usersync.Runner{
		Clock:  clk,
		Logger: lg.logger(),
		Lock: usersync.LockerFunc(func(ctx context.Context) (func(context.Context) error, error) {
			if locked != nil {
				return nil, locked
			}
			held.Store(true)
			return func(context.Context) error { held.Store(false); return nil }, nil
		}),
		Func: func(context.Context) (*usersync.Result, error) {
			heldInRun.Store(held.Load())
			return &usersync.Result{Status: usersync.NothingToDo}, nil
		},
		OnResult: func(res *usersync.Result, err error) {
			assert.False(t, held.Load(), "the lock is released before OnResult")
			results <- result{res, err}
		},
	}

	locked = fmt.Errorf("tenant acme held by replica-2: %w", usersync.ErrLocked)
	r.Trigger()
	stop := started(t, r.Run)
	got := recv(t, results, "the locked run")
	assert.Nil(t, got.res)
	require.ErrorIs(t, got.err, usersync.ErrLocked)
	lg.wait(t, "another process is syncing: run skipped", 1)
	assert.Equal(t, 1, lg.count("held by replica-2"))
	assert.False(t, heldInRun.Load())
	require.NoError(t, stop())

	locked = errors.New("database down")
	r.Trigger()
	stop = started(t, r.Run)
	got = recv(t, results, "the run whose lock failed")
	assert.EqualError(t, got.err, "database down")
	lg.wait(t, `level=ERROR msg="usersync: cannot take the sync lock: run skipped"`, 1)
	require.NoError(t, stop())

	locked = nil
	r.Trigger()
	stop = started(t, r.Run)
	got = recv(t, results, "the run")
	require.NoError(t, got.err)
	assert.True(t, heldInRun.Load(), "the run held the lock")
	require.NoError(t, stop())
}

// Two Runners with a FileLock on one file: while one holds it, the other
// skips its run, and says who holds it.
func TestRunnerFileLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acme.lock")
	other, err := usersync.FileLock(path).Lock(t.Context())
	require.NoError(t, err)

	lg := newLogs()
	results := make(chan result, 10)
	r := &usersync.Runner{
		Logger: lg.logger(),
		Lock:   usersync.FileLock(path),
		Func: func(context.Context) (*usersync.Result, error) {
			return &usersync.Result{Status: usersync.NothingToDo}, nil
		},
		OnResult: func(res *usersync.Result, err error) { results <- result{res, err} },
	}
	r.Trigger()
	stop := started(t, r.Run)
	got := recv(t, results, "the locked run")
	require.ErrorIs(t, got.err, usersync.ErrLocked)
	assert.Contains(t, got.err.Error(), fmt.Sprintf("held by pid %d on ", os.Getpid()))

	require.NoError(t, other(t.Context()))
	r.Trigger()
	got = recv(t, results, "the run")
	require.NoError(t, got.err)
	assert.Equal(t, usersync.NothingToDo, got.res.Status)
	require.NoError(t, stop())
}

// A Watch source starts a run when a file arrives or changes, not when one
// goes or nothing changed.
func TestRunnerWatch(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clk := newFakeClock(t0)
	lg := newLogs()
	e := newEnv(t)
	r, ran := funcRunner(clk)
	r.Logger = lg.logger()
	r.Watch = e.src
	r.WatchEvery = time.Minute
	stop := started(t, r.Run)

	poll := func() { clk.step(t, 1); clk.next(t, 1) } // one listing, and the wait for the next
	clk.next(t, 1)                                    // the first listing found no file
	e.put(t, "users.csv", day1)
	poll()
	recv(t, ran, "the run for the new file")
	poll()
	poll()
	require.NoError(t, e.src.Put("users.csv", []byte(day1+"e4,Di Fors,di@example.com,\n"), t0))
	poll()
	recv(t, ran, "the run for the changed file")
	e.remove(t, "users.csv")
	poll()
	e.put(t, "a.csv", day1)
	e.put(t, "b.csv", day1)
	poll()
	recv(t, ran, "the run for two new files")
	poll()
	require.NoError(t, stop())

	assert.Empty(t, ran)
	assert.Equal(t, 3, lg.count("sync started"), lg.String())
	assert.Equal(t, 1, lg.count(`sync started" reason="new file users.csv"`))
	assert.Equal(t, 1, lg.count(`sync started" reason="changed file users.csv"`))
	assert.Equal(t, 1, lg.count(`sync started" reason="new file a.csv and 1 more"`))
}

// Files already there when Run starts count as new; a listing that fails is
// logged once, until it works again.
func TestRunnerWatchStartAndErrors(t *testing.T) {
	clk := newFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	lg := newLogs()
	e := newEnv(t)
	e.put(t, "users.csv", day1)
	src := &flakySource{Source: e.src}
	r, ran := funcRunner(clk)
	r.Logger = lg.logger()
	r.Watch = src
	stop := started(t, r.Run)
	recv(t, ran, "the run for the file found at start")
	assert.Equal(t, clk.Now().Add(usersync.DefaultWatchEvery), clk.next(t, 1))

	src.fail.Store(true)
	for range 3 {
		clk.step(t, 1)
		clk.next(t, 1)
	}
	src.fail.Store(false)
	clk.step(t, 1)
	clk.next(t, 1)
	require.NoError(t, stop())
	assert.Equal(t, 1, lg.count(`level=WARN msg="usersync: watch: cannot list the source; trying again" err="server gone" every=1m0s`), lg.String())
	assert.Equal(t, 2, lg.count(`level=DEBUG msg="usersync: watch: cannot list the source`))
	assert.Equal(t, 1, lg.count("listing works again"))
	assert.Empty(t, ran, "the file did not change while the server was gone")
}

// flakySource fails its listings while fail is set.
type flakySource struct {
	usersync.Source
	fail atomic.Bool
}

func (f *flakySource) List(ctx context.Context) ([]usersync.FileInfo, error) {
	if f.fail.Load() {
		return nil, errors.New("server gone")
	}
	return f.Source.List(ctx)
}

// once fires at one time.
type once time.Time

func (o once) Next(after time.Time) time.Time {
	if after.Before(time.Time(o)) {
		return time.Time(o)
	}
	return time.Time{}
}

// A schedule that ends leaves the Runner serving triggers.
func TestRunnerScheduleEnds(t *testing.T) {
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clk := newFakeClock(start)
	lg := newLogs()
	r, ran := funcRunner(clk)
	r.Logger = lg.logger()
	r.Schedule = once(start.Add(time.Hour))
	stop := started(t, r.Run)
	clk.step(t, 1)
	recv(t, ran, "the scheduled run")
	lg.wait(t, "the schedule has no further runs", 1)
	r.Trigger()
	recv(t, ran, "the triggered run")
	require.NoError(t, stop())
}

// stuck is a broken Schedule: it does not move on.
type stuck struct{}

func (stuck) Next(after time.Time) time.Time { return after }

// A Schedule that does not move on is dropped, said so, rather than spun on;
// the Runner still serves triggers.
func TestRunnerStuckSchedule(t *testing.T) {
	clk := newFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	lg := newLogs()
	r, ran := funcRunner(clk)
	r.Logger = lg.logger()
	r.Schedule = stuck{}
	stop := started(t, r.Run)
	lg.wait(t, "no further scheduled runs", 1)
	r.Trigger()
	recv(t, ran, "the triggered run")
	require.NoError(t, stop())
	assert.Equal(t, 1, lg.count("level=ERROR"))
}

// Run says what it is set to do.
func TestRunnerLogsItsSettings(t *testing.T) {
	clk := newFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	lg := newLogs()
	r, _ := funcRunner(clk)
	r.Logger = lg.logger()
	r.Schedule = usersync.Daily(0, 15, mustLoad(t, "America/Chicago"))
	r.Jitter = 5 * time.Minute
	r.Watch = newEnv(t).src
	r.Lock = usersync.FileLock(filepath.Join(t.TempDir(), "lock"))
	stop := started(t, r.Run)
	clk.next(t, 2)
	require.NoError(t, stop())
	assert.Equal(t, 1, lg.count(`level=INFO msg="usersync: runner started" schedule="daily at 00:15 America/Chicago" jitter=5m0s watch="every 1m0s" lock=true`), lg.String())
	assert.Equal(t, 1, lg.count(`msg="usersync: next scheduled sync" at=2026-05-02T00:`))
	assert.Equal(t, 1, lg.count(`msg="usersync: runner stopped"`))
}

func TestRunnerMisuse(t *testing.T) {
	ctx := t.Context()
	nop := func(context.Context) (*usersync.Result, error) { return nil, nil }
	for _, c := range []struct {
		r    *usersync.Runner
		want string
	}{
		{&usersync.Runner{}, "usersync: Runner needs a Pipeline or a Func"},
		{&usersync.Runner{Pipeline: &usersync.Pipeline{}, Func: nop}, "usersync: Runner has both a Pipeline and a Func; set one"},
		{&usersync.Runner{Func: nop, Jitter: -1}, "usersync: Runner: Jitter, WatchEvery and ShutdownTimeout must not be negative"},
	} {
		assert.EqualError(t, c.r.Run(ctx), c.want)
	}

	clk := newFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	r, _ := funcRunner(clk)
	r.Schedule = usersync.Every(time.Hour)
	stop := started(t, r.Run)
	clk.next(t, 1) // Run is running
	assert.EqualError(t, r.Run(ctx), "usersync: Runner.Run called while the Runner is running")
	require.NoError(t, stop())
	stop = started(t, r.Run) // and can run again once it returned
	require.NoError(t, stop())
}

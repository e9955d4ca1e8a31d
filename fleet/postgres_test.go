package fleet_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/usersync/usersync/fleet"
	"github.com/usersync/usersync/internal/testenv"
)

// The test binary is also the worker process of TestPostgresFleet, when
// FLEET_TEST_WORKER names it.
func TestMain(m *testing.M) {
	if name := os.Getenv("FLEET_TEST_WORKER"); name != "" {
		if err := workerMain(name); err != nil {
			fmt.Fprintln(os.Stderr, "worker", name+":", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// workerSettings are what the test tells its worker processes.
type workerSettings struct {
	dsn     string // with the test's schema as search_path
	tenants int
	base    time.Time
	day     time.Duration
	spread  time.Duration
}

func (w workerSettings) env(name string) []string {
	return append(os.Environ(), "FLEET_TEST_WORKER="+name, "FLEET_TEST_DSN="+w.dsn,
		"FLEET_TEST_TENANTS="+strconv.Itoa(w.tenants), "FLEET_TEST_BASE="+strconv.FormatInt(w.base.UnixNano(), 10),
		"FLEET_TEST_DAY="+w.day.String(), "FLEET_TEST_SPREAD="+w.spread.String())
}

func settingsFromEnv() (w workerSettings, err error) {
	w.dsn = os.Getenv("FLEET_TEST_DSN")
	if w.tenants, err = strconv.Atoi(os.Getenv("FLEET_TEST_TENANTS")); err != nil {
		return w, err
	}
	base, err := strconv.ParseInt(os.Getenv("FLEET_TEST_BASE"), 10, 64)
	if err != nil {
		return w, err
	}
	w.base = time.Unix(0, base)
	if w.day, err = time.ParseDuration(os.Getenv("FLEET_TEST_DAY")); err != nil {
		return w, err
	}
	w.spread, err = time.ParseDuration(os.Getenv("FLEET_TEST_SPREAD"))
	return w, err
}

// Worker processes' settings: short timeouts, so that a killed worker's
// runs are rescued within the test.
const (
	testRunTimeout  = 10 * time.Second
	testRescueAfter = 12 * time.Second
)

// workerMain runs one worker process until SIGTERM.
func workerMain(name string) error {
	ws, err := settingsFromEnv()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	pool, err := openPool(ctx, ws.dsn, 40)
	if err != nil {
		return err
	}
	defer pool.Close()
	sim := &simulation{tenants: ws.tenants, nights: nights{base: ws.base, day: ws.day}, spread: ws.spread,
		work: 3 * time.Millisecond, rec: pgRecorder{pool}, worker: name}
	f, err := fleet.NewPostgres(ctx, pool, sim, &fleet.Options{
		ID:           name,
		NoMigrate:    true,
		MaxWorkers:   30,
		PollInterval: 200 * time.Millisecond,
		Jitter:       time.Second,
		Backoff:      func(int) time.Duration { return 200 * time.Millisecond },
		RunTimeout:   testRunTimeout,
		RescueAfter:  testRescueAfter,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	return f.Run(ctx)
}

func openPool(ctx context.Context, dsn string, conns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = conns
	return pgxpool.NewWithConfig(ctx, cfg)
}

// pgRecorder records runs in a table, for every process.
type pgRecorder struct{ pool *pgxpool.Pool }

const createRuns = `CREATE TABLE fleettest_runs (id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, night INT NOT NULL,
	worker TEXT NOT NULL, start_us BIGINT NOT NULL, end_us BIGINT, outcome TEXT);
CREATE INDEX ON fleettest_runs (tenant, night)`

func (p pgRecorder) start(ctx context.Context, tenant string, night int, worker string) (id int64, transient int, err error) {
	err = p.pool.QueryRow(ctx, `INSERT INTO fleettest_runs (tenant, night, worker, start_us) VALUES ($1, $2, $3, $4)
RETURNING id, (SELECT count(*) FROM fleettest_runs WHERE tenant = $1 AND night = $2 AND outcome = 'transient')`,
		tenant, night, worker, time.Now().UnixMicro()).Scan(&id, &transient)
	return id, transient, err
}

func (p pgRecorder) end(ctx context.Context, id int64, outcome string) error {
	_, err := p.pool.Exec(ctx, `UPDATE fleettest_runs SET end_us = $1, outcome = $2 WHERE id = $3`, time.Now().UnixMicro(), outcome, id)
	return err
}

func (p pgRecorder) done(ctx context.Context, night int) (n int, err error) {
	err = p.pool.QueryRow(ctx, `SELECT count(DISTINCT tenant) FROM fleettest_runs WHERE night = $1 AND outcome IN ('ok', 'permanent')`, night).Scan(&n)
	return n, err
}

func (p pgRecorder) all(ctx context.Context) ([]runRow, error) {
	rows, err := p.pool.Query(ctx, `SELECT tenant, night, worker, start_us, end_us, coalesce(outcome, '') FROM fleettest_runs`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []runRow
	for rows.Next() {
		var r runRow
		var start int64
		var end *int64
		if err := rows.Scan(&r.tenant, &r.night, &r.worker, &start, &end, &r.outcome); err != nil {
			return nil, err
		}
		r.start = time.UnixMicro(start)
		if end != nil {
			r.end = time.UnixMicro(*end)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// TestPostgresFleet runs 3 worker processes against 10,000 simulated
// tenants through two simulated nights, and kills one worker with SIGKILL
// in the middle of the second.
func TestPostgresFleet(t *testing.T) {
	dsn := testenv.Getenv(t, "USERSYNC_TEST_POSTGRES_DSN", "PostgreSQL")
	if raceEnabled {
		t.Skip("skipped under -race: the simulation is timed in simulated nights, which -race slows past; it runs in go test ./... without -race, and the other tests run the same code under -race")
	}
	tenants := 10000
	if s := os.Getenv("FLEET_TEST_TENANTS"); s != "" {
		tenants, _ = strconv.Atoi(s)
	}
	t.Logf("%d tenants", tenants)
	// A simulated day long enough for a night's runs (10,000 in about 30s
	// on 2 cores; 50s with other work on them): its length does not
	// matter, only that nights do not overlap. FLEET_TEST_DAY sets it for
	// a slower machine.
	day := max(30*time.Second, time.Duration(tenants)*10*time.Millisecond)
	if s := os.Getenv("FLEET_TEST_DAY"); s != "" {
		day, _ = time.ParseDuration(s)
	}
	ctx := context.Background()

	// A schema of its own, as every worker's search_path.
	admin, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	schema := fmt.Sprintf("fleettest_%d", time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("FLEET_TEST_KEEP") == "" {
		defer admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	} else {
		t.Logf("schema %s kept", schema)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	pool, err := openPool(ctx, u.String(), 8)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := fleet.MigratePostgres(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, createRuns); err != nil {
		t.Fatal(err)
	}
	rec := pgRecorder{pool}

	ws := workerSettings{dsn: u.String(), tenants: tenants, base: time.Now().Add(5 * time.Second), day: day, spread: 5 * time.Second}
	workers := make([]*exec.Cmd, 3)
	logs := make([]*bytes.Buffer, 3)
	for i := range workers {
		name := fmt.Sprintf("worker%d", i+1)
		logs[i] = &bytes.Buffer{}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = ws.env(name)
		cmd.Stdout, cmd.Stderr = logs[i], logs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		workers[i] = cmd
	}
	stopped := false
	defer func() {
		if !stopped {
			for _, w := range workers {
				w.Process.Kill()
				w.Wait()
			}
		}
		if t.Failed() {
			for i, l := range logs {
				t.Logf("worker%d's log (last 4 kB):\n%s", i+1, tail(l.Bytes(), 4096))
			}
		}
	}()

	waitNight := func(night int, d time.Duration, kill func(done int) bool) {
		t.Helper()
		start := time.Now()
		d += time.Until(ws.base.Add(time.Duration(night) * day))
		waitFor(t, d, fmt.Sprintf("night %d", night), func() (bool, string) {
			n, err := rec.done(ctx, night)
			if err != nil {
				t.Fatal(err)
			}
			if kill != nil && kill(n) {
				kill = nil
			}
			return n == tenants, fmt.Sprintf("%d of %d tenants done", n, tenants)
		})
		t.Logf("night %d: %d tenants done %v after it began", night, tenants,
			time.Since(start)-max(0, ws.base.Add(time.Duration(night)*day).Sub(start)))
	}

	// A fleet of no worker, for its Status.
	sim := &simulation{tenants: tenants, nights: nights{base: ws.base, day: day}, spread: ws.spread}
	f, err := fleet.NewPostgres(ctx, pool, sim, &fleet.Options{NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	nightStart := func(n int) time.Time { return ws.base.Add(time.Duration(n) * day) }

	// Night 0: every tenant once; transient failures retried once;
	// permanent ones not retried.
	waitNight(0, day, nil)
	waitFor(t, 30*time.Second, "every tenant's next run", func() (bool, string) { return converged(ctx, f, nightStart(1)) })
	rows, err := rec.all(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkNight(t, rows, tenants, 0, "", time.Time{})

	// Night 1: kill worker 3 once a third of the tenants are done.
	var killedAt time.Time
	var held []string // the tenants whose jobs worker3 held when killed
	waitNight(1, day, func(done int) bool {
		if done < tenants/3 {
			return false
		}
		// Kill it while it holds jobs, or nothing is left to rescue. Its
		// jobs take milliseconds, so a count taken before the signal may
		// be gone when it lands (one CI run killed it holding none):
		// freeze it first, count what it holds, and let it go on to try
		// again at the next poll if that is nothing.
		p := workers[2].Process
		if err := p.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		if held = heldBy(ctx, t, pool, "worker3"); len(held) == 0 {
			if err := p.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			return false
		}
		if err := p.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		workers[2].Wait()
		killedAt = time.Now()
		t.Logf("night 1: worker3 killed with SIGKILL after %d tenants, holding %d jobs", done, len(held))
		return true
	})
	// River's rescuer finds the killed worker's jobs after RescueAfter,
	// looking every 30 seconds.
	waitFor(t, testRescueAfter+90*time.Second, "every tenant's next run", func() (bool, string) { return converged(ctx, f, nightStart(2)) })
	t.Logf("night 1: converged %v after the kill", time.Since(killedAt))
	if rows, err = rec.all(ctx); err != nil {
		t.Fatal(err)
	}
	rescued := checkNight(t, rows, tenants, 1, "worker3", killedAt)
	t.Logf("night 1: %d runs of the killed worker, in progress or not completed, were rescued and ran again", rescued)
	// Every job the killed worker held ran again on another worker, unless
	// its run had ended before the kill: a job it had fetched but not yet
	// begun counts too, which checkNight cannot see (a run is recorded
	// once it begins).
	if len(held) == 0 {
		t.Errorf("night 1: the killed worker held no job: the test proves nothing about rescue")
	}
	for _, id := range held {
		// A job whose run had ended may still show as running: River
		// records completions in batches, and the kill lost the last one.
		// Its work was done; the rescuer runs it again only later.
		if !ranAfter(rows, id, 1, killedAt) && !endedBefore(rows, id, 1, killedAt) {
			t.Errorf("night 1: %s's job, held by the killed worker, never ran on another worker after the kill", id)
		}
	}

	// Graceful stop.
	for _, w := range workers[:2] {
		w.Process.Signal(syscall.SIGTERM)
	}
	for _, w := range workers[:2] {
		if err := w.Wait(); err != nil {
			t.Errorf("worker stopped with %v", err)
		}
	}
	stopped = true
}

func tail(b []byte, n int) []byte { return b[max(0, len(b)-n):] }

// heldBy returns the tenants whose jobs River lists as running on worker.
func heldBy(ctx context.Context, t *testing.T, pool *pgxpool.Pool, worker string) []string {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT args->>'tenant' FROM river_job WHERE state = 'running'
		AND attempted_by[array_length(attempted_by, 1)] = $1`, worker)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// endedBefore reports whether a run of tenant id for night ended before at.
func endedBefore(rows []runRow, id string, night int, at time.Time) bool {
	return slices.ContainsFunc(rows, func(r runRow) bool {
		return r.tenant == id && r.night == night && !r.end.IsZero() && r.end.Before(at)
	})
}

// ranAfter reports whether a run of tenant id for night began after at,
// and ended.
func ranAfter(rows []runRow, id string, night int, at time.Time) bool {
	return slices.ContainsFunc(rows, func(r runRow) bool {
		return r.tenant == id && r.night == night && r.start.After(at) && !r.end.IsZero()
	})
}

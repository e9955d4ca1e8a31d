// Command fleetbench measures package fleet, against bare River jobs in the
// same run:
//
//   - throughput: -tenants tenant runs, each a sleep of -work (a sync
//     bound by its servers), worked by 1, 2, 4, ... fleet workers (-workers)
//     of -slots runs at once each, as separate River clients with their own
//     connections, as on separate machines; printed as tenant runs a
//     second, and as a ratio to one worker's. The target is 4 workers at 3
//     times one worker's throughput or more.
//   - overhead: -serial runs that do nothing, one at a time on one worker,
//     through the fleet and as bare River jobs that do nothing, alternated
//     -rounds times; the difference of the medians, per run, is what the
//     fleet adds to each tenant run (its status, its next job, the
//     transaction that completes one and inserts the other). The target is
//     2 ms or less on PostgreSQL.
//
// PostgreSQL comes from -dsn, by default $USERSYNC_TEST_POSTGRES_DSN (which
// .ci/services/postgres.sh exports); each round gets a schema of its own.
// Without one, SQLite is measured, a database file a round.
//
//	go run ./examples/fleetbench -tenants 10000 -workers 1,2,4
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/fleet"
	"github.com/usersync/usersync/internal/bench"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
)

func main() {
	c := &config{}
	flag.StringVar(&c.dsn, "dsn", os.Getenv("USERSYNC_TEST_POSTGRES_DSN"), "PostgreSQL DSN (pgx); empty: SQLite")
	flag.IntVar(&c.tenants, "tenants", 10_000, "tenant runs in each throughput round")
	workers := flag.String("workers", "1,2,4", "fleet workers to compare, comma-separated")
	flag.IntVar(&c.slots, "slots", 10, "runs each worker does at once (Options.MaxWorkers)")
	flag.DurationVar(&c.work, "work", 50*time.Millisecond, "what a tenant run sleeps, in the throughput rounds")
	flag.IntVar(&c.serial, "serial", 1000, "runs in each overhead round")
	flag.IntVar(&c.rounds, "rounds", 3, "rounds of each measure")
	flag.Parse()
	for _, s := range strings.Split(*workers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			log.Fatalf("-workers: %q is not a count", s)
		}
		c.workers = append(c.workers, n)
	}
	if c.dsn == "" {
		dir, err := os.MkdirTemp("", "fleetbench-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
		c.dir = dir
	}
	if err := c.run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

type config struct {
	dsn, dir                       string
	tenants, slots, serial, rounds int
	workers                        []int
	work                           time.Duration
	dbs                            int // databases made so far
}

func (c *config) run(ctx context.Context) error {
	db := "SQLite (one process; its River driver completes jobs one at a time)"
	if c.dsn != "" {
		db = "PostgreSQL"
	}
	fmt.Printf("fleetbench: %s, GOMAXPROCS %d, %s\n\n", db, runtime.GOMAXPROCS(0), loadAverage())

	fmt.Printf("throughput: %d tenant runs of %v each, %d at once per worker\n", c.tenants, c.work, c.slots)
	rates := make([][]float64, len(c.workers))
	for r := range c.rounds {
		for i, w := range c.workers {
			d, err := c.fleetRound(ctx, w, c.slots, c.tenants, c.work)
			if err != nil {
				return fmt.Errorf("%d workers: %w", w, err)
			}
			rate := float64(c.tenants) / d.Seconds()
			rates[i] = append(rates[i], rate)
			fmt.Printf("round %d  %d workers  %8.3fs  %8.0f runs/s\n", r+1, w, d.Seconds(), rate)
		}
	}
	fmt.Println()
	base := medianRate(rates[0])
	for i, w := range c.workers {
		m := medianRate(rates[i])
		fmt.Printf("median   %d workers  %8.0f runs/s  %5.2fx %d worker's\n", w, m, m/base, c.workers[0])
	}

	fmt.Printf("\noverhead: %d runs that do nothing, one at a time, on one worker\n", c.serial)
	var fleetTimes, bareTimes []time.Duration
	for r := range c.rounds {
		d, err := c.fleetRound(ctx, 1, 1, c.serial, 0)
		if err != nil {
			return fmt.Errorf("fleet: %w", err)
		}
		fleetTimes = append(fleetTimes, d)
		b, err := c.bareRound(ctx, c.serial)
		if err != nil {
			return fmt.Errorf("bare River: %w", err)
		}
		bareTimes = append(bareTimes, b)
		fmt.Printf("round %d  fleet %8.3fs %7.3f ms/run   bare River job %8.3fs %7.3f ms/run\n", r+1,
			d.Seconds(), perRun(d, c.serial), b.Seconds(), perRun(b, c.serial))
	}
	f, b := bench.Median(fleetTimes), bench.Median(bareTimes)
	fmt.Printf("\nmedian   fleet %7.3f ms/run, bare River job %7.3f ms/run: the fleet adds %.3f ms a tenant run\n",
		perRun(f, c.serial), perRun(b, c.serial), perRun(f-b, c.serial))
	fmt.Printf("%s\n", loadAverage())
	return nil
}

func perRun(d time.Duration, n int) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }

func medianRate(rs []float64) float64 {
	ds := make([]time.Duration, len(rs))
	for i, r := range rs {
		ds[i] = time.Duration(r * 1000)
	}
	return float64(bench.Median(ds)) / 1000
}

// tenants are n tenants without a schedule: a round inserts their jobs.
type tenants struct {
	n    int
	work time.Duration
}

func (t tenants) List(context.Context) ([]fleet.Tenant, error) {
	out := make([]fleet.Tenant, t.n)
	for i := range out {
		out[i] = fleet.Tenant{ID: tenantID(i), Version: "1"}
	}
	return out, nil
}

func (t tenants) Open(context.Context, string) (*fleet.Sync, error) {
	return &fleet.Sync{Func: func(context.Context) (*usersync.Result, error) {
		if t.work > 0 {
			time.Sleep(t.work)
		}
		return &usersync.Result{Status: usersync.Succeeded}, nil
	}}, nil
}

func tenantID(i int) string { return fmt.Sprintf("tenant%06d", i) }

// database is a fresh database for one round: a schema of its own on
// PostgreSQL, a file on SQLite.
type database struct {
	pools []*pgxpool.Pool // one a worker, as on separate machines
	sqlDB *sql.DB
	drop  func()
}

func (c *config) open(ctx context.Context, workers int) (*database, error) {
	c.dbs++
	if c.dsn == "" {
		db, err := sqlite.Open(filepath.Join(c.dir, fmt.Sprintf("fleet%d.db", c.dbs)))
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		return &database{sqlDB: db, drop: func() { db.Close() }}, nil
	}
	admin, err := pgxpool.New(ctx, c.dsn)
	if err != nil {
		return nil, err
	}
	schema := fmt.Sprintf("fleetbench_%d_%d", os.Getpid(), c.dbs)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		return nil, err
	}
	d := &database{}
	d.drop = func() {
		for _, p := range d.pools {
			p.Close()
		}
		admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	}
	u, err := url.Parse(c.dsn)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	for range workers {
		cfg, err := pgxpool.ParseConfig(u.String())
		if err != nil {
			d.drop()
			return nil, err
		}
		cfg.MaxConns = int32(c.slots + 5)
		p, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			d.drop()
			return nil, err
		}
		d.pools = append(d.pools, p)
	}
	return d, nil
}

// fleetRound inserts n tenants' jobs, then times workers fleet workers of
// slots runs at once until every tenant ran.
func (c *config) fleetRound(ctx context.Context, workers, slots, n int, work time.Duration) (time.Duration, error) {
	db, err := c.open(ctx, workers)
	if err != nil {
		return 0, err
	}
	defer db.drop()
	var done atomic.Int64
	all := make(chan struct{})
	ts := tenants{n: n, work: work}
	fleets := make([]*fleet.Fleet, workers)
	for i := range fleets {
		opts := &fleet.Options{
			ID:           fmt.Sprintf("worker%d", i+1),
			MaxWorkers:   slots,
			PollInterval: time.Millisecond,
			NoMigrate:    i > 0,
			OnResult: func(string, *usersync.Result, error) {
				if done.Add(1) == int64(n) {
					close(all)
				}
			},
		}
		if db.sqlDB != nil {
			fleets[i], err = fleet.NewSQLite(ctx, db.sqlDB, ts, opts)
		} else {
			fleets[i], err = fleet.NewPostgres(ctx, db.pools[i], ts, opts)
		}
		if err != nil {
			return 0, err
		}
	}
	params := make([]river.InsertManyParams, n)
	for i := range params {
		params[i] = river.InsertManyParams{Args: fleet.SyncArgs{Tenant: tenantID(i), Reason: fleet.ReasonTriggered},
			InsertOpts: &river.InsertOpts{Queue: fleet.DefaultQueue}}
	}
	if err := c.insert(ctx, db, params); err != nil {
		return 0, err
	}
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := time.Now()
	for _, f := range fleets {
		wg.Go(func() {
			if err := f.Run(wctx); err != nil {
				errs <- err
			}
		})
	}
	select {
	case <-all:
	case err := <-errs:
		stop()
		wg.Wait()
		return 0, err
	}
	d := time.Since(start)
	stop()
	wg.Wait()
	return d, nil
}

// insert inserts jobs with an insert-only River client.
func (c *config) insert(ctx context.Context, db *database, params []river.InsertManyParams) error {
	for len(params) > 0 {
		batch := params[:min(len(params), 1000)]
		params = params[len(batch):]
		var err error
		if db.sqlDB != nil {
			var client *river.Client[*sql.Tx]
			if client, err = river.NewClient(riversqlite.New(db.sqlDB), &river.Config{}); err == nil {
				_, err = client.InsertMany(ctx, batch)
			}
		} else {
			var client *river.Client[pgx.Tx]
			if client, err = river.NewClient(riverpgxv5.New(db.pools[0]), &river.Config{}); err == nil {
				_, err = client.InsertMany(ctx, batch)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// noopArgs is a bare River job that does nothing.
type noopArgs struct {
	N int `json:"n"`
}

func (noopArgs) Kind() string { return "fleetbench_noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
	done func()
}

func (w *noopWorker) Work(context.Context, *river.Job[noopArgs]) error {
	w.done()
	return nil
}

// bareRound times n bare River jobs that do nothing, one at a time, with
// the fleet's River settings.
func (c *config) bareRound(ctx context.Context, n int) (time.Duration, error) {
	db, err := c.open(ctx, 1)
	if err != nil {
		return 0, err
	}
	defer db.drop()
	var done atomic.Int64
	all := make(chan struct{})
	workers := river.NewWorkers()
	river.AddWorker(workers, &noopWorker{done: func() {
		if done.Add(1) == int64(n) {
			close(all)
		}
	}})
	cfg := &river.Config{
		Queues:            map[string]river.QueueConfig{fleet.DefaultQueue: {MaxWorkers: 1}},
		Workers:           workers,
		FetchPollInterval: time.Millisecond,
		FetchCooldown:     time.Millisecond,
	}
	params := make([]river.InsertManyParams, n)
	for i := range params {
		params[i] = river.InsertManyParams{Args: noopArgs{N: i}, InsertOpts: &river.InsertOpts{Queue: fleet.DefaultQueue}}
	}
	var start func(context.Context) error
	var stop func(context.Context) error
	if db.sqlDB != nil {
		if err := migrate(ctx, riversqlite.New(db.sqlDB)); err != nil {
			return 0, err
		}
		cfg.PollOnly = true
		client, err := river.NewClient(riversqlite.New(db.sqlDB), cfg)
		if err != nil {
			return 0, err
		}
		start, stop = client.Start, client.Stop
	} else {
		if err := migrate(ctx, riverpgxv5.New(db.pools[0])); err != nil {
			return 0, err
		}
		client, err := river.NewClient(riverpgxv5.New(db.pools[0]), cfg)
		if err != nil {
			return 0, err
		}
		start, stop = client.Start, client.Stop
	}
	if err := c.insert(ctx, db, params); err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := start(ctx); err != nil {
		return 0, err
	}
	<-all
	d := time.Since(t0)
	return d, stop(ctx)
}

// migrate brings River's tables up to date.
func migrate[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load average unknown"
	}
	f := strings.Fields(string(b))
	return "load average " + strings.Join(f[:3], " ")
}

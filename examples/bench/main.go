// Command bench measures what a nightly sync costs against the physical
// floor of the same work, measured in the same process, round by round:
//
//	go run ./examples/bench -users 1000000 -rounds 5
//
// It generates yesterday's and today's Cosafe-style file (internal/gen,
// UTF-8 with commas; today 2% of the users changed: 1% updated, 0.5% new,
// 0.5% gone, see -changed), then measures, each in rounds that alternate
// the sync with its floor and reporting medians:
//
//   - the nightly sync, the headline: the stock Pipeline (dirsource behind
//     source.Pickup, csvmap's Cosafe preset, reconcile, sqlsink) syncing
//     today's file into the embedded default Sink, SQLite, seeded with
//     yesterday's users by a first sync. Every round starts from a copy of
//     the seeded database file. The floor is (a) a plain encoding/csv pass
//     over the same file through a 64 KiB bufio.Reader plus (b) the
//     driver's bare scan of the stored users' key column in the same
//     database. Beside it, the changes the first round's sync made are
//     made again to another copy through modernc's plain statements:
//     what they cost the engine, which that floor leaves out. The same on
//     PostgreSQL (each round a copy of the seeded
//     database made with CREATE DATABASE ... TEMPLATE) and on memsink
//     (seeded afresh each round; its floor is the csv pass alone);
//   - the first load: yesterday's file into an empty database, against the
//     sqlite3 tool's .import of the same file into a table of the same
//     columns, and psql's \copy on PostgreSQL (each skipped, saying so,
//     when the tool is not installed). Beside .import, the sqlite3 tool
//     copies a loaded database's rows into an empty one of the sync's
//     schema (its tables and indexes, no trigger firing, one transaction):
//     what that schema costs the C engine alone; and the same rows are
//     written through modernc's statements as the sync writes them
//     (prepared INSERTs of 256 rows, 5,000 users a transaction): what
//     writing them costs the engine the sync writes through;
//   - the same file again: a second sync of the file just applied (the
//     Pickup remembers applied content in the Sink's Store), in a process
//     of its own, as a job started by cron is, against sha256sum of the
//     file and crypto/sha256 over it in this process;
//   - a PGP bomb: a small compressed PGP file that decompresses to
//     millions of valid rows, synced with pgpdecrypt's default limits: the
//     time it takes to fail, the error, and the peak memory.
//
// The sync's memory is the peak resident set the OS reports for this
// process during the sync alone (on Linux, VmHWM reset before each round
// through /proc/self/clear_refs, after a garbage collection that returned
// freed memory to the OS), and the Go heap's peak beside it. The syncs into
// SQLite (the nightly and the same file again) run in a child process each,
// as a job started by cron does, and their memory is the peak the OS
// reports for that process: what this process still holds from seeding
// millions of users (freed memory the runtime has not returned yet, SQLite's
// caches) would otherwise count against the sync, and more so the more
// users were seeded. The nightly's time and CPU time are the ones the
// child measures around Pipeline.Run, as this process measures the other
// Sinks' (its floor starts no process either); the same file again's are
// the child's whole life, as sha256sum's are. Beside each
// time is the CPU time the side used in this process and the tools it ran:
// on a busy machine it moves less than the clock (a database server's CPU
// is not counted, so PostgreSQL's rows give no CPU ratio). The command
// ends with a table of every figure, its floor, their ratio and the
// target of issue 15, and the load average before and after: figures
// taken on a busy machine are slower, but their ratios hold better, since
// both sides share the slow spells.
//
// PostgreSQL comes from -dsn, by default $USERSYNC_TEST_POSTGRES_DSN, with
// a role that may create databases; without one, it is skipped.
// -dir keeps the generated files in a folder, reused by the next run with
// the same -users and -changed (the PGP bomb too); by default they go to a
// temporary folder, removed after. For 5M users, run -users 1000000 -save
// 1m.json first, then -users 5000000 -vs 1m.json, which adds the 5M/1M
// ratios.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/usersync/usersync/internal/bench"
)

type config struct {
	users       int
	rounds      int
	changed     float64
	sinks       string
	dir         string
	firstLoad   bool
	managers    bool
	accounts    bool
	loadRuns    int
	again       bool
	bomb        bool
	dsn         string
	profile     string
	loadProfile string
	memProfile  string
	phases      bool
	save, vs    string
	// child is set in a child process that runs one sync (see child.go).
	child childConfig
}

func main() {
	var c config
	flag.IntVar(&c.users, "users", 1_000_000, "users in the directory")
	flag.IntVar(&c.rounds, "rounds", 5, "rounds of each comparison; medians are reported (the PGP bomb runs at most 3)")
	flag.Float64Var(&c.changed, "changed", 0.02, "fraction of users changed since yesterday: half updated, a quarter new, a quarter gone")
	flag.StringVar(&c.sinks, "sinks", "sqlite,postgres,memsink", "Sinks to measure the nightly sync on, comma-separated")
	flag.StringVar(&c.dir, "dir", "", "folder for generated files, kept and reused by the next run (default: a temporary folder, removed after)")
	flag.BoolVar(&c.firstLoad, "first-load", true, "measure the first load into an empty database")
	flag.BoolVar(&c.managers, "managers", true, "measure a first load into SQLite under a policy that resolves managers, against one without")
	flag.BoolVar(&c.accounts, "accounts", true, "measure a first load into SQLite under a policy that makes the file an account's, against one without")
	flag.IntVar(&c.loadRuns, "first-load-rounds", 0, "rounds of the first load; 0 means -rounds")
	flag.BoolVar(&c.again, "again", true, "measure the same file delivered again")
	flag.BoolVar(&c.bomb, "bomb", true, "measure a PGP decompression bomb")
	flag.StringVar(&c.dsn, "dsn", os.Getenv("USERSYNC_TEST_POSTGRES_DSN"), "PostgreSQL DSN (pgx; its role must be able to create databases); empty: PostgreSQL is skipped")
	flag.StringVar(&c.profile, "cpuprofile", "", "write a CPU profile of the first nightly SQLite sync to this file")
	flag.StringVar(&c.memProfile, "memprofile", "", "write a heap profile of what each sync holds at its peak to this file (the last sync's; slows the syncs)")
	flag.StringVar(&c.loadProfile, "loadprofile", "", "write a CPU profile of the first first load into SQLite to this file, and of PostgreSQL's to this file with .postgres added")
	flag.BoolVar(&c.phases, "phases", false, "print how long each sync spent reading, planning and applying (to standard error)")
	flag.StringVar(&c.save, "save", "", "write the figures to this JSON file, for a later -vs")
	flag.StringVar(&c.vs, "vs", "", "compare the nightly figures with a run saved by -save (the 5M/1M targets)")
	flag.StringVar(&c.child.db, "child-db", "", "run as a child process: sync -child-drop into this SQLite database once, check the outcome against -child-expect, and exit")
	flag.StringVar(&c.child.drop, "child-drop", "", "the folder a child process syncs")
	flag.StringVar(&c.child.expect, "child-expect", "", `what a child process's sync must do: "applied" (nothing: the file was applied before) or "created=N,gone=M"`)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	if c.child.db != "" {
		err = runChild(ctx, os.Stdout, c)
	} else {
		err = run(ctx, os.Stdout, c)
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// benchmark is one run of the command.
type benchmark struct {
	c    config
	out  io.Writer
	s    *bench.Scenario
	work string       // databases and scratch files, removed at the end
	log  *slog.Logger // the Pickup's, discarded
	rows []row        // the final table
}

func run(ctx context.Context, out io.Writer, c config) error {
	if c.rounds < 1 || c.users < 100 || c.loadRuns < 0 || c.changed < 0 || c.changed > 1 {
		return fmt.Errorf("need -rounds >= 1, -first-load-rounds >= 0, -users >= 100 and -changed from 0 to 1")
	}
	if c.loadRuns == 0 {
		c.loadRuns = c.rounds
	}
	load := loadAvg()
	fmt.Fprintf(out, "usersync bench: %d users, %.3g%% changed, %d rounds; %s %s/%s, GOMAXPROCS %d, %d CPUs; load average %s\n",
		c.users, c.changed*100, c.rounds, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU(), load)
	dir := c.dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "usersync-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	work, err := os.MkdirTemp(dir, "work-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	b := &benchmark{c: c, out: out, work: work, log: slog.New(slog.DiscardHandler)}

	t := time.Now()
	b.s, err = bench.PrepareWith(dir, c.users, &bench.PrepareOptions{Changed: c.changed, Reuse: c.dir != ""})
	if err != nil {
		return err
	}
	today, yesterday := fileSize(b.s.Today), fileSize(b.s.Yesterday)
	created, gone := b.s.Expect()
	fmt.Fprintf(out, "files in %s (%v): yesterday %.1f MB, today %.1f MB (%d new, %d gone, about %d updated)\n",
		dir, since(t), mb(yesterday), mb(today), created, gone, int(float64(c.users)*c.changed/2))
	// Both sides of every comparison read the files: have them in the
	// page cache before the first round, so that neither pays for the disk.
	for _, p := range []string{b.s.Today, b.s.Yesterday} {
		if err := readAll(p); err != nil {
			return err
		}
	}

	if err := b.sections(ctx, dir); err != nil {
		return err
	}
	b.table(loadAvg(), load)
	if c.save != "" {
		if err := b.saveFigures(c.save); err != nil {
			return err
		}
	}
	if c.vs != "" {
		return b.compareSaved(c.vs)
	}
	return nil
}

// sections runs every measurement asked for.
func (b *benchmark) sections(ctx context.Context, dir string) error {
	want := map[string]bool{}
	for _, s := range strings.Split(b.c.sinks, ",") {
		want[strings.TrimSpace(s)] = true
	}
	var lite *sqliteTarget
	if want["sqlite"] || b.c.again || b.c.bomb || b.c.firstLoad || b.c.managers || b.c.accounts {
		lite = newSQLite(b.work)
		defer lite.close()
	}
	var pg *pgTarget
	if want["postgres"] || b.c.firstLoad {
		if b.c.dsn == "" {
			b.skip("PostgreSQL", "no DSN: set USERSYNC_TEST_POSTGRES_DSN or -dsn (.ci/services/postgres.sh starts a server)")
		} else {
			var err error
			if pg, err = newPostgres(ctx, b.c.dsn); err != nil {
				return fmt.Errorf("postgresql: %w", err)
			}
			defer pg.close()
		}
	}

	seeded := false
	if lite != nil {
		if err := b.seed(ctx, lite); err != nil {
			return err
		}
		seeded = true
	}
	if want["sqlite"] {
		if err := b.nightly(ctx, lite); err != nil {
			return err
		}
	}
	if want["postgres"] && pg != nil {
		if err := b.seed(ctx, pg); err != nil {
			return err
		}
		if err := b.nightly(ctx, pg); err != nil {
			return err
		}
	}
	if want["memsink"] {
		if err := b.nightly(ctx, &memTarget{load: b.s.Seed}); err != nil {
			return err
		}
	}
	if b.c.firstLoad {
		if err := b.firstLoadSQLite(ctx, lite); err != nil {
			return err
		}
		if pg != nil {
			if err := b.firstLoadPostgres(ctx, pg); err != nil {
				return err
			}
		}
	}
	if b.c.managers {
		if err := b.firstLoadManagers(ctx, lite); err != nil {
			return err
		}
	}
	if b.c.accounts {
		if err := b.firstLoadAccounts(ctx, lite); err != nil {
			return err
		}
	}
	if b.c.again && seeded {
		if err := b.sameFileAgain(ctx, lite); err != nil {
			return err
		}
	}
	if b.c.bomb && seeded {
		if err := b.pgpBomb(ctx, lite, dir); err != nil {
			return err
		}
	}
	return nil
}

// seed fills t with yesterday's users by a first sync, untimed but shown.
func (b *benchmark) seed(ctx context.Context, t target) error {
	start := time.Now()
	if err := t.seed(ctx, b); err != nil {
		return fmt.Errorf("seeding %s: %w", t.name(), err)
	}
	fmt.Fprintf(b.out, "seeded %s with yesterday's %d users by a first sync in %v\n", t.name(), b.c.users, since(start))
	return nil
}

// skip notes a measurement left out, and why, in the output and the table.
func (b *benchmark) skip(what, why string) {
	fmt.Fprintf(b.out, "\n== %s: skipped: %s\n", what, why)
	b.rows = append(b.rows, row{what: what, skipped: why})
}

func loadAvg() string {
	v, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(v))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func fileSize(p string) int64 {
	info, err := os.Stat(p)
	if err != nil {
		return -1
	}
	return info.Size()
}

func readAll(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }
func mb(n int64) float64              { return float64(n) / 1e6 }

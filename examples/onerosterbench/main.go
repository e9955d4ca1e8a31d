// Command onerosterbench measures a OneRoster bundle's sync at scale: a
// generated OneRoster 1.1 bulk bundle of -users users (95% students, 5%
// teachers, in -schools schools), with classes of about -class-size
// students and -per-student enrollments per student (and a teacher per
// class), synced by the stock Pipeline (dirsource, csvmap/oneroster,
// reconcile, sqlsink on SQLite or memsink):
//
//	go run ./examples/onerosterbench -users 1000000 -rounds 3
//
// Each round, in turn: the first load (the bundle into an empty Sink), the
// nightly sync (the next day's bundle, 2% of the users changed: 1%
// renamed, 0.5% gone with their enrollments, 0.5% new, into a Sink holding
// the first day), and the floor, a plain encoding/csv pass over the next
// day's files. It prints each step's time and the process's peak resident
// memory during it (VmHWM on Linux, reset before the step), the medians,
// and the load average before and after.
//
// To work on the nightly sync, keep the bundles and the first load between
// runs: with -dir and -reuse, the first run saves the first load's
// database there, and later runs copy it instead of loading again.
// -trace samples memory during each sync and prints where its peak is
// (after which file, at the plan, while applying), and -trace-profiles
// writes a heap profile each second:
//
//	go run ./examples/onerosterbench -users 1000000 -rounds 1 -dir /tmp/or -reuse -trace
package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap/oneroster"
	"github.com/usersync/usersync/internal/bench"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
	"github.com/usersync/usersync/source/dirsource"
)

type config struct {
	users, perStudent, classSize, schools, rounds int
	dir, sink, cpuprofile, memprofile             string
	trace, reuse                                  bool
	traceProfiles                                 string
}

func main() {
	var c config
	flag.IntVar(&c.users, "users", 1_000_000, "users in the bundle")
	flag.IntVar(&c.perStudent, "per-student", 5, "enrollments per student")
	flag.IntVar(&c.classSize, "class-size", 25, "students per class")
	flag.IntVar(&c.schools, "schools", 50, "schools of the district")
	flag.IntVar(&c.rounds, "rounds", 3, "rounds")
	flag.StringVar(&c.dir, "dir", "", "folder for the bundles and databases (default: a temporary one, removed after)")
	flag.StringVar(&c.sink, "sink", "sqlite", "sqlite or memsink")
	flag.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the nightly syncs to this file")
	flag.StringVar(&c.memprofile, "memprofile", "", "write a heap profile of what each sync holds at its peak to this file (the last sync's; slows the syncs)")
	flag.BoolVar(&c.trace, "trace", false, "sample RSS and the heap during each sync and print where their peaks are (slows the syncs)")
	flag.StringVar(&c.traceProfiles, "trace-profiles", "", "with -trace: write a heap profile each second of each sync to this folder")
	flag.BoolVar(&c.reuse, "reuse", false, "with -dir: keep the bundles and the first load's database there, and on a later run reuse them and skip the first load")
	flag.Parse()
	if c.reuse && c.dir == "" {
		log.Fatal("-reuse needs -dir")
	}
	if err := run(context.Background(), c); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, c config) error {
	if c.sink != "sqlite" && c.sink != "memsink" {
		return fmt.Errorf("-sink %q: sqlite or memsink", c.sink)
	}
	dir := c.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "onerosterbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	fmt.Printf("load average before: %s\n", loadavg())
	g := &gen{c: c}
	start := time.Now()
	day1, day2 := filepath.Join(dir, "day1"), filepath.Join(dir, "day2")
	// -reuse: the bundles and the first load's database of an earlier run
	// with the same -users, -per-student, -class-size, -schools and -sink.
	loaded := filepath.Join(dir, fmt.Sprintf("loaded-%d-%d-%d-%d.db", c.users, c.perStudent, c.classSize, c.schools))
	reuse := false
	if c.reuse && c.sink == "sqlite" {
		_, err := os.Stat(loaded)
		reuse = err == nil
	}
	var n1, n2 int
	var err error
	if reuse {
		n1, n2 = g.count(false), g.count(true)
	} else {
		if n1, err = g.write(day1, false); err != nil {
			return err
		}
		if n2, err = g.write(day2, true); err != nil {
			return err
		}
	}
	size, rows, err := floor(day2)
	if err != nil {
		return err
	}
	fmt.Printf("generated in %.1fs: day 1 %d users, day 2 %d users; day 2 bundle %.1f MB, %d rows\n\n",
		time.Since(start).Seconds(), n1, n2, float64(size)/1e6, rows)

	var load, nightly, csvPass []time.Duration
	var loadRSS, nightlyRSS []uint64
	for r := range c.rounds {
		seed := filepath.Join(dir, "seed.db")
		var sink usersync.Sink
		var closeSink func()
		if reuse {
			// The first load of an earlier run, copied.
			bench.RemoveSQLite(seed)
			if err := bench.CopyFile(loaded, seed); err != nil {
				return err
			}
			if sink, closeSink, err = openSink(ctx, c.sink, seed, false); err != nil {
				return err
			}
			fmt.Printf("round %d  first load    reused %s\n", r+1, loaded)
		} else {
			// First load.
			if sink, closeSink, err = openSink(ctx, c.sink, seed, true); err != nil {
				return err
			}
			d, rss, res, err := syncBundle(ctx, day1, sink, c)
			if err == nil && res.Applied.Created != n1 {
				err = fmt.Errorf("first load created %d users, want %d", res.Applied.Created, n1)
			}
			if err != nil {
				closeSink()
				return fmt.Errorf("first load: %w", err)
			}
			load, loadRSS = append(load, d), append(loadRSS, rss.Peak)
			fmt.Printf("round %d  first load    %8.2fs  peak RSS %5d MiB  %s\n", r+1, d.Seconds(), rss.Peak>>20, summary(res))
			if c.reuse && c.sink == "sqlite" && r == 0 {
				closeSink()
				bench.RemoveSQLite(loaded)
				if err := bench.CopyFile(seed, loaded); err != nil {
					return err
				}
				if sink, closeSink, err = openSink(ctx, c.sink, seed, false); err != nil {
					return err
				}
			}
		}

		// Nightly, into what the first load left.
		stopProfile := startProfile(c.cpuprofile)
		d, rss, res, err := syncBundle(ctx, day2, sink, c)
		stopProfile()
		closeSink()
		if err != nil {
			return fmt.Errorf("nightly: %w", err)
		}
		nightly, nightlyRSS = append(nightly, d), append(nightlyRSS, rss.Peak)
		fmt.Printf("round %d  nightly       %8.2fs  peak RSS %5d MiB  %s\n", r+1, d.Seconds(), rss.Peak>>20, summary(res))

		t0 := time.Now()
		if _, _, err := floor(day2); err != nil {
			return err
		}
		csvPass = append(csvPass, time.Since(t0))
		fmt.Printf("round %d  csv floor     %8.2fs\n", r+1, csvPass[r].Seconds())
	}
	if len(load) == 0 {
		load, loadRSS = []time.Duration{0}, []uint64{0} // reused
	}
	fmt.Printf("\nmedian  first load %.2fs (peak RSS %d MiB), nightly %.2fs (peak RSS %d MiB), csv floor %.2fs: nightly/floor %.1fx\n",
		bench.Median(load).Seconds(), medianU(loadRSS)>>20, bench.Median(nightly).Seconds(), medianU(nightlyRSS)>>20,
		bench.Median(csvPass).Seconds(), bench.Ratio(bench.Median(nightly), bench.Median(csvPass)))
	fmt.Printf("Pipeline memory budget %d MiB, sink %s, GOMAXPROCS %d\n", usersync.DefaultMemoryBudget>>20, c.sink, runtime.GOMAXPROCS(0))
	fmt.Printf("load average after: %s\n", loadavg())
	return nil
}

func summary(res *usersync.Result) string {
	a := res.Applied
	return fmt.Sprintf("%s: %d created, %d updated, %d deactivated, %d groups created; %d rejected",
		res.Status, a.Created, a.Updated, a.Deactivated, a.GroupsCreated, res.RejectedTotal)
}

func medianU(v []uint64) uint64 {
	ds := make([]time.Duration, len(v))
	for i, x := range v {
		ds[i] = time.Duration(x)
	}
	return uint64(bench.Median(ds))
}

// syncBundle syncs the bundle in dir into sink and measures it.
func syncBundle(ctx context.Context, dir string, sink usersync.Sink, c config) (time.Duration, bench.RSS, *usersync.Result, error) {
	src, err := dirsource.New(dir, nil)
	if err != nil {
		return 0, bench.RSS{}, nil, err
	}
	defer src.Close()
	m, err := oneroster.New(nil)
	if err != nil {
		return 0, bench.RSS{}, nil, err
	}
	p := usersync.Pipeline{Source: src, Mapper: m, Sink: sink,
		Reconciler: reconcile.New(&reconcile.Policy{RemoveGuard: reconcile.Guard{Max: -1}})}
	var reporters []usersync.Reporter
	if c.memprofile != "" {
		reporters = append(reporters, bench.HeapProfiler(c.memprofile))
	}
	tr := &tracer{profiles: c.traceProfiles}
	if c.trace {
		reporters = append(reporters, tr)
	}
	if len(reporters) > 0 {
		p.Reporter = usersync.ReporterFunc(func(ctx context.Context, e usersync.Event) error {
			for _, r := range reporters {
				if err := r.Report(ctx, e); err != nil {
					return err
				}
			}
			return nil
		})
	}
	stop := bench.StartRSS()
	if c.trace {
		tr.start()
		defer tr.end()
	}
	cpu0, _ := bench.CPUTime()
	start := time.Now()
	res, err := p.Run(ctx)
	d := time.Since(start)
	rss := stop()
	if cpu1, ok := bench.CPUTime(); ok {
		fmt.Printf("         (CPU %.2fs) ", (cpu1 - cpu0).Seconds())
	}
	if err == nil && res.Status != usersync.Succeeded {
		err = fmt.Errorf("status %s", res.Status)
	}
	return d, rss, res, err
}

// openSink opens a new Sink: a fresh SQLite database at path, or memsink.
func openSink(ctx context.Context, kind, path string, fresh bool) (usersync.Sink, func(), error) {
	if kind == "memsink" {
		return memsink.New(), func() {}, nil
	}
	if fresh {
		bench.RemoveSQLite(path)
	}
	db, err := sqlite.Open(path)
	if err != nil {
		return nil, nil, err
	}
	s, err := sqlsink.New(ctx, db, sqlsink.SQLite, nil)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return s, func() { closeDB(db) }, nil
}

func closeDB(db *sql.DB) { db.Close() }

// startProfile starts a CPU profile to path, if it is set, and returns
// the func that stops it.
func startProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// floor reads every file of the bundle with encoding/csv, as the least a
// sync of it must do, and returns the bytes and rows read.
func floor(dir string) (int64, int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	var size int64
	rows := 0
	for _, e := range ents {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return 0, 0, err
		}
		fi, _ := f.Stat()
		size += fi.Size()
		cr := csv.NewReader(bufio.NewReaderSize(f, 64<<10))
		cr.ReuseRecord = true
		for {
			_, err := cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				f.Close()
				return 0, 0, err
			}
			rows++
		}
		f.Close()
	}
	return size, rows, nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// gen writes the bundles.
type gen struct{ c config }

// teacher reports whether user i is a teacher: one user in 20 of each
// school (user i is of school i%schools, its number there i/schools).
func (g *gen) teacher(i int) bool { return (i/g.c.schools)%20 == 0 }

// gone reports whether user i left before day 2, renamed whether day 2
// renames them.
func gone(i int) bool    { return i%200 == 2 }
func renamed(i int) bool { return i%100 == 1 }

// write writes one day's bundle to dir and returns its users.
func (g *gen) write(dir string, day2 bool) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	c := g.c
	total := c.users
	if day2 {
		total += c.users / 200 // 0.5% new
	}
	// Students of a school: those with i%schools == s, all but teachers.
	// Per school, classes in perStudent periods, each period's classes
	// holding about classSize students.
	perSchool := (c.users + c.schools - 1) / c.schools
	perPeriod := max(1, perSchool*19/20/c.classSize) // classes per period in a school
	classes := perPeriod * c.perStudent              // per school
	files := map[string]func(w *bufio.Writer) error{
		"manifest.csv": func(w *bufio.Writer) error {
			_, err := w.WriteString("propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n" +
				"file.orgs,bulk\nfile.classes,bulk\nfile.users,bulk\nfile.enrollments,bulk\n" +
				"file.academicSessions,absent\nfile.courses,absent\nfile.demographics,absent\n" +
				"source.systemName,onerosterbench\n")
			return err
		},
		"orgs.csv": func(w *bufio.Writer) error {
			w.WriteString("sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\nd1,,,Bench District,district,BD,\n")
			for s := range c.schools {
				fmt.Fprintf(w, "s%03d,,,School %d,school,S%d,d1\n", s, s, s)
			}
			return nil
		},
		"classes.csv": func(w *bufio.Writer) error {
			w.WriteString("sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n")
			for s := range c.schools {
				for k := range classes {
					fmt.Fprintf(w, "k%03d-%05d,,,Class %d-%d,,c1,C%d,scheduled,,s%03d,t1,,,%d\n", s, k, s, k, k, s, k/perPeriod+1)
				}
			}
			return nil
		},
		"users.csv": func(w *bufio.Writer) error {
			w.WriteString("sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n")
			for i := range total {
				if day2 && gone(i) {
					continue
				}
				role, grade := "student", fmt.Sprint(1+i%12)
				if g.teacher(i) {
					role, grade = "teacher", ""
				}
				family := fmt.Sprintf("Family%d", i%5000)
				if day2 && renamed(i) {
					family += "-Renamed"
				}
				fmt.Fprintf(w, "u%08d,,,true,s%03d,%s,user%08d,,Given%d,%s,,ID%d,user%08d@school.example,,,,%s,\n",
					i, i%c.schools, role, i, i%3000, family, i, i, grade)
			}
			return nil
		},
		"enrollments.csv": func(w *bufio.Writer) error {
			w.WriteString("sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n")
			n := 0
			for i := range total {
				if day2 && gone(i) {
					continue
				}
				s, li := i%c.schools, i/c.schools
				if g.teacher(i) {
					// A teacher teaches the classes whose number is theirs
					// modulo the school's teachers.
					teachers := perSchool / 20
					for k := li / 20; k < classes && teachers > 0; k += teachers {
						n++
						fmt.Fprintf(w, "e%09d,,,k%03d-%05d,s%03d,u%08d,teacher,true,,\n", n, s, k, s, i)
					}
					continue
				}
				for j := range c.perStudent {
					k := j*perPeriod + (li/c.classSize+j)%perPeriod
					n++
					fmt.Fprintf(w, "e%09d,,,k%03d-%05d,s%03d,u%08d,student,false,,\n", n, s, k, s, i)
				}
			}
			return nil
		},
	}
	for name, write := range files {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return 0, err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		if err := write(w); err != nil {
			f.Close()
			return 0, err
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return 0, err
		}
		if err := f.Close(); err != nil {
			return 0, err
		}
	}
	return g.count(day2), nil
}

// count returns the users of one day's bundle.
func (g *gen) count(day2 bool) int {
	total := g.c.users
	if day2 {
		total += g.c.users / 200
	}
	n := 0
	for i := range total {
		if !(day2 && gone(i)) {
			n++
		}
	}
	return n
}

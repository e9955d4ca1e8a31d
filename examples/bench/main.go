// Command bench measures a full nightly sync of a large directory against a
// baseline taken in the same run:
//
//	go run ./examples/bench -users 1000000
//
// It generates yesterday's and today's file (Cosafe's 11 columns; today 1% of
// users updated, 0.5% new, 0.5% gone), seeds an in-memory Sink with
// yesterday's users, times a plain encoding/csv pass over today's file, then
// runs the Pipeline (dirsource, csvmap, reconcile, memsink) on it: read and
// map, reconcile, apply. It prints rows/s, each phase's time as a ratio to
// the plain pass, and peak heap.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/bench"
)

func main() {
	users := flag.Int("users", 1_000_000, "users in the directory")
	dir := flag.String("dir", "", "folder for the generated files (default: a temporary folder, removed after)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the sync to this file")
	flag.Parse()
	if err := run(os.Stdout, *users, *dir, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(out io.Writer, users int, dir, cpuprofile string) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "usersync-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	t := time.Now()
	s, err := bench.Prepare(dir, users)
	if err != nil {
		return err
	}
	info, err := os.Stat(s.Today)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "generated %d users, today's file %.1f MB, in %v\n", users, mb(info.Size()), since(t))

	t = time.Now()
	rows, err := s.PlainCSV()
	if err != nil {
		return err
	}
	plain := time.Since(t)

	t = time.Now()
	sink, err := s.Seed()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "seeded the sink with yesterday's %d users in %v\n", users, since(t))
	runtime.GC()
	base := bench.HeapBytes()

	stop := startProfile(cpuprofile)
	peak := bench.WatchHeap()
	phases := &phaseClock{}
	t = time.Now()
	res, err := s.Sync(context.Background(), &timedSink{Sink: sink, clock: phases})
	wall := time.Since(t)
	peakHeap := peak()
	stop()
	if err != nil {
		return err
	}
	if err := check(s, res); err != nil {
		return err
	}
	report(out, rows, plain, wall, phases, res, base, peakHeap)
	return nil
}

func report(out io.Writer, rows int, plain, wall time.Duration, ph *phaseClock, res *usersync.Result, base, peak uint64) {
	read := ph.planStart.Sub(res.Started)
	reconcile := ph.firstApply.Sub(ph.planStart)
	apply := res.Finished.Sub(ph.firstApply)
	c := res.Plan.Counts()
	fmt.Fprintf(out, "\nplan: %d created, %d updated, %d deactivated, %d unchanged; %s\n\n",
		c.Created, c.Updated, c.Deactivated, c.Unchanged, res.Status)
	fmt.Fprintf(out, "%-34s %10s %12s %8s\n", "phase", "time", "rows/s", "x plain")
	line := func(name string, d time.Duration) {
		fmt.Fprintf(out, "%-34s %10v %12.0f %8.2f\n", name, d.Round(time.Millisecond), float64(rows)/d.Seconds(), d.Seconds()/plain.Seconds())
	}
	line("plain encoding/csv pass (baseline)", plain)
	line("read + verify + map", read)
	line("reconcile", reconcile)
	line("apply", apply)
	line("whole sync (plan + apply)", wall)
	fmt.Fprintf(out, "\npeak heap during the sync: %.0f MiB (the seeded sink alone: %.0f MiB; the sync's own: %.0f MiB)\n",
		mib(peak), mib(base), mib(peak-min(base, peak)))
	fmt.Fprintf(out, "peak RSS of the process: %s\n", peakRSS())
}

// check fails the bench if the sync did not do what the scenario says.
func check(s *bench.Scenario, res *usersync.Result) error {
	created, gone := s.Expect()
	c := res.Applied
	if res.Status != usersync.Succeeded || c.Created != created || c.Deactivated != gone || c.Updated == 0 {
		return fmt.Errorf("unexpected outcome: %s, applied %+v, want %d created and %d deactivated", res.Status, c, created, gone)
	}
	return nil
}

// phaseClock notes when planning began (the first listing of the sink) and
// when the first change was applied.
type phaseClock struct {
	planStart, firstApply time.Time
}

// timedSink marks the phases as the Pipeline reaches the Sink.
type timedSink struct {
	usersync.Sink
	clock *phaseClock
}

func (s *timedSink) Users(ctx context.Context) iter.Seq2[usersync.Record, error] {
	if s.clock.planStart.IsZero() {
		s.clock.planStart = time.Now()
	}
	return s.Sink.(usersync.Lister).Users(ctx)
}

func (s *timedSink) Groups(ctx context.Context) iter.Seq2[usersync.Group, error] {
	return s.Sink.(usersync.Lister).Groups(ctx)
}

func (s *timedSink) ApplyBatch(ctx context.Context, cs []usersync.Change) []error {
	if s.clock.firstApply.IsZero() {
		s.clock.firstApply = time.Now()
	}
	return s.Sink.(usersync.BatchApplier).ApplyBatch(ctx, cs)
}

func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func startProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return func() {}
	}
	pprof.StartCPUProfile(f)
	return func() { pprof.StopCPUProfile(); f.Close() }
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }
func mb(n int64) float64              { return float64(n) / 1e6 }
func mib(n uint64) float64            { return float64(n) / (1 << 20) }

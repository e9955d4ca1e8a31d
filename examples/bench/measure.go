package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/usersync/usersync/internal/bench"
)

// A step is one timed action of a side; a side's time is the sum of its
// steps' times.
type step struct {
	name string
	run  func(ctx context.Context) error
}

// A side of a comparison: the sync (measured: time, peak RSS, peak heap)
// or its floor (time only).
type side struct {
	name     string
	measured bool
	steps    []step
	// child, when set, gives the figures of the child process the last
	// step ran: its peak RSS and Go heap are then the measured side's
	// instead of this process's, and so are its time and CPU time if it
	// gives them.
	child func() childFigures
	// prepare, when set, runs before the side's steps each round,
	// untimed: it makes what a floor starts from.
	prepare func(ctx context.Context) error
	// repeat runs a floor this many times a round (0 means once): a floor
	// a fraction of a second long suffers most from a busy machine's
	// scheduling, and the median of more samples moves less.
	repeat int
}

// A comparison runs its sides in the same rounds, alternating their order
// (the first side first in even rounds, last in odd ones), so that a slow
// spell of the machine, or caches one side warms for the next, fall on
// both alike.
type comparison struct {
	title  string
	rounds int
	// setup and teardown run around each round, untimed: they put the
	// Sink back into the state each round starts from.
	setup    func(ctx context.Context, round int) error
	teardown func(ctx context.Context, round int) error
	sides    []side
}

// sideResult is what a side measured over every round.
type sideResult struct {
	side
	times [][]time.Duration // per step, per run (repeat runs a round)
	cpu   []time.Duration   // per run: this process's and its children's
	rss   []bench.RSS       // per round, for the measured side
	heap  []uint64          // per round, for the measured side
}

// medianCPU returns the median CPU time of a round.
func (r *sideResult) medianCPU() time.Duration { return bench.Median(r.cpu) }

// step returns the median time of step i.
func (r *sideResult) step(i int) time.Duration { return bench.Median(r.times[i]) }

// total returns the sum of the steps' medians.
func (r *sideResult) total() time.Duration {
	var t time.Duration
	for i := range r.steps {
		t += r.step(i)
	}
	return t
}

// spread returns the fastest and slowest run's total.
func (r *sideResult) spread() (lo, hi time.Duration) {
	for run := range r.times[0] {
		var t time.Duration
		for i := range r.steps {
			t += r.times[i][run]
		}
		if lo == 0 || t < lo {
			lo = t
		}
		hi = max(hi, t)
	}
	return lo, hi
}

// peakRSS returns the highest peak of all rounds: the figure a machine
// must have room for.
func (r *sideResult) peakRSS() bench.RSS {
	var p bench.RSS
	for _, x := range r.rss {
		if x.Peak >= p.Peak {
			p = x
		}
	}
	return p
}

func (r *sideResult) peakHeap() uint64 { return slices.Max(append([]uint64{0}, r.heap...)) }

// run runs the comparison, printing a line per side and round, and returns
// the results in the order of c.sides.
func (c *comparison) run(ctx context.Context, out io.Writer) ([]*sideResult, error) {
	fmt.Fprintf(out, "\n== %s (%d rounds, alternated)\n", c.title, c.rounds)
	res := make([]*sideResult, len(c.sides))
	for i, s := range c.sides {
		res[i] = &sideResult{side: s, times: make([][]time.Duration, len(s.steps))}
	}
	for round := range c.rounds {
		if c.setup != nil {
			if err := c.setup(ctx, round); err != nil {
				return nil, fmt.Errorf("%s: round %d: setup: %w", c.title, round+1, err)
			}
		}
		order := make([]int, len(c.sides))
		for i := range order {
			order[i] = i
		}
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, i := range order {
			for range max(res[i].repeat, 1) {
				if err := res[i].runRound(ctx, out, round); err != nil {
					return nil, fmt.Errorf("%s: %w", c.title, err)
				}
			}
		}
		if c.teardown != nil {
			if err := c.teardown(ctx, round); err != nil {
				return nil, fmt.Errorf("%s: round %d: teardown: %w", c.title, round+1, err)
			}
		}
	}
	for _, r := range res {
		lo, hi := r.spread()
		fmt.Fprintf(out, "median   %-34s %s  (%d runs, %.3fs to %.3fs), cpu %.3fs", r.name, fmtSteps(r, -1), len(r.cpu), lo.Seconds(), hi.Seconds(), r.medianCPU().Seconds())
		if r.measured {
			p := r.peakRSS()
			fmt.Fprintf(out, "  peak RSS %s, peak heap %s", mibs(p.Peak), mibs(r.peakHeap()))
		}
		fmt.Fprintln(out)
	}
	return res, nil
}

// runRound runs the side's steps once. Each step starts after a garbage
// collection that returned freed memory to the OS, so that no step pays
// for another's garbage; the measured side's peak RSS is reset then, and
// its heap sampled while it runs.
func (r *sideResult) runRound(ctx context.Context, out io.Writer, round int) error {
	var rss bench.RSS
	var heap uint64
	var cpu time.Duration
	if r.prepare != nil {
		if err := r.prepare(ctx); err != nil {
			return err
		}
	}
	for i, st := range r.steps {
		stopRSS := bench.StartRSS()
		var stopHeap func() uint64
		if r.measured {
			stopHeap = bench.WatchHeap()
		}
		cpu0, _ := bench.CPUTime()
		start := time.Now()
		err := st.run(ctx)
		d := time.Since(start)
		cpu1, _ := bench.CPUTime()
		stepCPU := cpu1 - cpu0
		if r.measured {
			h, x := stopHeap(), stopRSS()
			if r.child != nil && err == nil { // the child's, not this process's
				f := r.child()
				h, x = f.heap, bench.RSS{Peak: f.rss, Source: "getrusage of the child process"}
				if f.took > 0 {
					d, stepCPU = f.took, f.cpu
				}
			}
			heap = max(heap, h)
			if x.Peak >= rss.Peak {
				rss = x
			}
		}
		cpu += stepCPU
		if err != nil {
			return fmt.Errorf("%s: %s: round %d: %w", r.name, st.name, round+1, err)
		}
		r.times[i] = append(r.times[i], d)
	}
	runtime.GC()
	r.cpu = append(r.cpu, cpu)
	fmt.Fprintf(out, "round %-2d %-34s %s  cpu %.3fs", round+1, r.name, fmtSteps(r, len(r.cpu)-1), cpu.Seconds())
	if r.measured {
		r.rss, r.heap = append(r.rss, rss), append(r.heap, heap)
		if r.child != nil {
			fmt.Fprintf(out, "  RSS %s, heap %s (the child process's)", mibs(rss.Peak), mibs(heap))
		} else {
			fmt.Fprintf(out, "  RSS %s (%s at start), heap %s", mibs(rss.Peak), mibs(rss.Start), mibs(heap))
		}
	}
	fmt.Fprintln(out)
	return nil
}

// fmtSteps shows a side's time in its last run (or, for -1, its medians): each
// step's, and their sum when there are several.
func fmtSteps(r *sideResult, run int) string {
	var parts []string
	var sum time.Duration
	for i, st := range r.steps {
		d := r.step(i)
		if run >= 0 {
			d = r.times[i][run]
		}
		sum += d
		if len(r.steps) > 1 {
			parts = append(parts, fmt.Sprintf("%s %.3fs", st.name, d.Seconds()))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%8.3fs", sum.Seconds())
	}
	return fmt.Sprintf("%8.3fs = %s", sum.Seconds(), strings.Join(parts, " + "))
}

func mibs(n uint64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

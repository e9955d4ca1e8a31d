package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
)

// A row of the final table: a measured sync and its floor.
type row struct {
	id     string // stable across runs, for -save and -vs
	what   string
	sync   *sideResult
	floors []*sideResult // the ratio is to the first; the others are shown beside it
	// floorNote names the floor, or says what the sync did when it has none.
	floorNote string
	target    string
	// cpu says the CPU times of both sides compare: they are spent in this
	// process and the programs it runs, not in a database server.
	cpu     bool
	skipped string // why the row was not measured
}

func (b *benchmark) add(r row) { b.rows = append(b.rows, r) }

// ratio returns the sync's median over the first floor's.
func (r *row) ratio() float64 {
	if len(r.floors) == 0 {
		return 0
	}
	return r.sync.total().Seconds() / r.floors[0].total().Seconds()
}

// table prints every row as a Markdown table, ready for the README.
func (b *benchmark) table(loadEnd, loadStart string) {
	out := b.out
	fmt.Fprintf(out, "\n== summary: %s users, %.3g%% changed, %d rounds, medians; peak RSS of the sync alone, as the OS reports it; %s, GOMAXPROCS %d\n\n",
		count(b.c.users), b.c.changed*100, b.c.rounds, runtime.Version(), runtime.GOMAXPROCS(0))
	fmt.Fprintln(out, "| what | sync (median) | peak RSS (Go heap) | floor (median) | ratio | target |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|")
	for _, r := range b.rows {
		if r.skipped != "" {
			fmt.Fprintf(out, "| %s | skipped: %s | | | | |\n", r.what, r.skipped)
			continue
		}
		p := r.sync.peakRSS()
		mem := fmt.Sprintf("%s (%s)", mibs(p.Peak), mibs(r.sync.peakHeap()))
		if p.Source != "VmHWM" {
			mem += " [" + p.Source + "]"
		}
		floor, ratio := r.floorNote, "-"
		if len(r.floors) > 0 {
			floor = fmt.Sprintf("%.3f s %s", r.floors[0].total().Seconds(), r.floorNote)
			if f := r.floors[0]; len(f.steps) > 1 {
				var parts []string
				for i, st := range f.steps {
					parts = append(parts, fmt.Sprintf("%s %.3f s", st.name, f.step(i).Seconds()))
				}
				floor = fmt.Sprintf("%.3f s = %s", f.total().Seconds(), strings.Join(parts, " + "))
			}
			ratio = fmt.Sprintf("%.2f×", r.ratio())
			if f := r.floors[0]; r.cpu && f.medianCPU() > 0 {
				ratio += fmt.Sprintf(" (CPU %.3f s / %.3f s = %.2f×)", r.sync.medianCPU().Seconds(), f.medianCPU().Seconds(),
					r.sync.medianCPU().Seconds()/f.medianCPU().Seconds())
			}
			for _, f := range r.floors[1:] {
				floor += fmt.Sprintf("; %s %.3f s", f.name, f.total().Seconds())
				ratio += fmt.Sprintf(" (%.2f× %s)", r.sync.total().Seconds()/f.total().Seconds(), f.name)
			}
		}
		fmt.Fprintf(out, "| %s | %.3f s | %s | %s | %s | %s |\n", r.what, r.sync.total().Seconds(), mem, floor, ratio, r.target)
	}
	fmt.Fprintf(out, "\nload average: %s at the start, %s at the end (1, 5, 15 min)\n", loadStart, loadEnd)
}

// saved is what -save writes and -vs reads.
type saved struct {
	Users   int               `json:"users"`
	Figures map[string]figure `json:"figures"`
}

type figure struct {
	What    string  `json:"what"`
	Seconds float64 `json:"seconds"`
	RSSMiB  float64 `json:"rss_mib"`
	Floor   float64 `json:"floor_seconds,omitempty"`
}

func (b *benchmark) figures() saved {
	s := saved{Users: b.c.users, Figures: map[string]figure{}}
	for _, r := range b.rows {
		if r.skipped != "" {
			continue
		}
		f := figure{What: r.what, Seconds: r.sync.total().Seconds(), RSSMiB: float64(r.sync.peakRSS().Peak) / (1 << 20)}
		if len(r.floors) > 0 {
			f.Floor = r.floors[0].total().Seconds()
		}
		s.Figures[r.id] = f
	}
	return s
}

func (b *benchmark) saveFigures(path string) error {
	v, err := json.MarshalIndent(b.figures(), "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(v, '\n'), 0o644)
}

// compareSaved prints this run's figures over those of an earlier run: the
// issue's 5M targets are ratios to the 1M run.
func (b *benchmark) compareSaved(path string) error {
	v, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var old saved
	if err := json.Unmarshal(v, &old); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	now := b.figures()
	fmt.Fprintf(b.out, "\n== %s users over %s users (%s)\n\n", count(now.Users), count(old.Users), path)
	fmt.Fprintln(b.out, "| what | time, this run / that run | peak RSS, this run / that run | target |")
	fmt.Fprintln(b.out, "|---|---|---|---|")
	for _, r := range b.rows {
		f, ok := now.Figures[r.id]
		o, oldOK := old.Figures[r.id]
		if r.skipped != "" || !ok || !oldOK {
			continue
		}
		target := "-"
		if strings.HasPrefix(r.id, "nightly-") {
			target = "time ≤ 5.5×, RSS ≤ 2× (5M over 1M)"
		}
		fmt.Fprintf(b.out, "| %s | %.3f s / %.3f s = %.2f× | %.0f / %.0f MiB = %.2f× | %s |\n",
			r.what, f.Seconds, o.Seconds, f.Seconds/o.Seconds, f.RSSMiB, o.RSSMiB, f.RSSMiB/o.RSSMiB, target)
	}
	return nil
}

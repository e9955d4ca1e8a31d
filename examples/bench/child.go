package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/bench"
)

// childConfig is what the flags tell a child process: the database, the
// folder it syncs, and what the sync must do.
type childConfig struct{ db, drop, expect string }

// childFigures are what a child process measured of its sync: its peak
// RSS, as the OS reports it, and Go heap, as the child sampled it; and,
// for a sync measured on its own, the time and CPU time of the sync alone,
// without the process's start and the opening of the database.
type childFigures struct {
	rss, heap uint64
	took, cpu time.Duration // zero unless asked for
}

// figuresLine starts the line a child process ends its output with: its
// peak heap, and the sync's time and CPU time, in bytes and nanoseconds.
const figuresLine = "child figures: "

// childSync returns a step that syncs drop into the SQLite database at db
// in a child process of this command, and a func that gives that
// process's figures once the step ran. expect is -child-expect's; a
// non-empty profile asks the child for a CPU profile of its sync. With
// syncAlone, the figures include the sync's own time and CPU time, which
// then stand for the step's: a floor measured in this process starts no
// process either.
func (b *benchmark) childSync(db, drop, expect, profile string, syncAlone bool) (step, func() childFigures) {
	var figs childFigures
	st := step{"sync", func(ctx context.Context) error {
		args := []string{"-child-db", db, "-child-drop", drop, "-child-expect", expect, "-changed", fmt.Sprint(b.c.changed)}
		if profile != "" {
			args = append(args, "-cpuprofile", profile)
			profile = "" // the first sync's only
		}
		if b.c.memProfile != "" {
			args = append(args, "-memprofile", b.c.memProfile)
		}
		if b.c.phases {
			args = append(args, "-phases")
		}
		cmd := exec.CommandContext(ctx, os.Args[0], args...)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("child process: %w: %s", err, out.String())
		}
		forwardPhases(out.String())
		figs = childFigures{}
		figs.rss, _ = bench.ChildPeakRSS(cmd.ProcessState)
		_, line, _ := strings.Cut(out.String(), figuresLine)
		var took, cpu int64
		if _, err := fmt.Sscanf(line, "%d %d %d", &figs.heap, &took, &cpu); err != nil {
			return fmt.Errorf("child process: no figures in its output: %s", out.String())
		}
		if syncAlone {
			figs.took, figs.cpu = time.Duration(took), time.Duration(cpu)
		}
		return nil
	}}
	return st, func() childFigures { return figs }
}

// runChild is a child process: one sync of the drop folder into the
// SQLite database, through the Pickup and the Sink's Store, checked
// against -child-expect; it ends its output with its figures.
func runChild(ctx context.Context, out io.Writer, c config) error {
	check, err := parseExpect(c.child.expect)
	if err != nil {
		return err
	}
	db, sink, err := openSQLite(ctx, c.child.db)
	if err != nil {
		return err
	}
	defer db.Close()
	if c.profile != "" {
		stop, err := startCPUProfile(c.profile)
		if err != nil {
			return err
		}
		defer stop()
	}
	b := &benchmark{c: c, log: slog.New(slog.DiscardHandler)}
	stopHeap := bench.WatchHeap()
	cpu0, _ := bench.CPUTime()
	start := time.Now()
	res, err := b.syncFolder(ctx, c.child.drop, sink, sink.Store(), nil)
	took := time.Since(start)
	cpu1, _ := bench.CPUTime()
	heap := stopHeap()
	if err != nil {
		return err
	}
	if err := check(res); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s%d %d %d\n", figuresLine, heap, took.Nanoseconds(), (cpu1 - cpu0).Nanoseconds())
	return nil
}

// forwardPhases copies the lines of -phases in a child's output to
// standard error.
func forwardPhases(out string) {
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, "phases: ") {
			fmt.Fprint(os.Stderr, line)
		}
	}
}

// parseExpect returns the check -child-expect asks for.
func parseExpect(s string) (func(*usersync.Result) error, error) {
	if s == "applied" {
		return func(res *usersync.Result) error {
			if res.Status != usersync.NothingToDo || len(res.Files) != 1 || !res.Files[0].AlreadyApplied {
				return fmt.Errorf("the file again: %s, files %+v", res.Status, res.Files)
			}
			return nil
		}, nil
	}
	var created, gone int
	if _, err := fmt.Sscanf(s, "created=%d,gone=%d", &created, &gone); err != nil {
		return nil, fmt.Errorf(`-child-expect %q: want "applied" or "created=N,gone=M"`, s)
	}
	return func(res *usersync.Result) error { return checkNightly(res, created, gone) }, nil
}

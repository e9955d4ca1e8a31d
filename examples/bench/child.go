package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/bench"
)

// childConfig is what the flags tell a child process: the database, the
// folder it syncs, and what the sync must do.
type childConfig struct{ db, drop, expect string }

// childPeaks are a child process's peak RSS, as the OS reports it, and
// Go heap, as the child sampled it.
type childPeaks struct{ rss, heap uint64 }

// heapLine starts the line a child process ends its output with.
const heapLine = "peak heap "

// childSync returns a step that syncs drop into the SQLite database at db
// in a child process of this command, and a func that gives that
// process's peaks once the step ran. expect is -child-expect's; a
// non-empty profile asks the child for a CPU profile of its sync.
func (b *benchmark) childSync(db, drop, expect, profile string) (step, func() childPeaks) {
	var peaks childPeaks
	st := step{"sync", func(ctx context.Context) error {
		args := []string{"-child-db", db, "-child-drop", drop, "-child-expect", expect}
		if profile != "" {
			args = append(args, "-cpuprofile", profile)
			profile = "" // the first sync's only
		}
		if b.c.memProfile != "" {
			args = append(args, "-memprofile", b.c.memProfile)
		}
		cmd := exec.CommandContext(ctx, os.Args[0], args...)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("child process: %w: %s", err, out.String())
		}
		peaks = childPeaks{}
		peaks.rss, _ = bench.ChildPeakRSS(cmd.ProcessState)
		if _, h, ok := strings.Cut(out.String(), heapLine); ok {
			peaks.heap, _ = strconv.ParseUint(strings.TrimSpace(h), 10, 64)
		}
		return nil
	}}
	return st, func() childPeaks { return peaks }
}

// runChild is a child process: one sync of the drop folder into the
// SQLite database, through the Pickup and the Sink's Store, checked
// against -child-expect; it ends its output with the peak Go heap.
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
		f, err := os.Create(c.profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	b := &benchmark{c: c, log: slog.New(slog.DiscardHandler)}
	stopHeap := bench.WatchHeap()
	res, err := b.syncFolder(ctx, c.child.drop, sink, sink.Store(), nil)
	heap := stopHeap()
	if err != nil {
		return err
	}
	if err := check(res); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s%d\n", heapLine, heap)
	return nil
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

// Command xlsxbench measures a directory delivered as an Excel workbook
// against the same rows delivered as CSV: examples/bench's nightly sync
// (internal/bench's scenario: N users, Cosafe's columns, 2% changed since
// yesterday) into SQLite, through the whole Pipeline (dirsource, the
// csvmap/xlsx Mapper, the spool, reconcile, sqlsink), once from today's
// users.csv and once from the same rows in users.xlsx.
//
// The workbook is written once, with excelize's StreamWriter (inline
// strings, as streaming writers make them) or, with -shared, with a shared
// string table (as Excel saves workbooks), and yesterday's users are
// loaded once into a SQLite database that each round copies. Rounds
// alternate the two files; the medians are reported, with the peak RSS of
// each sync (VmHWM, reset before it) and the ratio of the times.
//
//	go run ./examples/xlsxbench -users 1000000 -rounds 3
package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/csvmap/xlsx"
	"github.com/usersync/usersync/internal/bench"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
	"github.com/usersync/usersync/source/dirsource"
)

func main() {
	users := flag.Int("users", 1_000_000, "users (rows) in the file")
	rounds := flag.Int("rounds", 3, "rounds; each syncs the CSV file and the workbook, in turn")
	shared := flag.Bool("shared", false, "write the workbook with a shared string table, as Excel saves it, rather than with excelize's StreamWriter (inline strings)")
	dir := flag.String("dir", "", "folder for the generated files and the seeded database, kept and reused (default: a temporary folder, removed after)")
	flag.Parse()
	if err := run(*users, *rounds, *dir, *shared); err != nil {
		log.Fatal(err)
	}
}

func run(users, rounds int, dir string, shared bool) error {
	ctx := context.Background()
	if dir == "" {
		d, err := os.MkdirTemp("", "xlsxbench-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	start := time.Now()
	s, err := bench.PrepareWith(dir, users, &bench.PrepareOptions{Reuse: true})
	if err != nil {
		return err
	}
	fmt.Printf("today's users.csv: %d rows, %.1f MB, in %v\n", users, mb(size(s.Today)), time.Since(start).Round(time.Millisecond))
	xlsxDir, tmp := filepath.Join(dir, "drop-xlsx"), filepath.Join(dir, "tmp")
	for _, d := range []string{xlsxDir, tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	xlsxPath, write, how := filepath.Join(xlsxDir, "users.xlsx"), writeXLSX, "excelize's StreamWriter (inline strings)"
	if shared {
		xlsxDir = filepath.Join(dir, "drop-xlsx-shared")
		xlsxPath, write, how = filepath.Join(xlsxDir, "users.xlsx"), writeShared, "a shared string table, as Excel saves it"
		if err := os.MkdirAll(xlsxDir, 0o700); err != nil {
			return err
		}
	}
	if size(xlsxPath) == 0 {
		start = time.Now()
		if err := write(xlsxPath, s.Today); err != nil {
			return err
		}
		fmt.Printf("today's users.xlsx written with %s in %v\n", how, time.Since(start).Round(time.Millisecond))
	}
	fmt.Printf("today's users.xlsx: %.1f MB\n", mb(size(xlsxPath)))
	seed := filepath.Join(dir, "seed.db")
	if size(seed) == 0 {
		start = time.Now()
		if err := seedDB(ctx, seed, s.YesterdayDir(), tmp, users); err != nil {
			return err
		}
		fmt.Printf("yesterday's %d users loaded into SQLite in %v\n", users, time.Since(start).Round(time.Millisecond))
	}
	fmt.Printf("GOMAXPROCS %d, %s\n\n", runtime.GOMAXPROCS(0), loadavg())

	sides := []struct {
		name, dir  string
		times, cpu []time.Duration
		peak       uint64
	}{{name: "csv", dir: s.DropDir()}, {name: "xlsx", dir: xlsxDir}}
	created, gone := s.Expect()
	for r := range rounds {
		for i := range sides {
			side := &sides[i]
			m, err := nightly(ctx, seed, side.dir, tmp, created, gone)
			if err != nil {
				return fmt.Errorf("%s: %w", side.name, err)
			}
			side.times, side.cpu = append(side.times, m.time), append(side.cpu, m.cpu)
			side.peak = max(side.peak, m.rss.Peak)
			fmt.Printf("round %d  %-4s  %7.2fs (CPU %7.2fs)  peak RSS %4.0f MiB (%s)  %s\n",
				r+1, side.name, m.time.Seconds(), m.cpu.Seconds(), mib(m.rss.Peak), m.rss.Source, loadavg())
		}
	}
	fmt.Printf("\nmedians, nightly sync of %d users into SQLite, %s:\n", users, loadavg())
	for _, side := range sides {
		fmt.Printf("  %-4s  %7.2fs (CPU %7.2fs)  peak RSS %4.0f MiB\n", side.name, bench.Median(side.times).Seconds(), bench.Median(side.cpu).Seconds(), mib(side.peak))
	}
	fmt.Printf("  xlsx / csv: %.2f× the time, %.2f× the CPU time; the memory budget is %d MiB\n",
		bench.Ratio(bench.Median(sides[1].times), bench.Median(sides[0].times)),
		bench.Ratio(bench.Median(sides[1].cpu), bench.Median(sides[0].cpu)), usersync.DefaultMemoryBudget>>20)
	return nil
}

// pipeline returns the Pipeline of a sync from src into sink.
func pipeline(src usersync.Source, sink usersync.Sink, tmp string) (*usersync.Pipeline, error) {
	cm, err := csvmap.New(bench.Schema, nil)
	if err != nil {
		return nil, err
	}
	m, err := xlsx.New(cm, &xlsx.Options{TempDir: tmp})
	if err != nil {
		return nil, err
	}
	return &usersync.Pipeline{
		Source: src,
		Mapper: m,
		// A directory of this size sets its own absolute limit, as
		// internal/bench's scenario does.
		Reconciler: reconcile.New(&reconcile.Policy{RemoveGuard: reconcile.Guard{Max: -1}}),
		Sink:       sink,
		TempDir:    tmp,
	}, nil
}

// syncFolder syncs the folder's file into the SQLite database at path and
// returns the sync's time and peak RSS.
func syncFolder(ctx context.Context, path, dir, tmp string) (*usersync.Result, measured, error) {
	var m measured
	db, err := sqlite.Open(path)
	if err != nil {
		return nil, m, err
	}
	defer db.Close()
	sink, err := sqlsink.New(ctx, db, sqlsink.SQLite, nil)
	if err != nil {
		return nil, m, err
	}
	src, err := dirsource.New(dir, nil)
	if err != nil {
		return nil, m, err
	}
	defer src.Close()
	p, err := pipeline(src, sink, tmp)
	if err != nil {
		return nil, m, err
	}
	stop := bench.StartRSS()
	cpu0, _ := bench.CPUTime()
	start := time.Now()
	res, err := p.Run(ctx)
	m.time = time.Since(start)
	cpu1, _ := bench.CPUTime()
	m.cpu, m.rss = cpu1-cpu0, stop()
	if err == nil {
		err = db.Close() // the last connection checkpoints the WAL into the file
	}
	return res, m, err
}

// measured is what a sync measured: its wall and CPU time, its peak RSS.
type measured struct {
	time, cpu time.Duration
	rss       bench.RSS
}

// seedDB loads yesterday's users into a new SQLite database at path.
func seedDB(ctx context.Context, path, dir, tmp string, users int) error {
	res, _, err := syncFolder(ctx, path, dir, tmp)
	if err == nil && res.Applied.Created != users {
		err = fmt.Errorf("first load: %+v, want %d created", res.Applied, users)
	}
	return err
}

// nightly copies the seeded database and syncs the folder's file into the
// copy, checking the outcome; it returns the sync's time and peak RSS.
func nightly(ctx context.Context, seed, dir, tmp string, created, gone int) (measured, error) {
	path := filepath.Join(filepath.Dir(seed), "round.db")
	bench.RemoveSQLite(path)
	defer bench.RemoveSQLite(path)
	if err := bench.CopyFile(seed, path); err != nil {
		return measured{}, err
	}
	res, m, err := syncFolder(ctx, path, dir, tmp)
	if err != nil {
		return m, err
	}
	if c := res.Applied; res.Status != usersync.Succeeded || c.Created != created || c.Deactivated != gone || c.Updated == 0 {
		return m, fmt.Errorf("unexpected outcome: %s, applied %+v, want %d created and %d deactivated", res.Status, c, created, gone)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		return m, fmt.Errorf("left in the temporary folder: %v", left)
	}
	return m, nil
}

// writeXLSX writes the rows of the CSV file to a workbook with excelize's
// StreamWriter.
func writeXLSX(path, csvPath string) error {
	in, err := os.Open(csvPath)
	if err != nil {
		return err
	}
	defer in.Close()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return err
	}
	cr := csv.NewReader(bufio.NewReaderSize(in, 1<<16))
	cr.ReuseRecord = true
	var cells []any
	for n := 1; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		cells = cells[:0]
		for _, v := range rec {
			cells = append(cells, v)
		}
		cell, _ := excelize.CoordinatesToCellName(1, n)
		if err := sw.SetRow(cell, slices.Clone(cells)); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.SaveAs(path)
}

func size(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func mb(n int64) float64   { return float64(n) / 1e6 }
func mib(n uint64) float64 { return float64(n) / (1 << 20) }

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load average unknown"
	}
	var a, b5, c float64
	fmt.Sscan(string(b), &a, &b5, &c)
	return fmt.Sprintf("load average %.2f %.2f %.2f", a, b5, c)
}

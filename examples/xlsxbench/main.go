// Command xlsxbench measures a directory delivered as an Excel workbook
// against the same rows delivered as CSV: a first load of N users (Cosafe's
// columns, from internal/gen) through the whole Pipeline (dirsource, the
// csvmap/xlsx Mapper, the spool, reconcile) into a Sink that only counts
// changes, so that the peak RSS is the sync core's, not a directory's.
//
// The workbook is written once, with excelize's StreamWriter (inline
// strings, as streaming writers make them), in a temporary folder. Rounds
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
	"sync/atomic"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/csvmap/xlsx"
	"github.com/usersync/usersync/internal/bench"
	"github.com/usersync/usersync/internal/gen"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/source/dirsource"
)

func main() {
	users := flag.Int("users", 1_000_000, "users (rows) in the file")
	rounds := flag.Int("rounds", 3, "rounds; each syncs the CSV file and the workbook, in turn")
	dir := flag.String("dir", "", "folder for the generated files, kept (default: a temporary folder, removed after)")
	flag.Parse()
	if err := run(*users, *rounds, *dir); err != nil {
		log.Fatal(err)
	}
}

func run(users, rounds int, dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "xlsxbench-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	csvDir, xlsxDir, tmp := filepath.Join(dir, "csv"), filepath.Join(dir, "xlsx"), filepath.Join(dir, "tmp")
	for _, d := range []string{csvDir, xlsxDir, tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	csvPath, xlsxPath := filepath.Join(csvDir, "users.csv"), filepath.Join(xlsxDir, "users.xlsx")
	start := time.Now()
	if err := writeCSV(csvPath, users); err != nil {
		return err
	}
	fmt.Printf("users.csv: %d rows, %.1f MB, in %v\n", users, mb(size(csvPath)), time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if err := writeXLSX(xlsxPath, csvPath); err != nil {
		return err
	}
	fmt.Printf("users.xlsx: %.1f MB, written with excelize's StreamWriter in %v\n", mb(size(xlsxPath)), time.Since(start).Round(time.Millisecond))
	fmt.Printf("GOMAXPROCS %d, %s\n\n", runtime.GOMAXPROCS(0), loadavg())

	sides := []struct {
		name, dir string
		times     []time.Duration
		peak      uint64
	}{{name: "csv", dir: csvDir}, {name: "xlsx", dir: xlsxDir}}
	for r := range rounds {
		for i := range sides {
			s := &sides[i]
			d, rss, err := syncOnce(s.dir, tmp, users)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			s.times = append(s.times, d)
			s.peak = max(s.peak, rss.Peak)
			fmt.Printf("round %d  %-4s  %7.2fs  peak RSS %4.0f MiB (%s)\n", r+1, s.name, d.Seconds(), mib(rss.Peak), rss.Source)
		}
	}
	fmt.Printf("\nmedians, %d users, %s:\n", users, loadavg())
	for _, s := range sides {
		fmt.Printf("  %-4s  %7.2fs  peak RSS %4.0f MiB\n", s.name, bench.Median(s.times).Seconds(), mib(s.peak))
	}
	fmt.Printf("  xlsx / csv: %.2f× the time; the memory budget is %d MiB\n",
		bench.Ratio(bench.Median(sides[1].times), bench.Median(sides[0].times)), usersync.DefaultMemoryBudget>>20)
	return nil
}

// syncOnce runs a first load of the folder's file into a counting Sink and
// returns its time and peak RSS.
func syncOnce(dir, tmp string, users int) (time.Duration, bench.RSS, error) {
	src, err := dirsource.New(dir, nil)
	if err != nil {
		return 0, bench.RSS{}, err
	}
	defer src.Close()
	cm, err := csvmap.New(csvmap.Cosafe(), nil)
	if err != nil {
		return 0, bench.RSS{}, err
	}
	m, err := xlsx.New(cm, &xlsx.Options{TempDir: tmp})
	if err != nil {
		return 0, bench.RSS{}, err
	}
	sink := &countingSink{}
	p := usersync.Pipeline{
		Source:     src,
		Mapper:     m,
		Reconciler: reconcile.New(nil),
		Sink:       sink,
		TempDir:    tmp,
	}
	stop := bench.StartRSS()
	start := time.Now()
	res, err := p.Run(context.Background())
	d := time.Since(start)
	rss := stop()
	if err != nil {
		return 0, rss, err
	}
	if res.Applied.Created != users || sink.n.Load() < int64(users) {
		return 0, rss, fmt.Errorf("created %d (%d changes), want %d", res.Applied.Created, sink.n.Load(), users)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		return 0, rss, fmt.Errorf("left in the temporary folder: %v", left)
	}
	return d, rss, nil
}

// A countingSink applies nothing and counts the changes.
type countingSink struct{ n atomic.Int64 }

func (s *countingSink) Apply(ctx context.Context, c usersync.Change) error {
	s.n.Add(1)
	return nil
}

func (s *countingSink) ApplyBatch(ctx context.Context, cs []usersync.Change) []error {
	s.n.Add(int64(len(cs)))
	return nil
}

func writeCSV(path string, users int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := gen.Write(f, gen.Config{Rows: users, Seed: 1, SkipEvery: -1}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
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

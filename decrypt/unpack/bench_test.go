package unpack_test

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/decrypt/unpack"
	"github.com/usersync/usersync/internal/bench"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/source/dirsource"
)

// BenchmarkZip syncs the bench command's scenario (internal/bench: today's
// file against a memsink seeded with yesterday's users) three ways: the
// CSV file bare without an Unpacker, bare with one (which only looks at
// its first bytes), and inside a zip. Each of b.N rounds runs the three in
// turn, so that a slow spell of the machine falls on all alike, and the
// medians are printed, with the zip's and the unpacker's ratios to bare
// as metrics, on the clock and in CPU time (which varies less on a busy
// machine). Run it with -benchtime=5x or more.
// USERSYNC_BENCH_USERS sets the users (100,000 by default; 770,000 make a
// 125 MB file).
func BenchmarkZip(b *testing.B) {
	users := 100_000
	if v := os.Getenv("USERSYNC_BENCH_USERS"); v != "" {
		var err error
		if users, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	dir := filepath.Join(os.TempDir(), "usersync-benchzip-"+strconv.Itoa(users))
	s, err := bench.PrepareWith(dir, users, &bench.PrepareOptions{Reuse: true})
	if err != nil {
		b.Fatal(err)
	}
	zipDir := filepath.Join(dir, "zipdrop")
	if err := zipFile(s.Today, filepath.Join(zipDir, "users.zip")); err != nil {
		b.Fatal(err)
	}
	info, err := os.Stat(s.Today)
	if err != nil {
		b.Fatal(err)
	}
	zinfo, err := os.Stat(filepath.Join(zipDir, "users.zip"))
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d users: users.csv %d bytes, users.zip %d bytes", users, info.Size(), zinfo.Size())
	cpus := map[string][]time.Duration{}
	side := func(name, dir string, u usersync.Unpacker) bench.Contender {
		return bench.Contender{Name: name, Round: func(ctx context.Context, _ int) (time.Duration, string, error) {
			sink, err := s.Seed()
			if err != nil {
				return 0, "", err
			}
			runtime.GC()
			start, cpu0 := time.Now(), cpuTime()
			src, err := dirsource.New(dir, nil)
			if err != nil {
				return 0, "", err
			}
			defer src.Close()
			m, err := csvmap.New(bench.Schema, nil)
			if err != nil {
				return 0, "", err
			}
			p := usersync.Pipeline{Source: src, Unpacker: u, Mapper: m, Sink: sink,
				Reconciler: reconcile.New(&reconcile.Policy{RemoveGuard: reconcile.Guard{Max: -1}})}
			res, err := p.Run(ctx)
			d, cpu := time.Since(start), cpuTime()-cpu0
			if err == nil && res.Files[0].Records != users {
				err = fmt.Errorf("%d records, want %d", res.Files[0].Records, users)
			}
			cpus[name] = append(cpus[name], cpu)
			return d, fmt.Sprintf("  cpu %.3fs", cpu.Seconds()), err
		}}
	}
	c := bench.Comparison{Size: info.Size(), Rounds: b.N, Width: 14, Contenders: []bench.Contender{
		side("bare", s.DropDir(), nil),
		side("bare+unpacker", s.DropDir(), unpack.New(nil)),
		side("zip", zipDir, unpack.New(nil)),
	}}
	b.ResetTimer()
	medians, err := c.Run(context.Background(), os.Stdout)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(bench.Ratio(medians[2], medians[0]), "zip/bare")
	b.ReportMetric(bench.Ratio(medians[1], medians[0]), "unpacker/bare")
	bare, zipped, unpacker := bench.Median(cpus["bare"]), bench.Median(cpus["zip"]), bench.Median(cpus["bare+unpacker"])
	fmt.Printf("median cpu: bare %.3fs, bare+unpacker %.3fs, zip %.3fs\n", bare.Seconds(), unpacker.Seconds(), zipped.Seconds())
	b.ReportMetric(bench.Ratio(zipped, bare), "zip/bare-cpu")
	b.ReportMetric(bench.Ratio(unpacker, bare), "unpacker/bare-cpu")
	b.SetBytes(info.Size())
}

// zipFile writes a zip holding the file at src, deflated at the default
// level, as users.csv; an existing one is kept.
func zipFile(src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst + ".tmp")
	if err != nil {
		return err
	}
	defer out.Close()
	zw := zip.NewWriter(out)
	w, err := zw.Create("users.csv")
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, in); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(dst+".tmp", dst)
}

// BenchmarkRead measures what opening the zip adds to reading its CSV
// file, without the rest of a sync: the bare file read through SHA-256 as
// the Pipeline hashes it, against the zip hashed, then opened and its file
// read. It reads the files BenchmarkZip prepared (run that first, with
// the same USERSYNC_BENCH_USERS).
func BenchmarkRead(b *testing.B) {
	users := 100_000
	if v := os.Getenv("USERSYNC_BENCH_USERS"); v != "" {
		var err error
		if users, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	dir := filepath.Join(os.TempDir(), "usersync-benchzip-"+strconv.Itoa(users))
	bare, zipped := filepath.Join(dir, "drop", "users.csv"), filepath.Join(dir, "zipdrop", "users.zip")
	info, err := os.Stat(bare)
	if err != nil {
		b.Skipf("run BenchmarkZip first: %v", err)
	}
	hashAll := func(path string) (*os.File, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		if _, err = io.Copy(sha256.New(), f); err == nil {
			_, err = f.Seek(0, io.SeekStart)
		}
		return f, err
	}
	b.Run("bare", func(b *testing.B) {
		b.SetBytes(info.Size())
		defer reportCPU(b, cpuTime())
		for range b.N {
			f, err := hashAll(bare)
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("zip", func(b *testing.B) {
		b.SetBytes(info.Size())
		u := unpack.New(nil)
		defer reportCPU(b, cpuTime())
		for range b.N {
			f, err := hashAll(zipped)
			if err != nil {
				b.Fatal(err)
			}
			p, cleanup := usersync.NewPacked(f, usersync.FileInfo{Name: "users.zip", Size: -1}, nil, "")
			up, err := u.Unpack(context.Background(), p)
			if err != nil {
				b.Fatal(err)
			}
			_, r, err := up.Archive.Next()
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, r); err != nil || n != info.Size() {
				b.Fatal(n, err)
			}
			cleanup()
			f.Close()
		}
	})
}

// reportCPU reports the CPU time per op since start: on a busy machine it
// varies less than ns/op.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N)/1e9, "cpu-s/op")
}

package unpack_test

import (
	"archive/zip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

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
// its first bytes), and inside a zip. Each round of -count runs the three
// in turn, so run it with -benchtime=1x -count=7 and compare the medians.
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
	for _, side := range []struct {
		name string
		dir  string
		u    usersync.Unpacker
	}{
		{"bare", s.DropDir(), nil},
		{"bare+unpacker", s.DropDir(), unpack.New(nil)},
		{"zip", zipDir, unpack.New(nil)},
	} {
		b.Run(side.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				sink, err := s.Seed()
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				src, err := dirsource.New(side.dir, nil)
				if err != nil {
					b.Fatal(err)
				}
				m, err := csvmap.New(bench.Schema, nil)
				if err != nil {
					b.Fatal(err)
				}
				p := usersync.Pipeline{Source: src, Unpacker: side.u, Mapper: m, Sink: sink,
					Reconciler: reconcile.New(&reconcile.Policy{RemoveGuard: reconcile.Guard{Max: -1}})}
				res, err := p.Run(context.Background())
				src.Close()
				if err != nil {
					b.Fatal(err)
				}
				if res.Files[0].Records != users {
					b.Fatalf("%d records, want %d", res.Files[0].Records, users)
				}
			}
			b.SetBytes(info.Size())
		})
	}
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

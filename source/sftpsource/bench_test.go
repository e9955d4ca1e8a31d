package sftpsource_test

import (
	"crypto/rand"
	"io"
	"os"
	"path"
	"path/filepath"
	"testing"
	"time"

	"github.com/usersync/usersync/internal/sftptest"
	"github.com/usersync/usersync/source/sftpsource"
)

// benchSize is the file BenchmarkDownload fetches: 125 MB.
const benchSize = 125_000_000

// BenchmarkDownload downloads a 125 MB file from the loopback server:
// OpenSSH's sshd when .ci/services/sshd.sh started one, otherwise the
// in-process server. examples/sftpbench compares the same download with
// OpenSSH's sftp client.
func BenchmarkDownload(b *testing.B) {
	cfg, local := benchServer(b)
	p := filepath.Join(local, "bench.bin")
	data := make([]byte, benchSize)
	rand.Read(data)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.Remove(p) })
	s, err := sftpsource.Dial(b.Context(), cfg, &sftpsource.Options{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetBytes(benchSize)
	for b.Loop() {
		rc, err := s.Open(b.Context(), "bench.bin")
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc)
		if err == nil {
			err = rc.Close()
		}
		if err != nil || n != benchSize {
			b.Fatalf("read %d bytes: %v", n, err)
		}
	}
}

// benchServer returns a Config for the real sshd, or for an in-process
// server, and the local folder where its files are.
func benchServer(b *testing.B) (sftpsource.Config, string) {
	if addr := os.Getenv("USERSYNC_TEST_SSHD_ADDR"); addr != "" {
		key, err := os.ReadFile(os.Getenv("USERSYNC_TEST_SSHD_KEY"))
		if err != nil {
			b.Fatal(err)
		}
		folder := os.Getenv("USERSYNC_TEST_SSHD_FOLDER")
		return sftpsource.Config{
			Addr: addr, User: os.Getenv("USERSYNC_TEST_SSHD_USER"), PrivateKey: key, Folder: folder,
			KnownHostsFile: os.Getenv("USERSYNC_TEST_SSHD_KNOWN_HOSTS"),
		}, os.Getenv("USERSYNC_TEST_SSHD_LOCAL_DIR")
	}
	b.Log("USERSYNC_TEST_SSHD_ADDR is unset: benchmarking the in-process server")
	srv := sftptest.NewServer(b, nil)
	if err := srv.Put("in/.keep", nil, time.Now()); err != nil {
		b.Fatal(err)
	}
	return config(b, srv), path.Join(srv.Dir, "in")
}

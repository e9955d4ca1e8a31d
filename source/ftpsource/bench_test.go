package ftpsource_test

import (
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/usersync/usersync/internal/ftptest"
	"github.com/usersync/usersync/source/ftpsource"
)

// benchSize is the file BenchmarkDownload fetches: 125 MB.
const benchSize = 125_000_000

// BenchmarkDownload downloads a 125 MB file over explicit FTPS from the
// loopback server: vsftpd when .ci/services/vsftpd.sh started one,
// otherwise the in-process server. Each round is a whole session: connect,
// TLS, log in, download, close. examples/ftpbench compares the same
// download with curl.
func BenchmarkDownload(b *testing.B) {
	cfg, local := benchServer(b)
	p := filepath.Join(local, "bench.bin")
	data := make([]byte, benchSize)
	rand.Read(data)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.Remove(p) })
	b.SetBytes(benchSize)
	for b.Loop() {
		s, err := ftpsource.Dial(b.Context(), cfg, &ftpsource.Options{Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		rc, err := s.Open(b.Context(), "bench.bin")
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc)
		if err == nil {
			err = rc.Close()
		}
		s.Close()
		if err != nil || n != benchSize {
			b.Fatalf("read %d bytes: %v", n, err)
		}
	}
}

// benchServer returns a Config for the real vsftpd, or for an in-process
// server, and the local folder where its files are.
func benchServer(b *testing.B) (ftpsource.Config, string) {
	if addr := os.Getenv("USERSYNC_TEST_FTPS_ADDR"); addr != "" {
		return ftpsource.Config{
			Host: addr, User: os.Getenv("USERSYNC_TEST_FTPS_USER"), Password: os.Getenv("USERSYNC_TEST_FTPS_PASSWORD"),
			Dir: os.Getenv("USERSYNC_TEST_FTPS_FOLDER"), RootCAs: pool(b, os.Getenv("USERSYNC_TEST_FTPS_CA")),
		}, os.Getenv("USERSYNC_TEST_FTPS_DIR")
	}
	b.Log("USERSYNC_TEST_FTPS_ADDR is unset: benchmarking the in-process server")
	srv := ftptest.NewServer(b, nil)
	if err := srv.Put("in/.keep", nil, time.Now()); err != nil {
		b.Fatal(err)
	}
	return config(srv), filepath.Join(srv.Dir, "in")
}

// Command ftpbench measures how fast ftpsource downloads a file over
// explicit FTPS from a real vsftpd (require_ssl_reuse=YES), against curl
// fetching the same file from the same server in the same run:
//
//	bash -c 'c=(); at_exit() { c+=("$1"); }; trap '"'"'for x in "${c[@]}"; do eval "$x"; done'"'"' EXIT
//	         apt_install() { apt-get install -y -qq vsftpd openssl curl >/dev/null; }
//	         source .ci/services/vsftpd.sh && go run ./examples/ftpbench'
//
// (.ci/run defines at_exit and apt_install, and sources the script the
// same way; the servers and their user are removed at exit.) It reads the
// server from the USERSYNC_TEST_FTPS_* variables that script exports,
// writes a random file of -size bytes into the served folder, and
// downloads it -rounds times with each client in turn, each time as a
// whole session: connect, AUTH TLS, verify the certificate, log in,
// download to nowhere, disconnect. It prints the median of each client and
// the ratio usersync/curl; the target is at most 1.3.
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/usersync/usersync/internal/bench"
	"github.com/usersync/usersync/source/ftpsource"
)

func main() {
	size := flag.Int64("size", 125_000_000, "bytes in the file")
	rounds := flag.Int("rounds", 5, "downloads per client")
	flag.Parse()
	if err := run(context.Background(), *size, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "ftpbench:", err)
		os.Exit(1)
	}
}

// server is the vsftpd the USERSYNC_TEST_FTPS_* variables describe.
type server struct {
	addr, user, password, ca, folder, dir string
}

func fromEnv() (*server, error) {
	s := &server{}
	err := bench.Env("USERSYNC_TEST_FTPS_", "vsftpd with .ci/services/vsftpd.sh",
		bench.Var{Name: "ADDR", Dst: &s.addr}, bench.Var{Name: "USER", Dst: &s.user},
		bench.Var{Name: "PASSWORD", Dst: &s.password}, bench.Var{Name: "CA", Dst: &s.ca},
		bench.Var{Name: "FOLDER", Dst: &s.folder}, bench.Var{Name: "DIR", Dst: &s.dir})
	return s, err
}

func run(ctx context.Context, size int64, rounds int) error {
	srv, err := fromEnv()
	if err != nil {
		return err
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		return fmt.Errorf("curl is not installed: %w", err)
	}
	const name = "ftpbench.bin"
	local := filepath.Join(srv.dir, name)
	_, err = bench.WriteRandom(local, size)
	defer os.Remove(local)
	if err != nil {
		return err
	}
	// vsftpd reads it as the FTP user, who does not own it.
	if err := os.Chmod(local, 0o644); err != nil {
		return err
	}
	// curl reads the password from a netrc file, not from its command
	// line, where any user of the machine could read it.
	netrc, err := srv.netrc()
	if err != nil {
		return err
	}
	defer os.Remove(netrc)
	roots, err := certPool(srv.ca)
	if err != nil {
		return err
	}

	fmt.Printf("downloading %d bytes over explicit FTPS from vsftpd at %s, %d rounds, clients in turn\n", size, srv.addr, rounds)
	c := bench.Comparison{Size: size, Rounds: rounds, Width: 20, Contenders: []bench.Contender{
		bench.Download("usersync ftpsource", size, func(ctx context.Context) (int64, error) { return srv.usersync(ctx, roots, name) }),
		bench.Download("curl", size, func(ctx context.Context) (int64, error) { return srv.curl(ctx, curl, netrc, name) }),
	}}
	medians, err := c.Run(ctx, os.Stdout)
	if err != nil {
		return err
	}
	fmt.Printf("\nratio usersync/curl: %.2f (target <= 1.3)\n", bench.Ratio(medians[0], medians[1]))
	return nil
}

func certPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no certificate", file)
	}
	return p, nil
}

// netrc writes a netrc file for curl, readable by its owner only.
func (s *server) netrc() (string, error) {
	host := s.addr[:strings.LastIndexByte(s.addr, ':')]
	f, err := os.CreateTemp("", "ftpbench-netrc-")
	if err != nil {
		return "", err
	}
	_, err = fmt.Fprintf(f, "machine %s login %s password %s\n", host, s.user, s.password)
	return f.Name(), errors.Join(err, f.Close())
}

// usersync downloads the file through ftpsource, in a session of its own.
func (s *server) usersync(ctx context.Context, roots *x509.CertPool, name string) (int64, error) {
	src, err := ftpsource.Dial(ctx, ftpsource.Config{
		Host: s.addr, User: s.user, Password: s.password, Dir: s.folder, RootCAs: roots,
	}, &ftpsource.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return 0, err
	}
	defer src.Close()
	rc, err := src.Open(ctx, name)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, rc)
	return n, errors.Join(err, rc.Close())
}

// curl downloads the file with curl over explicit TLS (--ssl-reqd) to
// nowhere, verifying the certificate against the same CA.
func (s *server) curl(ctx context.Context, prog, netrc, name string) (int64, error) {
	url := "ftp://" + s.addr + "/" + path.Join(s.folder, name)
	cmd := exec.CommandContext(ctx, prog, "-sS", "--ssl-reqd", "--cacert", s.ca, "--netrc-file", netrc,
		"-o", "/dev/null", "-w", "%{size_download}", url)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return 0, fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
}

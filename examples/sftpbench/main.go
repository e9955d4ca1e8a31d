// Command sftpbench measures how fast sftpsource downloads a file from a
// real OpenSSH sshd, against OpenSSH's own sftp client fetching the same
// file from the same server in the same run:
//
//	bash -c 'c=(); at_exit() { c+=("$1"); }; trap '"'"'for x in "${c[@]}"; do eval "$x"; done'"'"' EXIT
//	         apt_install() { apt-get install -y -qq openssh-server openssh-client >/dev/null; }
//	         source .ci/services/sshd.sh && go run ./examples/sftpbench'
//
// (.ci/run defines at_exit and apt_install, and sources the script the
// same way; the server and its user are removed at exit.) It reads the server
// from the USERSYNC_TEST_SSHD_* variables that script exports, writes a
// random file of -size bytes into the served folder, and downloads it
// -rounds times with each client in turn, each time as a whole session:
// connect, verify the host key, log in with the same ed25519 key, download
// to nowhere, disconnect. It prints the median of each client and the
// ratio usersync/OpenSSH; below 1.0, usersync is faster.
//
// A third contender, pkg/sftp's File.WriteTo feeding an io.Pipe, is the
// other way to stream a download with many requests in flight; it is
// measured for comparison (sftpsource does not use it: it silently drops
// data when the server sends less than asked, pkg/sftp issue 658).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/usersync/usersync/internal/bench"
	"github.com/usersync/usersync/source/sftpsource"
)

func main() {
	size := flag.Int64("size", 125_000_000, "bytes in the file")
	rounds := flag.Int("rounds", 5, "downloads per client")
	flag.Parse()
	if err := run(context.Background(), *size, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "sftpbench:", err)
		os.Exit(1)
	}
}

// server is the sshd the USERSYNC_TEST_SSHD_* variables describe.
type server struct {
	addr, user, key, knownHosts, folder, localDir string
}

func fromEnv() (*server, error) {
	s := &server{}
	err := bench.Env("USERSYNC_TEST_SSHD_", "sshd with .ci/services/sshd.sh",
		bench.Var{Name: "ADDR", Dst: &s.addr}, bench.Var{Name: "USER", Dst: &s.user},
		bench.Var{Name: "KEY", Dst: &s.key}, bench.Var{Name: "KNOWN_HOSTS", Dst: &s.knownHosts},
		bench.Var{Name: "FOLDER", Dst: &s.folder}, bench.Var{Name: "LOCAL_DIR", Dst: &s.localDir})
	return s, err
}

func run(ctx context.Context, size int64, rounds int) error {
	srv, err := fromEnv()
	if err != nil {
		return err
	}
	sftpProg, err := exec.LookPath("sftp")
	if err != nil {
		return fmt.Errorf("OpenSSH's sftp client is not installed: %w", err)
	}
	const name = "sftpbench.bin"
	local := filepath.Join(srv.localDir, name)
	_, err = bench.WriteRandom(local, size)
	defer os.Remove(local)
	if err != nil {
		return err
	}

	fmt.Printf("downloading %d bytes from sshd at %s, %d rounds, clients in turn\n", size, srv.addr, rounds)
	c := bench.Comparison{Size: size, Rounds: rounds, Width: 22, Contenders: []bench.Contender{
		bench.Download("usersync sftpsource", size, func(ctx context.Context) (int64, error) { return srv.usersync(ctx, name) }),
		bench.Download("OpenSSH sftp", size, func(ctx context.Context) (int64, error) { return srv.openssh(ctx, sftpProg, name, size) }),
		bench.Download("pkg/sftp WriteTo+Pipe", size, func(ctx context.Context) (int64, error) { return srv.writeTo(ctx, name) }),
	}}
	medians, err := c.Run(ctx, os.Stdout)
	if err != nil {
		return err
	}
	fmt.Printf("\nratio usersync/OpenSSH sftp: %.2f (target <= 1.0)\n", bench.Ratio(medians[0], medians[1]))
	fmt.Printf("ratio usersync/WriteTo+Pipe: %.2f\n", bench.Ratio(medians[0], medians[2]))
	return nil
}

// usersync downloads the file through sftpsource, in a session of its own.
func (s *server) usersync(ctx context.Context, name string) (int64, error) {
	key, err := os.ReadFile(s.key)
	if err != nil {
		return 0, err
	}
	src, err := sftpsource.Dial(ctx, sftpsource.Config{
		Addr: s.addr, User: s.user, PrivateKey: key, Folder: s.folder, KnownHostsFile: s.knownHosts,
	}, &sftpsource.Options{Logger: slog.New(slog.DiscardHandler)})
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

// openssh downloads the file with OpenSSH's sftp client to /dev/null.
func (s *server) openssh(ctx context.Context, prog, name string, size int64) (int64, error) {
	host, port, err := net.SplitHostPort(s.addr)
	if err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, prog, "-q", "-b", "-", "-i", s.key, "-P", port,
		"-o", "UserKnownHostsFile="+s.knownHosts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
		s.user+"@"+host)
	cmd.Stdin = strings.NewReader("get " + path.Join(s.folder, name) + " /dev/null\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("%w: %s", err, out)
	}
	return size, nil // sftp -b fails on a short transfer
}

// writeTo downloads the file with pkg/sftp's File.WriteTo into an io.Pipe,
// read as a Pipeline would read a Source.
func (s *server) writeTo(ctx context.Context, name string) (int64, error) {
	key, err := os.ReadFile(s.key)
	if err != nil {
		return 0, err
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return 0, err
	}
	hk, err := knownhosts.New(s.knownHosts)
	if err != nil {
		return 0, err
	}
	client, err := ssh.Dial("tcp", s.addr, &ssh.ClientConfig{
		User: s.user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: hk,
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
	})
	if err != nil {
		return 0, err
	}
	defer client.Close()
	sc, err := sftp.NewClient(client)
	if err != nil {
		return 0, err
	}
	defer sc.Close()
	f, err := sc.Open(path.Join(s.folder, name))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	pr, pw := io.Pipe()
	go func() {
		_, err := f.WriteTo(pw)
		pw.CloseWithError(err)
	}()
	return io.Copy(io.Discard, pr)
}

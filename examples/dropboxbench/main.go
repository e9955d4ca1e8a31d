// Command dropboxbench measures how fast the embedded SFTP drop box
// (source/sftpserver) takes an upload from OpenSSH's sftp client, against
// the same client uploading the same file to a real OpenSSH sshd
// (internal-sftp) in the same run:
//
//	bash -c 'c=(); at_exit() { c+=("$1"); }; trap '"'"'for x in "${c[@]}"; do eval "$x"; done'"'"' EXIT
//	         apt_install() { apt-get install -y -qq openssh-server openssh-client >/dev/null; }
//	         source .ci/services/sshd.sh && go run ./examples/dropboxbench'
//
// (.ci/run defines at_exit and apt_install, and sources the script the
// same way; the server and its user are removed at exit.) It reads the sshd
// from the USERSYNC_TEST_SSHD_* variables that script exports, starts the
// drop box on 127.0.0.1 with a tenant that logs in with the same ed25519
// key, writes a random file of -size bytes, and uploads it -rounds times to
// each server in turn, each time as a whole "sftp -b" session: connect,
// verify the host key, log in, upload, disconnect. The drop box's default
// options apply: each upload is hashed and synced to disk before it is
// announced, which sshd does not do; -nosync turns the sync off. It checks
// every upload arrived whole, and prints the median of each server and the
// ratio drop box/sshd (target: 1.5 at most), with the CPU time the drop box
// spent on each upload. -cipher makes sftp use one cipher with both servers
// (it picks chacha20-poly1305@openssh.com by default, whose Go
// implementation has no amd64 assembly); -cpuprofile profiles this process,
// where the drop box runs.
package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
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
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/usersync/usersync/internal/bench"
	"github.com/usersync/usersync/source/sftpserver"
)

func main() {
	size := flag.Int64("size", 125_000_000, "bytes in the file")
	rounds := flag.Int("rounds", 5, "uploads per server")
	noSync := flag.Bool("nosync", false, "set the drop box's Options.NoSync")
	cipher := flag.String("cipher", "", "have sftp use this cipher with both servers (sftp -c); empty for its default, chacha20-poly1305@openssh.com")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of this process, which runs the drop box, to this file")
	flag.Parse()
	if err := profiled(*cpuProfile, func() error { return run(context.Background(), *size, *rounds, *noSync, *cipher) }); err != nil {
		fmt.Fprintln(os.Stderr, "dropboxbench:", err)
		os.Exit(1)
	}
}

// profiled runs f, with a CPU profile written to p unless p is empty.
func profiled(p string, f func() error) error {
	if p == "" {
		return f()
	}
	out, err := os.Create(p)
	if err != nil {
		return err
	}
	defer out.Close()
	if err := pprof.StartCPUProfile(out); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	return f()
}

// target is a server to upload to with OpenSSH's sftp client.
type target struct {
	name       string
	addr, user string
	knownHosts string
	folder     string                            // remote folder to upload into
	received   func(name string) (string, error) // SHA-256 of what arrived, after the upload
	clean      func(name string) error
}

func run(ctx context.Context, size int64, rounds int, noSync bool, cipher string) error {
	env, err := fromEnv()
	if err != nil {
		return err
	}
	sftpProg, err := exec.LookPath("sftp")
	if err != nil {
		return fmt.Errorf("OpenSSH's sftp client is not installed: %w", err)
	}
	work, err := os.MkdirTemp("", "dropboxbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	local := filepath.Join(work, "upload.bin")
	want, err := bench.WriteRandom(local, size)
	if err != nil {
		return err
	}
	box, stop, err := startDropBox(ctx, work, env, noSync)
	if err != nil {
		return err
	}
	defer stop()
	sshd := env.target()

	fmt.Printf("uploading %d bytes with %s, %d rounds, servers in turn (drop box NoSync=%t, cipher %q)\n", size, sftpProg, rounds, noSync, cipher)
	c := bench.Comparison{Size: size, Rounds: rounds, Width: 26, Contenders: []bench.Contender{
		box.contender(sftpProg, env.key, cipher, local, want, true),
		sshd.contender(sftpProg, env.key, cipher, local, want, false),
	}}
	medians, err := c.Run(ctx, os.Stdout)
	if err != nil {
		return err
	}
	fmt.Printf("\nratio drop box/sshd: %.2f (target <= 1.5)\n", bench.Ratio(medians[0], medians[1]))
	return nil
}

// contender uploads local to tg once a round, timing the sftp session only,
// and checks the upload arrived whole; with showCPU, the line notes the CPU
// time this process, where the drop box runs, spent on it.
func (tg *target) contender(sftpProg, key, cipher, local, want string, showCPU bool) bench.Contender {
	return bench.Contender{Name: tg.name, Round: func(ctx context.Context, r int) (time.Duration, string, error) {
		name := fmt.Sprintf("dropboxbench-%d.bin", r)
		cpu0 := processCPU()
		d, err := upload(ctx, sftpProg, key, cipher, tg, local, name)
		cpu := processCPU() - cpu0
		if err != nil {
			return 0, "", err
		}
		got, err := tg.received(name)
		if err != nil {
			return 0, "", err
		}
		if got != want {
			return 0, "", fmt.Errorf("the upload arrived with SHA-256 %s, want %s", got, want)
		}
		if err := tg.clean(name); err != nil {
			return 0, "", err
		}
		note := ""
		if showCPU {
			note = fmt.Sprintf("  (drop box CPU %.3fs)", cpu.Seconds())
		}
		return d, note, nil
	}}
}

// upload runs one sftp session that uploads local as name, and times it.
func upload(ctx context.Context, sftpProg, key, cipher string, tg *target, local, name string) (time.Duration, error) {
	host, port, err := net.SplitHostPort(tg.addr)
	if err != nil {
		return 0, err
	}
	batch := fmt.Sprintf("put %s %s\n", local, path.Join(tg.folder, name))
	args := []string{"-b", "-", "-q", "-P", port, "-i", key,
		"-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + tg.knownHosts,
		"-o", "IdentitiesOnly=yes"}
	if cipher != "" {
		args = append(args, "-c", cipher)
	}
	cmd := exec.CommandContext(ctx, sftpProg, append(args, tg.user+"@"+host)...)
	cmd.Stdin = strings.NewReader(batch)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("sftp: %w: %s", err, out.String())
	}
	return d, nil
}

// env is the sshd that .ci/services/sshd.sh started.
type env struct {
	addr, user, key, knownHosts, folder, localDir string
}

func fromEnv() (*env, error) {
	e := &env{}
	err := bench.Env("USERSYNC_TEST_SSHD_", "sshd with .ci/services/sshd.sh",
		bench.Var{Name: "ADDR", Dst: &e.addr}, bench.Var{Name: "USER", Dst: &e.user},
		bench.Var{Name: "KEY", Dst: &e.key}, bench.Var{Name: "KNOWN_HOSTS", Dst: &e.knownHosts},
		bench.Var{Name: "FOLDER", Dst: &e.folder}, bench.Var{Name: "LOCAL_DIR", Dst: &e.localDir})
	return e, err
}

func (e *env) target() *target {
	return &target{
		name: "OpenSSH sshd internal-sftp", addr: e.addr, user: e.user, knownHosts: e.knownHosts, folder: e.folder,
		received: func(name string) (string, error) { return hashFile(filepath.Join(e.localDir, name)) },
		clean:    func(name string) error { return os.Remove(filepath.Join(e.localDir, name)) },
	}
}

// startDropBox starts the drop box on 127.0.0.1 with one tenant that logs
// in with the sshd's client key.
func startDropBox(ctx context.Context, work string, e *env, noSync bool) (*target, func(), error) {
	pub, err := os.ReadFile(e.key + ".pub")
	if err != nil {
		return nil, nil, err
	}
	clientKey, _, _, _, err := ssh.ParseAuthorizedKey(pub)
	if err != nil {
		return nil, nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	hostKey, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, nil, err
	}
	root := filepath.Join(work, "acme")
	if err := os.Mkdir(root, 0o750); err != nil {
		return nil, nil, err
	}
	var tenants sftpserver.MemTenants
	if err := tenants.Set("acme", sftpserver.Tenant{ID: "acme", Root: root, AuthorizedKeys: []ssh.PublicKey{clientKey}}); err != nil {
		return nil, nil, err
	}
	sums := map[string]string{}
	srv, err := sftpserver.New(sftpserver.Config{HostKeys: []ssh.Signer{hostKey}, Tenants: &tenants}, &sftpserver.Options{
		NoSync:   noSync,
		Logger:   slog.New(slog.DiscardHandler),
		OnUpload: func(u sftpserver.Upload) { sums[u.Name] = u.SHA256 }, // one upload at a time
	})
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	go srv.Serve(ln)
	kh := filepath.Join(work, "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(ln.Addr().String())}, hostKey.PublicKey()) + "\n"
	if err := os.WriteFile(kh, []byte(line), 0o600); err != nil {
		srv.Close()
		return nil, nil, err
	}
	tg := &target{
		name: "usersync drop box", addr: ln.Addr().String(), user: "acme", knownHosts: kh, folder: "/",
		received: func(name string) (string, error) {
			// The announced hash is the server's own; check the file too.
			got, err := hashFile(filepath.Join(root, name))
			if err == nil && got != sums[name] {
				err = errors.New("announced SHA-256 differs from the file's")
			}
			return got, err
		},
		clean: func(name string) error { return os.Remove(filepath.Join(root, name)) },
	}
	return tg, func() { srv.Close() }, nil
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// processCPU returns the CPU time this process, where the drop box runs,
// has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

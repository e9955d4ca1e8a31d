// Command pgpbench measures PGP decryption of a large directory file
// against gpg itself, in the same run:
//
//	go run ./examples/pgpbench -users 1000000
//
// It generates the bench scenario's files (Cosafe's 11 columns, about
// 165 MB for a million users), makes a key with gpg in a throwaway
// GNUPGHOME and encrypts today's file to it with gpg, as a customer would
// (compressed, by gpg's default). Then, for a few rounds, it times
// `gpg --decrypt` of that file to /dev/null and pgpdecrypt's reader of it
// drained to io.Discard, by the clock and in CPU time, and prints the
// ratios (on a busy machine the CPU times compare better). Last it runs
// the sync's
// reading and planning (a dry run: dirsource, csvmap, reconcile) on the
// plaintext file and on the encrypted one, to show that decrypting adds
// time but no memory: the plaintext is streamed, never held whole.
//
// It needs gpg on the PATH (.ci/services/gnupg.sh installs it).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/decrypt"
	"github.com/usersync/usersync/decrypt/pgpdecrypt"
	"github.com/usersync/usersync/internal/bench"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/source/dirsource"
)

// passphrase protects the throwaway key.
const passphrase = "pgpbench passphrase"

type config struct {
	users    int
	dir      string
	rounds   int
	algo     string
	compress string
	armor    bool
}

func main() {
	var c config
	flag.IntVar(&c.users, "users", 1_000_000, "users in the directory")
	flag.StringVar(&c.dir, "dir", "", "folder for the generated files (default: a temporary folder, removed after)")
	flag.IntVar(&c.rounds, "rounds", 3, "rounds of gpg and pgpdecrypt, alternating; the best of each counts")
	flag.StringVar(&c.algo, "algo", "rsa3072", "algorithm of gpg's encryption subkey: rsa3072, cv25519, ...")
	flag.StringVar(&c.compress, "compress", "", "gpg's --compress-algo: none, zip, zlib, bzip2 (default: gpg's choice)")
	flag.BoolVar(&c.armor, "armor", false, "encrypt to ASCII armor")
	flag.Parse()
	// Stop on Ctrl-C through the same returns as on an error, so that the
	// deferred cleanup stops gpg's agent and removes the files.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, c)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgpbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, c config) error {
	gpgPath, err := exec.LookPath("gpg")
	if err != nil {
		return errors.New("gpg is not installed (apt-get install gnupg)")
	}
	if c.dir == "" {
		tmp, err := os.MkdirTemp("", "usersync-pgpbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		c.dir = tmp
	}
	t := time.Now()
	s, err := bench.Prepare(c.dir, c.users)
	if err != nil {
		return err
	}
	g, err := newGPG(ctx, gpgPath)
	if err != nil {
		return err
	}
	defer g.close()
	enc, keyring, err := g.encrypt(c, s.Today)
	if err != nil {
		return err
	}
	plainInfo, err := os.Stat(s.Today)
	if err != nil {
		return err
	}
	encInfo, err := os.Stat(enc)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d users: %.1f MB of CSV, encrypted by %s to %.1f MB (%s), in %v\n\n",
		c.users, mb(plainInfo.Size()), g.version, mb(encInfo.Size()), c.describe(), since(t))

	keys, err := pgpdecrypt.ReadKeys(bytes.NewReader(keyring), []byte(passphrase))
	if err != nil {
		return err
	}
	d, err := pgpdecrypt.New(keys, nil)
	if err != nil {
		return err
	}
	if err := compare(ctx, out, c.rounds, g, d, enc, plainInfo.Size()); err != nil {
		return err
	}
	return syncs(ctx, out, s, d, enc)
}

// compare times gpg and pgpdecrypt in alternating rounds, by the clock and
// by the CPU time each used: on a busy machine the clock also counts the
// time others took.
func compare(ctx context.Context, out io.Writer, rounds int, g *gpg, d *pgpdecrypt.Decryptor, enc string, plainSize int64) error {
	fmt.Fprintf(out, "%-6s %22s %22s %14s\n", "round", "gpg --decrypt", "pgpdecrypt", "ratio")
	fmt.Fprintf(out, "%-6s %11s %10s %11s %10s %7s %6s\n", "", "wall", "cpu", "wall", "cpu", "wall", "cpu")
	var best [2]timing
	var heap uint64
	for i := 1; i <= rounds; i++ {
		tg, err := g.decrypt(enc)
		if err != nil {
			return err
		}
		runtime.GC()
		peak := bench.WatchHeap()
		tgo, n, err := drain(ctx, d, enc)
		heap = max(heap, peak())
		if err != nil {
			return err
		}
		if n != plainSize {
			return fmt.Errorf("pgpdecrypt gave %d bytes of plaintext, want %d", n, plainSize)
		}
		fmt.Fprintf(out, "%-6d %s %s %s\n", i, tg, tgo, tgo.ratio(tg))
		best[0], best[1] = best[0].best(tg), best[1].best(tgo)
	}
	fmt.Fprintf(out, "%-6s %s %s %s   (target: at most 1.50)\n", "best", best[0], best[1], best[1].ratio(best[0]))
	fmt.Fprintf(out, "pgpdecrypt: %.0f MB/s of plaintext, peak heap %.1f MiB\n\n", float64(plainSize)/1e6/best[1].wall.Seconds(), mib(heap))
	return nil
}

// A timing is how long something took by the clock and in CPU time.
type timing struct{ wall, cpu time.Duration }

func (t timing) String() string {
	return fmt.Sprintf("%11v %10v", t.wall.Round(time.Millisecond), t.cpu.Round(time.Millisecond))
}

func (t timing) ratio(base timing) string {
	return fmt.Sprintf("%7.2f %6.2f", t.wall.Seconds()/base.wall.Seconds(), t.cpu.Seconds()/base.cpu.Seconds())
}

// best keeps the shorter of each time.
func (t timing) best(u timing) timing {
	if t.wall == 0 {
		return u
	}
	return timing{min(t.wall, u.wall), min(t.cpu, u.cpu)}
}

// cpuTime returns the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// drain decrypts the file at path to io.Discard, as the Pipeline's last
// drain does, and returns the time and the plaintext size.
func drain(ctx context.Context, d *pgpdecrypt.Decryptor, path string) (timing, int64, error) {
	t, cpu := time.Now(), cpuTime()
	f, err := os.Open(path)
	if err != nil {
		return timing{}, 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return timing{}, 0, err
	}
	r, err := d.Decrypt(ctx, f, usersync.FileInfo{Name: filepath.Base(path), Size: info.Size()})
	if err != nil {
		return timing{}, 0, err
	}
	n, err := io.Copy(io.Discard, r)
	return timing{time.Since(t), cpuTime() - cpu}, n, err
}

// syncs runs the sync's read and plan on the plaintext file, then on the
// encrypted one, and compares time and peak heap.
func syncs(ctx context.Context, out io.Writer, s *bench.Scenario, d *pgpdecrypt.Decryptor, enc string) error {
	sink, err := s.Seed()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%-38s %10s %12s\n", "sync dry run (read, map, plan)", "time", "peak heap")
	var base time.Duration
	var baseHeap uint64
	for _, c := range []struct {
		name string
		dir  string
	}{
		{"plaintext file", filepath.Dir(s.Today)},
		{"encrypted file (decrypted on the fly)", filepath.Dir(enc)},
	} {
		src, err := dirsource.New(c.dir, nil)
		if err != nil {
			return err
		}
		m, err := csvmap.New(bench.Schema, nil)
		if err != nil {
			return err
		}
		p := usersync.Pipeline{
			Source: src, Decryptor: decrypt.BySuffix(d, ".gpg", ".asc"), Mapper: m, Sink: sink,
			Reconciler: reconcile.New(&reconcile.Policy{RemoveGuard: reconcile.Guard{Max: -1}}),
			DryRun:     true,
		}
		runtime.GC()
		peak := bench.WatchHeap()
		t := time.Now()
		res, err := p.Run(ctx)
		took, heap := time.Since(t), peak()
		src.Close()
		if err != nil {
			return err
		}
		if res.Status != usersync.Planned {
			return fmt.Errorf("%s: the dry run ended %s", c.name, res.Status)
		}
		if base == 0 {
			base, baseHeap = took, heap
			fmt.Fprintf(out, "%-38s %10v %8.0f MiB\n", c.name, took.Round(time.Millisecond), mib(heap))
			continue
		}
		fmt.Fprintf(out, "%-38s %10v %8.0f MiB   (%.2fx the time, %+.0f MiB; decrypted by %s)\n", c.name, took.Round(time.Millisecond),
			mib(heap), took.Seconds()/base.Seconds(), mib(heap)-mib(baseHeap), res.Files[0].DecryptedBy)
	}
	return nil
}

func (c config) describe() string {
	compress := c.compress
	if compress == "" {
		compress = "gpg's default compression"
	}
	form := "binary"
	if c.armor {
		form = "armored"
	}
	return strings.Join([]string{c.algo, compress, form}, ", ")
}

// gpg runs gpg in a throwaway home.
type gpg struct {
	ctx                context.Context
	bin, home, version string
}

func newGPG(ctx context.Context, bin string) (*gpg, error) {
	// gpg-agent's socket lives in the home, and socket paths are short.
	home, err := os.MkdirTemp("", "pgpbench-gpg")
	if err != nil {
		return nil, err
	}
	g := &gpg{ctx: ctx, bin: bin, home: home}
	// The agent times its key derivation afresh for each key it protects,
	// which takes seconds; the bench does not need it.
	err = os.WriteFile(filepath.Join(home, "gpg-agent.conf"), []byte("s2k-count 65536\n"), 0o600)
	var v []byte
	if err == nil {
		v, err = g.run("--version")
	}
	if err != nil {
		g.close()
		return nil, err
	}
	first, _, _ := strings.Cut(string(v), "\n")
	g.version = strings.Replace(first, "gpg (GnuPG)", "GnuPG", 1)
	return g, nil
}

func (g *gpg) close() {
	kill := exec.Command("gpgconf", "--kill", "gpg-agent")
	kill.Env = append(os.Environ(), "GNUPGHOME="+g.home)
	kill.Run()
	os.RemoveAll(g.home)
}

func (g *gpg) command(args ...string) *exec.Cmd {
	cmd := exec.CommandContext(g.ctx, g.bin, append([]string{"--batch", "--yes", "--no-tty", "--quiet",
		"--pinentry-mode", "loopback", "--passphrase", passphrase, "--trust-model", "always"}, args...)...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+g.home)
	return cmd
}

func (g *gpg) run(args ...string) ([]byte, error) {
	cmd := g.command(args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("gpg %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// encrypt makes a key and encrypts the file at plain to it, into a folder
// of its own; it returns the encrypted file's path and the secret key.
func (g *gpg) encrypt(c config, plain string) (string, []byte, error) {
	const uid = "Bench Recipient <bench@example.com>"
	primary := "rsa3072"
	if !strings.HasPrefix(c.algo, "rsa") {
		primary = "ed25519"
	}
	if _, err := g.run("--quick-gen-key", uid, primary, "cert,sign", "never"); err != nil {
		return "", nil, err
	}
	if _, err := g.run("--quick-add-key", fingerprintOf(g, uid), c.algo, "encr", "never"); err != nil {
		return "", nil, err
	}
	keyring, err := g.run("--export-secret-keys", uid)
	if err != nil {
		return "", nil, err
	}
	dir := filepath.Join(filepath.Dir(filepath.Dir(plain)), "drop-pgp")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	out := filepath.Join(dir, filepath.Base(plain)+".gpg")
	args := []string{"--recipient", uid, "--output", out}
	if c.compress != "" {
		args = append(args, "--compress-algo", c.compress)
	}
	if c.armor {
		args = append(args, "--armor")
	}
	if _, err := g.run(append(args, "--encrypt", plain)...); err != nil {
		return "", nil, err
	}
	return out, keyring, nil
}

func fingerprintOf(g *gpg, uid string) string {
	out, _ := g.run("--with-colons", "--list-keys", uid)
	for _, line := range strings.Split(string(out), "\n") {
		if f, ok := strings.CutPrefix(line, "fpr:::::::::"); ok {
			return strings.TrimSuffix(f, ":")
		}
	}
	return uid
}

// decrypt times gpg --decrypt of the file at path to /dev/null.
func (g *gpg) decrypt(path string) (timing, error) {
	cmd := g.command("--output", os.DevNull, "--decrypt", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t := time.Now()
	if err := cmd.Run(); err != nil {
		return timing{}, fmt.Errorf("gpg --decrypt: %v: %s", err, stderr.String())
	}
	return timing{time.Since(t), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}, nil
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }
func mb(n int64) float64              { return float64(n) / 1e6 }
func mib(n uint64) float64            { return float64(n) / (1 << 20) }

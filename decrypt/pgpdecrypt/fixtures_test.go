package pgpdecrypt_test

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/internal/testenv"
)

var update = flag.Bool("update", false, "write the keys and messages gpg makes to testdata/gnupg-2.2")

// committedDir holds the fixtures last written with -update.
const committedDir = "testdata/gnupg-2.2"

// gpg runs at faked times so that the fixtures keep their meaning however
// old they get: keys are made on 2026-01-01 (the expired one a year
// earlier), messages on 2026-01-10, and the tests check them on
// checkTime, when the expiring key has 16 days left.
const (
	keyTime     = "20260101T120000!"
	expiredTime = "20250101T120000!"
	messageTime = "20260110T120000!"
)

var checkTime = time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)

// plainCSV is what every message holds, but the bomb.
const plainCSV = "UniqueID,Name,Mail,Groups\n" +
	"1001,Åsa Öberg,asa@example.com,staff\n" +
	"1002,Jörg Müller,jorg@example.com,\"staff,admins\"\n"

// bombSize is the plaintext of the bomb: zeros, which compress a
// thousandfold, far past the limit for a file of its size.
const bombSize = 16 << 20

// The passphrases the keys are protected with. Both signers share one, as
// gpg signs with several keys under one --passphrase.
const (
	rsaPass    = "rsa passphrase"
	cvPass     = "cv passphrase"
	signerPass = "signing passphrase"
)

// A fixtureKey is a key gpg makes, and how it is exported.
type fixtureKey struct {
	name, uid string
	algo, sub string // primary key algorithm; encryption subkey algorithm, if any
	pass      string // "" leaves the key unprotected
	expire    string // "never", or a period such as "30d"
	faked     string // the time the key is made at
	exports   map[string][]string
}

var fixtureKeys = []fixtureKey{
	{name: "rsa", uid: "RSA Recipient <rsa@example.com>", algo: "rsa2048", sub: "rsa2048", pass: rsaPass, expire: "never", faked: keyTime,
		exports: map[string][]string{"rsa.sec.asc": {"--armor", "--export-secret-keys"}}},
	{name: "cv", uid: "Curve Recipient <cv@example.com>", algo: "ed25519", sub: "cv25519", pass: cvPass, expire: "never", faked: keyTime,
		exports: map[string][]string{
			"cv.sec.gpg":     {"--export-secret-keys"},
			"cv.subkeys.gpg": {"--export-secret-subkeys"},
		}},
	{name: "signer", uid: "Customer HR <hr@customer.example>", algo: "ed25519", pass: signerPass, expire: "never", faked: keyTime,
		exports: map[string][]string{"signer.pub.asc": {"--armor", "--export"}}},
	{name: "other", uid: "Someone Else <other@example.com>", algo: "ed25519", pass: signerPass, expire: "never", faked: keyTime,
		exports: map[string][]string{"other.pub.asc": {"--armor", "--export"}}},
	{name: "expiring", uid: "Expiring Recipient <expiring@example.com>", algo: "ed25519", sub: "cv25519", expire: "30d", faked: keyTime,
		exports: map[string][]string{"expiring.sec.asc": {"--armor", "--export-secret-keys"}}},
	{name: "expired", uid: "Expired Recipient <expired@example.com>", algo: "ed25519", sub: "cv25519", expire: "30d", faked: expiredTime,
		exports: map[string][]string{"expired.sec.asc": {"--armor", "--export-secret-keys"}}},
}

// A fixtureMessage is a message gpg makes from plainCSV. A name ending in
// .asc is armored.
type fixtureMessage struct {
	name    string
	to      []string // recipients, by key name
	signers []string // by key name
	args    []string // gpg's other options, such as compression
	op      string   // "--encrypt" unless set
}

var fixtureMessages = []fixtureMessage{
	{name: "rsa-zlib.asc", to: []string{"rsa"}, args: []string{"--compress-algo", "zlib"}},
	{name: "rsa-none.gpg", to: []string{"rsa"}, args: []string{"-z", "0", "--set-filename", "../../etc/cron.d/evil"}},
	{name: "rsa-zip-signed.gpg", to: []string{"rsa"}, signers: []string{"signer"}, args: []string{"--compress-algo", "zip"}},
	{name: "rsa-bzip2-signed.asc", to: []string{"rsa"}, signers: []string{"signer"}, args: []string{"--compress-algo", "bzip2"}},
	{name: "cv-zlib.asc", to: []string{"cv"}},
	{name: "cv-none.gpg", to: []string{"cv"}, args: []string{"-z", "0"}},
	{name: "cv-zlib-signed.gpg", to: []string{"cv"}, signers: []string{"signer"}},
	{name: "cv-none-signed.asc", to: []string{"cv"}, signers: []string{"signer"}, args: []string{"-z", "0"}},
	{name: "both.gpg", to: []string{"rsa", "cv"}},
	{name: "hidden.gpg", to: []string{"cv"}, args: []string{"--throw-keyids"}},
	{name: "other-signed.gpg", to: []string{"rsa"}, signers: []string{"other"}},
	{name: "two-signers.gpg", to: []string{"cv"}, signers: []string{"other", "signer"}},
	{name: "signed-only.gpg", signers: []string{"signer"}, op: "--sign"},
	{name: "stored.gpg", op: "--store"},
	{name: "symmetric.gpg", op: "--symmetric", args: []string{"--passphrase", "a shared secret"}},
	{name: "nomdc.gpg", to: []string{"rsa"}, args: []string{"--rfc2440"}},
	{name: "bomb.gpg", to: []string{"rsa"}, args: []string{"--compress-algo", "zlib", "-z", "9"}},
}

// fixtures are the files gpg made, by name.
type fixtures map[string][]byte

// gnupgFixtures makes the keys and messages with the installed gpg, in a
// throwaway GNUPGHOME, and with -update writes them to committedDir. It
// skips, or fails under CI, when gpg is not installed.
func gnupgFixtures(t *testing.T) fixtures {
	t.Helper()
	g := newGnuPG(t)
	fx := fixtures{}
	fprs := map[string]string{}
	for _, k := range fixtureKeys {
		fprs[k.name] = g.makeKey(k)
		for file, args := range k.exports {
			fx[file] = g.run(k.faked, append(slices.Clone(args), "--passphrase", k.pass, fprs[k.name])...)
		}
	}
	for _, m := range fixtureMessages {
		fx[m.name] = g.makeMessage(m, fprs)
	}
	version, _, _ := bytes.Cut(g.run(keyTime, "--version"), []byte("\n"))
	fx["VERSION"] = append(version, '\n')
	if *update {
		require.NoError(t, os.MkdirAll(committedDir, 0o755))
		for name, data := range fx {
			require.NoError(t, os.WriteFile(filepath.Join(committedDir, name), data, 0o644))
		}
	}
	return fx
}

// committedFixtures reads the fixtures gpg made when they were last
// updated.
func committedFixtures(t testing.TB) fixtures {
	t.Helper()
	entries, err := os.ReadDir(committedDir)
	require.NoError(t, err)
	fx := fixtures{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(committedDir, e.Name()))
		require.NoError(t, err)
		fx[e.Name()] = data
	}
	return fx
}

// gnuPG runs gpg in a throwaway home.
type gnuPG struct {
	t    *testing.T
	bin  string
	home string
	in   string // the plaintext file
	bomb string // the bomb's plaintext file
}

func newGnuPG(t *testing.T) *gnuPG {
	t.Helper()
	bin := testenv.LookPath(t, "gpg")
	// gpg-agent's socket lives in the home, and Unix socket paths are
	// short: t.TempDir() can be too long.
	home, err := os.MkdirTemp("", "gpg")
	require.NoError(t, err)
	// gpg-agent times its key derivation afresh for each key it
	// protects, which takes seconds; the fixed minimum protects test keys
	// as well.
	require.NoError(t, os.WriteFile(filepath.Join(home, "gpg-agent.conf"), []byte("s2k-count 65536\n"), 0o600))
	g := &gnuPG{t: t, bin: bin, home: home}
	t.Cleanup(func() {
		kill := exec.Command("gpgconf", "--kill", "gpg-agent")
		kill.Env = append(os.Environ(), "GNUPGHOME="+home)
		kill.Run()
		os.RemoveAll(home)
	})
	g.in = filepath.Join(home, "users.csv")
	require.NoError(t, os.WriteFile(g.in, []byte(plainCSV), 0o600))
	g.bomb = filepath.Join(home, "zeros.csv")
	require.NoError(t, os.WriteFile(g.bomb, make([]byte, bombSize), 0o600))
	return g
}

// run runs gpg with args at the faked time and returns its output.
func (g *gnuPG) run(faked string, args ...string) []byte {
	g.t.Helper()
	all := append([]string{"--batch", "--yes", "--no-tty", "--quiet", "--pinentry-mode", "loopback",
		"--trust-model", "always", "--faked-system-time", faked}, args...)
	cmd := exec.Command(g.bin, all...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+g.home)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(g.t, err, "gpg %s\n%s", strings.Join(args, " "), stderr.String())
	return out
}

// makeKey makes a key and returns its fingerprint.
func (g *gnuPG) makeKey(k fixtureKey) string {
	g.run(k.faked, "--passphrase", k.pass, "--quick-gen-key", k.uid, k.algo, "cert,sign", k.expire)
	fpr := ""
	for _, line := range strings.Split(string(g.run(k.faked, "--with-colons", "--list-keys", k.uid)), "\n") {
		if f, ok := strings.CutPrefix(line, "fpr:::::::::"); ok && fpr == "" {
			fpr = strings.TrimSuffix(f, ":")
		}
	}
	require.NotEmpty(g.t, fpr, "fingerprint of %s", k.uid)
	if k.sub != "" {
		g.run(k.faked, "--passphrase", k.pass, "--quick-add-key", fpr, k.sub, "encr", k.expire)
	}
	return fpr
}

func (g *gnuPG) makeMessage(m fixtureMessage, fprs map[string]string) []byte {
	args := slices.Clone(m.args)
	if strings.HasSuffix(m.name, ".asc") {
		args = append(args, "--armor")
	}
	for _, r := range m.to {
		args = append(args, "--recipient", fprs[r])
	}
	for _, s := range m.signers {
		args = append(args, "--local-user", fprs[s])
	}
	if len(m.signers) > 0 {
		args = append(args, "--passphrase", signerPass)
		if m.op == "" {
			args = append(args, "--sign")
		}
	}
	op := m.op
	if op == "" {
		op = "--encrypt"
	}
	in := g.in
	if m.name == "bomb.gpg" {
		in = g.bomb
	}
	return g.run(messageTime, append(args, "--output", "-", op, in)...)
}

package main

// The same sync against the real programs a customer runs: OpenSSH's sshd,
// which .ci/services/sshd.sh starts, and keys and a message made by GnuPG.
// It skips when they are missing, and fails under CI=true.

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/internal/testenv"
)

func TestOpenSSHAndGnuPG(t *testing.T) {
	get := func(name string) string { return testenv.Getenv(t, "USERSYNC_TEST_SSHD_"+name, "OpenSSH sshd") }
	addr, user, knownHosts := get("ADDR"), get("USER"), get("KNOWN_HOSTS")
	key, passphrase := get("KEY_ENC"), get("KEY_PASSPHRASE")
	folder, localDir := get("FOLDER"), get("LOCAL_DIR")
	g := newGPG(t)

	// The product's key, protected by a passphrase, and Acme's signing key,
	// exported as an administrator would with gpg.
	pgpPassphrase := "gpg passphrase for the test"
	g.run("--passphrase", pgpPassphrase, "--quick-generate-key", "Product sync <sync@product.example>", "default", "default", "never")
	g.run("--passphrase", "", "--quick-generate-key", "Acme HR <hr@acme.example>", "default", "default", "never")
	productKey := g.write("product.sec.asc", g.run("--passphrase", pgpPassphrase, "--armor", "--export-secret-keys", "sync@product.example"))
	acmeKey := g.write("acme.pub.asc", g.run("--armor", "--export", "hr@acme.example"))
	plain := g.write("users.csv", []byte(night1))
	msg := g.run("--encrypt", "--sign", "--recipient", "sync@product.example", "--local-user", "hr@acme.example", "--output", "-", plain)

	// A folder of its own in the served one, writable by the SFTP user
	// (it archives there), with Acme's upload in it.
	name := fmt.Sprintf("sftppgp-%d", os.Getpid())
	local := filepath.Join(localDir, name)
	require.NoError(t, os.Mkdir(local, 0o777))
	require.NoError(t, os.Chmod(local, 0o777)) // past the umask
	t.Cleanup(func() { os.RemoveAll(local) })
	upload := filepath.Join(local, "users.csv.pgp")
	require.NoError(t, os.WriteFile(upload, msg, 0o644))
	old := time.Now().Add(-2 * time.Minute)
	require.NoError(t, os.Chtimes(upload, old, old))

	e := newEnv(t) // for its SMTP server and database; the flags below win
	e.secrets[envSFTPPassphrase] = passphrase
	e.secrets[envPGPPassphrase] = pgpPassphrase
	out, _, err := e.sync("-sftp-addr", addr, "-sftp-user", user, "-sftp-folder", path.Join(folder, name),
		"-sftp-known-hosts", knownHosts, "-sftp-key", key, "-pgp-key", productKey, "-pgp-signer", acmeKey)
	require.NoError(t, err)
	assert.Contains(t, out, "usersync acme: succeeded — 3 created, 2 groups created")
	assert.Len(t, e.users(), 3)
	require.Len(t, e.mailsAfter(0), 1)
	archived, err := filepath.Glob(filepath.Join(local, "archive", "*users.csv.pgp"))
	require.NoError(t, err)
	assert.Len(t, archived, 1)
	assert.NoFileExists(t, upload)
}

// gpg runs GnuPG in a throwaway home.
type gpg struct {
	t         *testing.T
	bin, home string
}

func newGPG(t *testing.T) *gpg {
	t.Helper()
	bin := testenv.LookPath(t, "gpg")
	// gpg-agent's socket lives in the home, and socket paths are short:
	// t.TempDir() can be too long.
	home, err := os.MkdirTemp("", "gpg")
	require.NoError(t, err)
	// gpg-agent times its key derivation afresh for each key it protects,
	// which takes seconds; the fixed minimum protects a test key as well.
	require.NoError(t, os.WriteFile(filepath.Join(home, "gpg-agent.conf"), []byte("s2k-count 65536\n"), 0o600))
	g := &gpg{t: t, bin: bin, home: home}
	t.Cleanup(func() {
		kill := exec.Command("gpgconf", "--kill", "gpg-agent")
		kill.Env = append(os.Environ(), "GNUPGHOME="+home)
		kill.Run()
		os.RemoveAll(home)
	})
	return g
}

func (g *gpg) run(args ...string) []byte {
	g.t.Helper()
	cmd := exec.Command(g.bin, append([]string{"--batch", "--yes", "--no-tty", "--quiet", "--pinentry-mode", "loopback",
		"--trust-model", "always"}, args...)...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+g.home)
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		g.t.Fatalf("gpg %v: %v\n%s", args, err, ee.Stderr)
	}
	require.NoError(g.t, err)
	return out
}

func (g *gpg) write(name string, data []byte) string {
	p := filepath.Join(g.home, name)
	require.NoError(g.t, os.WriteFile(p, data, 0o600))
	return p
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/internal/testenv"
)

// TestOpenSSH runs check and run against the OpenSSH sshd that .ci/run
// starts, logging in with a passphrase-protected key whose passphrase
// comes from a file, as a production setup would.
func TestOpenSSH(t *testing.T) {
	addr := testenv.Getenv(t, "USERSYNC_TEST_SSHD_ADDR", "OpenSSH sshd")
	user := testenv.Getenv(t, "USERSYNC_TEST_SSHD_USER", "OpenSSH sshd")
	knownHosts := testenv.Getenv(t, "USERSYNC_TEST_SSHD_KNOWN_HOSTS", "OpenSSH sshd")
	key := testenv.Getenv(t, "USERSYNC_TEST_SSHD_KEY_ENC", "OpenSSH sshd")
	passphrase := testenv.Getenv(t, "USERSYNC_TEST_SSHD_KEY_PASSPHRASE", "OpenSSH sshd")
	folder := testenv.Getenv(t, "USERSYNC_TEST_SSHD_FOLDER", "OpenSSH sshd")
	local := testenv.Getenv(t, "USERSYNC_TEST_SSHD_LOCAL_DIR", "OpenSSH sshd")

	// A subfolder of the test's own, written as the SFTP user would.
	sub := "cli-" + filepath.Base(t.TempDir())
	dir := filepath.Join(local, sub)
	require.NoError(t, os.Mkdir(dir, 0o777))
	require.NoError(t, os.Chmod(dir, 0o777)) // the SFTP user archives into it
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.WriteFile(filepath.Join(dir, "users.csv"), users(1, 7), 0o644))

	f := newFixture(t)
	passFile := filepath.Join(f.dir, "key-passphrase")
	require.NoError(t, os.WriteFile(passFile, []byte(passphrase+"\n"), 0o600))
	host, port, _ := strings.Cut(addr, ":")
	f.source = fmt.Sprintf(`source:
  sftp:
    host: %s
    port: %s
    user: %s
    folder: %s/%s
    private_key_file: %s
    passphrase_file: key-passphrase
    known_hosts_file: %s
  pattern: "users*.csv"
  min_age: 0
  after_success: archive
`, host, port, user, folder, sub, key, knownHosts)

	r := f.run("check")
	require.Equal(t, exitOK, r.code, r)
	assert.Contains(t, r.stdout, "PASS  source      log in as "+user)
	assert.NotContains(t, r.stdout+r.stderr, passphrase)

	r = f.run("run", "--json")
	require.Equal(t, exitOK, r.code, r)
	assert.Equal(t, 7, r.decode(t).Summary.Counts.Applied.Created)
	assert.NoFileExists(t, filepath.Join(dir, "users.csv"), "archived after success")
}

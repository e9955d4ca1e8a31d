package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/internal/sftptest"
	"github.com/usersync/usersync/internal/smtptest"
)

// sftpFixture is a fixture whose source is the in-process SFTP server,
// with the password in an environment variable and the server's key in a
// known_hosts file.
func sftpFixture(t *testing.T) (*fixture, *sftptest.Server) {
	f := newFixture(t)
	// The command refuses secrets shorter than 8 characters, such as the
	// test server's default.
	srv := sftptest.NewServer(t, &sftptest.Options{Password: "sftp-Passw0rd-1"})
	host, port, _ := strings.Cut(srv.Addr, ":")
	f.knownHosts = srv.KnownHosts(t)
	f.env["SFTP_PASSWORD"] = srv.Password()
	f.source = fmt.Sprintf(`source:
  sftp:
    host: %s
    port: %s
    user: %s
    password_env: SFTP_PASSWORD
    known_hosts_file: %s
    folder: /
    connect_timeout: 10s
  pattern: "users*"
`, host, port, srv.User(), f.knownHosts)
	return f, srv
}

// put uploads a file to the SFTP server, an hour old.
func put(t *testing.T, srv *sftptest.Server, name string, data []byte) {
	t.Helper()
	require.NoError(t, srv.Put(name, data, time.Now().Add(-time.Hour)))
}

// findStep finds the check step whose name contains name; problem is its
// error, or its warning.
func findStep(t *testing.T, out jsonOutput, part, name string) (result, detail, problem string) {
	t.Helper()
	for _, c := range out.Checks {
		if c.Part == part && strings.Contains(c.Name, name) {
			return c.Result, c.Detail, c.Error + c.Warning
		}
	}
	t.Fatalf("no %s step %q in %+v", part, name, out.Checks)
	return "", "", ""
}

func TestCheckSFTPPasses(t *testing.T) {
	f, srv := sftpFixture(t)
	put(t, srv, "users.csv", users(1, 3))
	r := f.run("check")
	require.Equal(t, exitOK, r.code, r)
	for _, want := range []string{"PASS  source      connect to", "PASS  source      host key of", "PASS  source      log in as test",
		"PASS  source      expected file users*: users.csv", "PASS  mapping     header line of users.csv", "Every step passed."} {
		assert.Contains(t, r.stdout, want)
	}
	assert.Contains(t, r.stdout, "does not exist yet: the first run creates it", "check creates no database")
	assert.NoFileExists(t, filepath.Join(f.dir, "users.db"))

	r = f.run("check", "--json")
	require.Equal(t, exitOK, r.code, r)
	out := r.decode(t)
	assert.Equal(t, "passed", out.Status)
	res, _, _ := findStep(t, out, "source", "log in")
	assert.Equal(t, "pass", res)
}

func TestCheckWrongHostKey(t *testing.T) {
	f, srv := sftpFixture(t)
	put(t, srv, "users.csv", users(1, 3))
	other := sftptest.NewSigner(t)
	require.NoError(t, os.WriteFile(f.knownHosts, []byte(srv.KnownHostsLines(other.PublicKey())), 0o600))
	r := f.run("check", "--json")
	require.Equal(t, exitCheck, r.code, r)
	out := r.decode(t)
	assert.Equal(t, "failed", out.Status)
	res, _, msg := findStep(t, out, "source", "host key")
	assert.Equal(t, "fail", res)
	assert.Contains(t, msg, srv.Fingerprint(), "the error shows the key the server presented")
	res, _, _ = findStep(t, out, "source", "log in")
	assert.Equal(t, "fail", res, "nothing is sent to a server that is not trusted")
	assert.Zero(t, srv.Logins())

	r = f.run("check")
	require.Equal(t, exitCheck, r.code, r)
	assert.Contains(t, r.stdout, "FAIL  source      host key of")
	assert.Contains(t, r.stdout, "The check failed")
}

func TestCheckWrongPassword(t *testing.T) {
	f, srv := sftpFixture(t)
	put(t, srv, "users.csv", users(1, 3))
	f.env["SFTP_PASSWORD"] = "wrong-Passw0rd"
	r := f.run("check", "--json")
	require.Equal(t, exitCheck, r.code, r)
	out := r.decode(t)
	res, _, msg := findStep(t, out, "source", "log in")
	assert.Equal(t, "fail", res)
	assert.Contains(t, msg, "login refused")
	res, _, _ = findStep(t, out, "source", "host key")
	assert.Equal(t, "pass", res)
	assert.NotContains(t, r.stdout+r.stderr, "wrong-Passw0rd", "the password is never printed")
}

func TestCheckHeaderDoesNotMap(t *testing.T) {
	f := newFixture(t)
	f.deliver("users.csv", []byte("UniqueID;Name;Title\nEMP-000001;Ann;Nurse\n"))
	r := f.run("check", "--json")
	require.Equal(t, exitCheck, r.code, r)
	out := r.decode(t)
	res, _, msg := findStep(t, out, "mapping", "header line of users.csv")
	assert.Equal(t, "fail", res)
	assert.Contains(t, msg, "Mail")
}

func TestCheckHeaderOnlyAndUnknownColumn(t *testing.T) {
	f := newFixture(t)
	f.deliver("users.csv", []byte("UniqueID,Name,Mail,Department\n"))
	r := f.run("check", "--json")
	require.Equal(t, exitCheck, r.code, r)
	out := r.decode(t)
	res, _, warning := findStep(t, out, "mapping", "header line")
	assert.Equal(t, "warn", res, "an unknown column is worth a warning")
	assert.Contains(t, warning, "Department")
	res, _, msg := findStep(t, out, "mapping", "first row")
	assert.Equal(t, "fail", res)
	assert.Contains(t, msg, "no row after its header")
}

func TestCheckNoFile(t *testing.T) {
	f := newFixture(t)
	r := f.run("check", "--json")
	require.Equal(t, exitCheck, r.code, r)
	out := r.decode(t)
	res, _, _ := findStep(t, out, "source", "expected file")
	assert.Equal(t, "fail", res)
	res, _, _ = findStep(t, out, "mapping", "header line")
	assert.Equal(t, "skip", res)
}

func TestCheckPGP(t *testing.T) {
	f, srv := sftpFixture(t)
	right := newPGPKey(t, f.dir, "Acme", "right-passphrase")
	wrong := newPGPKey(t, f.dir, "Other", "other-passphrase")
	put(t, srv, "users.csv.pgp", right.encrypt(t, users(1, 3)))
	f.env["PGP_PASSPHRASE"] = right.passphrase
	f.decrypt = fmt.Sprintf("decrypt:\n  pgp:\n    keys:\n      - file: %s\n        passphrase_env: PGP_PASSPHRASE\n", right.file)

	r := f.run("check", "--json")
	require.Equal(t, exitOK, r.code, r)
	out := r.decode(t)
	res, detail, _ := findStep(t, out, "decryption", "decrypt users.csv.pgp")
	assert.Equal(t, "pass", res)
	assert.Contains(t, detail, "decrypts with")
	res, _, _ = findStep(t, out, "mapping", "header line of users.csv.pgp")
	assert.Equal(t, "pass", res)

	// The wrong key: it loads, but cannot decrypt the file.
	f.env["PGP_PASSPHRASE"] = wrong.passphrase
	f.decrypt = strings.Replace(f.decrypt, right.file, wrong.file, 1)
	r = f.run("check", "--json")
	require.Equal(t, exitCheck, r.code, r)
	out = r.decode(t)
	res, _, msg := findStep(t, out, "decryption", "decrypt users.csv.pgp")
	assert.Equal(t, "fail", res)
	assert.Contains(t, msg, "no key can decrypt")
	res, _, _ = findStep(t, out, "mapping", "header line")
	assert.Equal(t, "skip", res)

	// The right key with a wrong passphrase.
	f.decrypt = strings.Replace(f.decrypt, wrong.file, right.file, 1)
	r = f.run("check", "--json")
	require.Equal(t, exitCheck, r.code, r)
	out = r.decode(t)
	var failed bool
	for _, c := range out.Checks {
		if c.Part == "decryption" && c.Result == "fail" && strings.Contains(c.Error, "passphrase") {
			failed = true
		}
	}
	assert.True(t, failed, "a wrong passphrase fails a decryption step: %+v", out.Checks)
	assert.NotContains(t, r.stdout+r.stderr, wrong.passphrase)
}

func TestCheckEmail(t *testing.T) {
	f := newFixture(t)
	f.deliver("users.csv", users(1, 2))
	smtp := smtptest.Start(t, &smtptest.Options{Username: "usersync", Password: "smtp-Secret-1"})
	f.env["SMTP_PASSWORD"] = "smtp-Secret-1"
	f.reports = mailReports(t, f, smtp)
	r := f.run("check", "--json")
	require.Equal(t, exitOK, r.code, r)
	out := r.decode(t)
	res, detail, _ := findStep(t, out, "email", "SMTP server")
	assert.Equal(t, "pass", res)
	assert.Contains(t, detail, "logged in as usersync")
	assert.Empty(t, smtp.Messages(), "check sends no email")

	f.env["SMTP_PASSWORD"] = "not-the-password"
	r = f.run("check", "--json")
	require.Equal(t, exitCheck, r.code, r)
	res, _, _ = findStep(t, r.decode(t), "email", "SMTP server")
	assert.Equal(t, "fail", res)
}

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	none := func(string) (string, bool) { return "", false }
	code := run(context.Background(), nil, &stdout, &stderr, none)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr.String(), "Usage:")
	assert.Contains(t, stderr.String(), "3  held", "the usage lists the exit codes")

	stdout.Reset()
	code = run(context.Background(), []string{"help"}, &stdout, &stderr, none)
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout.String(), "Commands:")

	stdout.Reset()
	code = run(context.Background(), []string{"-h"}, &stdout, &stderr, none)
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout.String(), "Commands:")

	stderr.Reset()
	code = run(context.Background(), []string{"sync"}, &stdout, &stderr, none)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr.String(), `unknown command "sync"`)

	stderr.Reset()
	code = run(context.Background(), []string{"run", "--bogus"}, &stdout, &stderr, none)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr.String(), "bogus")
}

func TestMissingConfig(t *testing.T) {
	var stdout, stderr bytes.Buffer
	none := func(string) (string, bool) { return "", false }
	code := run(context.Background(), []string{"-c", t.TempDir() + "/nope.yaml", "run"}, &stdout, &stderr, none)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr.String(), "nope.yaml")
	assert.Contains(t, stderr.String(), "usersync.example.yaml documents it")

	// $USERSYNC_CONFIG names the config when -c does not.
	stderr.Reset()
	env := func(k string) (string, bool) { return "/no/such/usersync.yaml", k == "USERSYNC_CONFIG" }
	code = run(context.Background(), []string{"check"}, &stdout, &stderr, env)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr.String(), "/no/such/usersync.yaml")
}

// TestConfigErrorNamesKeyAndLine: every problem of the config file is
// reported with the file, the line and the key, as text and as JSON.
func TestConfigErrorNamesKeyAndLine(t *testing.T) {
	f := newFixture(t)
	f.sink = "sink:\n  sqlite:\n    path: users.db\n  tennant: acme\n"
	f.policy = "policy:\n  absent: remove\n"
	r := f.run("run")
	require.Equal(t, exitUsage, r.code, r)
	assert.Contains(t, r.stderr, "usersync.yaml:10: policy.absent: want one of deactivate, delete, ignore, got \"remove\"")
	assert.Contains(t, r.stderr, "usersync.yaml:14: sink.tennant: unknown key; did you mean \"tenant\"?")
	assert.Empty(t, r.stdout)

	r = f.run("run", "--json")
	require.Equal(t, exitUsage, r.code, r)
	out := r.decode(t)
	require.Len(t, out.Errors, 2)
	assert.Equal(t, 10, out.Errors[0].Line)
	assert.Equal(t, "policy.absent", out.Errors[0].Key)
	assert.Equal(t, 14, out.Errors[1].Line)
	assert.Equal(t, "sink.tennant", out.Errors[1].Key)
	assert.True(t, strings.HasSuffix(out.Errors[1].File, "usersync.yaml"))
}

// TestSecretsStayOut runs with secrets that the runs fail on, and checks
// that none shows in anything the command prints.
func TestSecretsStayOut(t *testing.T) {
	f, srv := sftpFixture(t)
	put(t, srv, "users.csv", users(1, 2))
	const secret = "Sup3r-Secret-Pw"
	f.env["SFTP_PASSWORD"] = secret
	for _, args := range [][]string{{"run"}, {"run", "--json"}, {"check"}, {"check", "--json"}, {"-v", "plan"}} {
		r := f.run(args...)
		assert.NotEqual(t, exitOK, r.code, "%v: %s", args, r)
		assert.NotContains(t, r.stdout+r.stderr, secret, "%v", args)
	}
	r := f.run("run", "--json")
	out := r.decode(t)
	assert.Contains(t, out.Summary.Error, "login refused", "the failure is reported: %s", r)

	// A literal password in the config file is refused, without echoing it.
	f.source = strings.Replace(f.source, "password_env: SFTP_PASSWORD", "password: "+secret, 1)
	r = f.run("run")
	require.Equal(t, exitUsage, r.code, r)
	assert.Contains(t, r.stderr, "source.sftp.password: secrets are never read from the config file")
	assert.NotContains(t, r.stdout+r.stderr, secret)
}

// TestRunOverSFTP syncs from the in-process SFTP server, archiving the file.
func TestRunOverSFTP(t *testing.T) {
	f, srv := sftpFixture(t)
	f.source += "  after_success: archive\n"
	put(t, srv, "users.csv", users(1, 4))
	r := f.run("run", "--json")
	require.Equal(t, exitOK, r.code, r)
	out := r.decode(t)
	assert.Equal(t, 4, out.Summary.Counts.Applied.Created)
	assert.NoFileExists(t, srv.Dir+"/users.csv", "archived after success")
	assert.DirExists(t, srv.Dir+"/archive")
}

// TestRunPGPOverSFTP decrypts a file from the SFTP server.
func TestRunPGPOverSFTP(t *testing.T) {
	f, srv := sftpFixture(t)
	key := newPGPKey(t, f.dir, "Acme", "pgp-Passphrase-1")
	put(t, srv, "users.csv.pgp", key.encrypt(t, users(1, 3)))
	f.env["PGP_PASSPHRASE"] = key.passphrase
	f.decrypt = "decrypt:\n  pgp:\n    keys:\n      - file: acme.key.asc\n        passphrase_env: PGP_PASSPHRASE\n"
	r := f.run("run", "--json")
	require.Equal(t, exitOK, r.code, r)
	out := r.decode(t)
	assert.Equal(t, 3, out.Summary.Counts.Applied.Created)
	require.Len(t, out.Summary.Files, 1)
	assert.NotEmpty(t, out.Summary.Files[0].DecryptedBy)

	// A plaintext file is refused: encryption is required unless optional.
	put(t, srv, "users2.csv", users(10, 1))
	r = f.run("run")
	require.Equal(t, exitFailed, r.code, r)
	assert.Contains(t, r.stdout, "not an encrypted OpenPGP message")
	f.decrypt += "    encrypted: optional\n"
	r = f.run("run")
	require.Equal(t, exitOK, r.code, r)
}

func TestSFTPServerDownFailsTheRun(t *testing.T) {
	f, srv := sftpFixture(t)
	srv.Close()
	f.source = strings.Replace(f.source, "connect_timeout: 10s", "connect_timeout: 2s\n    retries: off", 1)
	r := f.run("run", "--json")
	require.Equal(t, exitFailed, r.code, r)
	out := r.decode(t)
	require.NotNil(t, out.Summary, "a source that is down fails the run, which is reported like any other")
	assert.Contains(t, out.Summary.Error, "sftp://test@")
	assert.Contains(t, out.Summary.Error, "connection refused")
}

// TestExampleConfigChecks runs check against the documented example, as
// its first lines suggest; check creates nothing, so it runs in place.
func TestExampleConfigChecks(t *testing.T) {
	var stdout, stderr bytes.Buffer
	none := func(string) (string, bool) { return "", false }
	code := run(context.Background(), []string{"-c", "usersync.example.yaml", "check"}, &stdout, &stderr, none)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Contains(t, stdout.String(), "header line of users.csv")
	assert.NoFileExists(t, "usersync.db")
}

// TestShortSecretRefused: a secret shorter than 8 characters is refused
// when the config loads, with the file, the line and the key, and is never
// printed in any form; ordinary words that hold it are left alone.
func TestShortSecretRefused(t *testing.T) {
	f, srv := sftpFixture(t)
	put(t, srv, "users.csv", users(1, 2))
	f.env["SFTP_PASSWORD"] = "first"
	for _, args := range [][]string{{"check"}, {"run"}, {"run", "--json"}} {
		r := f.run(args...)
		require.Equal(t, exitUsage, r.code, r)
		assert.Contains(t, r.stderr, "usersync.yaml:7: source.sftp.password_env: the secret in environment variable SFTP_PASSWORD has 5 characters, fewer than 8")
		assert.NotContains(t, r.stdout+r.stderr, "[REDACTED]", "nothing to redact: the secret was never used")
		assert.Zero(t, srv.PasswordAttempts(), "a refused secret is never sent")
	}

	// A long secret is redacted where it stands, and nowhere else.
	f.env["SFTP_PASSWORD"] = "exist-first-run"
	r := f.run("check")
	require.Equal(t, exitCheck, r.code, r)
	assert.Contains(t, r.stdout, "does not exist yet: the first run creates it", "ordinary text is never altered")
	assert.NotContains(t, r.stdout+r.stderr, "exist-first-run")
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
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

// TestExampleConfig runs the documented example as its first lines and the
// README suggest, on a copy in a folder of its own: what a person tries
// must never leave a file the tests trip on. check creates nothing; plan
// creates the database in state/, which git ignores.
func TestExampleConfig(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, "usersync.example.yaml", filepath.Join(dir, "usersync.example.yaml"))
	copyFile(t, "testdata/inbox/users.csv", filepath.Join(dir, "testdata/inbox/users.csv"))
	copyFile(t, "state/.gitignore", filepath.Join(dir, "state/.gitignore"))
	t.Chdir(dir)

	var stdout, stderr bytes.Buffer
	none := func(string) (string, bool) { return "", false }
	code := run(context.Background(), []string{"-c", "usersync.example.yaml", "check"}, &stdout, &stderr, none)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Contains(t, stdout.String(), "header line of users.csv")
	assert.NoFileExists(t, "state/usersync.db", "check creates nothing")

	stdout.Reset()
	code = run(context.Background(), []string{"-c", "usersync.example.yaml", "plan", "-o", "state/plan.json"}, &stdout, &stderr, none)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.FileExists(t, "state/usersync.db", "the example's database goes in state/")
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"usersync.example.yaml", "testdata", "state"}, names, "nothing outside state/")
	ignore, err := os.ReadFile("state/.gitignore")
	require.NoError(t, err)
	assert.Contains(t, string(ignore), "\n*\n", "git ignores what the example writes")
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(to), 0o700))
	require.NoError(t, os.WriteFile(to, data, 0o600))
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

// TestCommandLine: per-command help with examples, version from the build
// information, shell completion, and usage errors said once, with the
// command's name and where to look.
func TestCommandLine(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	cli := func(args ...string) result {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, &stdout, &stderr, none)
		return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	}
	for _, c := range []struct{ cmd, says string }{
		{"check", "checks the setup step by step"},
		{"plan", "-o, --output file"},
		{"apply", "-n, --dry-run"},
		{"run", "syncs once"},
		{"watch", "--now"},
		{"history", "--status strings"},
		{"version", "module version"},
	} {
		for _, args := range [][]string{{c.cmd, "--help"}, {"help", c.cmd}, {c.cmd, "-h"}} {
			r := cli(args...)
			require.Equal(t, exitOK, r.code, "%v: %s", args, r)
			assert.Contains(t, r.stdout, c.says, "%v prints the command's own help", args)
			assert.Contains(t, r.stdout, "Examples:\n  usersync", "%v", args)
			assert.Contains(t, r.stdout, "-c, --config file", "%v: the global flags too", args)
			assert.NotContains(t, r.stdout, "Available Commands:", "%v is not the global help", args)
		}
	}

	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := cli(args...)
		require.Equal(t, exitOK, r.code, r)
		assert.Regexp(t, `^usersync \S+.* \(.*built with go1\.\d+`, r.stdout, "%v", args)
	}
	r := cli("version", "--json")
	require.Equal(t, exitOK, r.code, r)
	assert.Equal(t, version(), r.decode(t).Version)

	r = cli("completion", "bash")
	require.Equal(t, exitOK, r.code, r)
	assert.Contains(t, r.stdout, "bash completion")
	r = cli("__complete", "history", "--status", "")
	require.Equal(t, exitOK, r.code, r)
	assert.Contains(t, r.stdout, "stale\n")

	// Usage errors: one prefix, naming the command, exit code 2.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "usersync: unknown flag: --bogus (usersync --help shows the usage)\n"},
		{[]string{"run", "--bogus"}, "usersync run: unknown flag: --bogus (usersync run --help shows the usage)\n"},
		{[]string{"plan", "extra"}, "usersync plan: unexpected argument \"extra\" (usersync plan --help shows the usage)\n"},
		{[]string{"apply"}, "usersync apply: give the plan file to apply: usersync apply plan.json (usersync apply --help shows the usage)\n"},
		{[]string{"history", "-n", "0"}, "usersync history: -n 0: give a number of runs, 1 or more\n"},
	} {
		r := cli(tc.args...)
		assert.Equal(t, exitUsage, r.code, "%v: %s", tc.args, r)
		assert.Equal(t, tc.want, r.stderr, "%v", tc.args)
	}
	r = cli("-version")
	assert.Equal(t, exitUsage, r.code)
	assert.NotContains(t, r.stderr, "usersync :")
	assert.Contains(t, r.stderr, "did you mean --version?")
}

// TestDescribeBuild: the version says what the build information holds.
func TestDescribeBuild(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-05T18:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	assert.Equal(t, "v1.2.3 (commit 0123456789ab of 2026-12-05T18:00:00Z, with local changes, built with go1.26.8)", describeBuild(bi))
	assert.Equal(t, "(devel)", describeBuild(&debug.BuildInfo{}))
}

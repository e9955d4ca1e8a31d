package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run the built binary, as a scheduler or a script would: the
// exit codes are the process's, the secrets come from its environment.

func TestBinaryRunAndHistory(t *testing.T) {
	f, srv := sftpFixture(t)
	put(t, srv, "users.csv", users(1, 5))

	r := f.runBinary("check")
	require.Equal(t, exitOK, r.code, r)
	assert.Contains(t, r.stdout, "Every step passed.")

	r = f.runBinary("run", "--json")
	require.Equal(t, exitOK, r.code, r)
	out := r.decode(t)
	assert.Equal(t, "succeeded", out.Status)
	assert.Equal(t, 5, out.Summary.Counts.Applied.Created)

	r = f.runBinary("history", "--json")
	require.Equal(t, exitOK, r.code, r)
	assert.Len(t, r.decode(t).Entries, 1)
}

func TestBinaryExitCodes(t *testing.T) {
	f := newFixture(t)
	f.deliver("users.csv", users(1, 60))
	require.Equal(t, exitOK, f.runBinary("run").code)

	f.deliver("users.csv", users(1, 6))
	r := f.runBinary("run")
	assert.Equal(t, exitHeld, r.code, r)
	assert.Contains(t, r.stderr, "apply -n")

	f.deliver("users.csv", []byte("UniqueID,Name\n"))
	r = f.runBinary("plan")
	assert.Equal(t, exitFailed, r.code, r)

	r = f.runBinary("check")
	assert.Equal(t, exitCheck, r.code, r)

	f.mapping = "mapping:\n  preset: cosafe\n  delimiter: semicolons\n"
	r = f.runBinary("run")
	assert.Equal(t, exitUsage, r.code, r)
	assert.True(t, strings.Contains(r.stderr, "usersync.yaml:9: mapping.delimiter: want auto, tab or one ASCII punctuation character"), r)

	r = f.runBinary("apply")
	assert.Equal(t, exitUsage, r.code, r)
}

func TestBinaryWrongPasswordFromEnvironment(t *testing.T) {
	f, srv := sftpFixture(t)
	put(t, srv, "users.csv", users(1, 1))
	f.env["SFTP_PASSWORD"] = "Wr0ng-but-Secret"
	r := f.runBinary("check")
	require.Equal(t, exitCheck, r.code, r)
	assert.Contains(t, r.stdout, "FAIL  source      log in as test")
	assert.NotContains(t, r.stdout+r.stderr, "Wr0ng-but-Secret")

	delete(f.env, "SFTP_PASSWORD")
	r = f.runBinary("check")
	require.Equal(t, exitUsage, r.code, r)
	assert.Contains(t, r.stderr, "source.sftp.password_env: environment variable SFTP_PASSWORD is not set")
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCheckLogsInOnceSFTP: check sends the password once, right or wrong:
// the steps are those of the connection the files are then read on. A
// drop box that locks a user out after five failures must not see two
// from one check.
func TestCheckLogsInOnceSFTP(t *testing.T) {
	f, srv := sftpFixture(t)
	put(t, srv, "users.csv", users(1, 3))
	r := f.run("check")
	require.Equal(t, exitOK, r.code, r)
	assert.Contains(t, r.stdout, "PASS  mapping     first row of users.csv", "the file was read on the checked connection")
	assert.Equal(t, 1, srv.PasswordAttempts(), "one login for the whole check")
	assert.Equal(t, 1, srv.Logins())

	f.env["SFTP_PASSWORD"] = "wrong-Passw0rd"
	r = f.run("check")
	require.Equal(t, exitCheck, r.code, r)
	assert.Contains(t, r.stdout, "FAIL  source      log in as test")
	assert.Equal(t, 2, srv.PasswordAttempts(), "a wrong password is sent once, never again to explain it")
	assert.Equal(t, 1, srv.Logins())
}

func TestCheckLogsInOnceFTP(t *testing.T) {
	f, srv := ftpFixture(t, nil)
	require.NoError(t, srv.Put("users.csv", users(1, 4), time.Now().Add(-time.Hour)))
	r := f.run("check")
	require.Equal(t, exitOK, r.code, r)
	assert.Contains(t, r.stdout, "PASS  mapping     first row of users.csv")
	assert.Equal(t, 1, srv.PasswordAttempts(), "one login for the whole check")

	f.env["FTP_PASSWORD"] = "wrong-Passw0rd"
	r = f.run("check")
	require.Equal(t, exitCheck, r.code, r)
	assert.Contains(t, r.stdout, "FAIL  source      log in as")
	assert.Equal(t, 2, srv.PasswordAttempts(), "a wrong password is sent once")
}

// TestCheckServerDownSaysItOnce: the step names the address; its error does
// not name it again.
func TestCheckServerDownSaysItOnce(t *testing.T) {
	f, srv := sftpFixture(t)
	addr := srv.Addr
	srv.Close()
	r := f.run("check")
	require.Equal(t, exitCheck, r.code, r)
	assert.Contains(t, r.stdout, "FAIL  source      connect to "+addr+": ")
	assert.NotContains(t, r.stdout, "connect to "+addr+": connect to "+addr, "the step names the address, its error does not again")

	r = f.run("check", "--json")
	_, _, msg := findStep(t, r.decode(t), "source", "connect to")
	assert.NotContains(t, msg, "connect to "+addr)
	assert.Contains(t, msg, "refused")
}

// TestCheckEmptyFolderAfterGoodNight: the file was archived after a good
// run, as every night: check passes and says when a file was last applied.
// Only a feed older than the stale-feed limit fails.
func TestCheckEmptyFolderAfterGoodNight(t *testing.T) {
	f := newFixture(t)
	f.source += "  after_success: archive\n  archive_folder: done\n"
	f.reports = "reports:\n  history:\n    file: runs.jsonl\n"
	require.NoError(t, os.Mkdir(filepath.Join(f.inbox, "done"), 0o700))

	r := f.run("check")
	require.Equal(t, exitCheck, r.code, "an empty folder before any run fails:\n%s", r)
	assert.Contains(t, r.stdout, "no file waiting, and no run has applied one yet")

	f.deliver("users.csv", users(1, 3))
	require.Equal(t, exitOK, f.run("run").code)
	assert.NoFileExists(t, filepath.Join(f.inbox, "users.csv"), "archived")

	r = f.run("check")
	require.Equal(t, exitOK, r.code, r)
	assert.Contains(t, r.stdout, "PASS  source      expected file users*.csv: no file waiting; last applied ")
	assert.Contains(t, r.stdout, "(users.csv)")
	assert.Contains(t, r.stdout, "SKIP  mapping     header line: not checked: no file to read")

	// Three days later, still nothing: the feed is stale.
	ageHistory(t, filepath.Join(f.dir, "runs.jsonl"), 72*time.Hour)
	r = f.run("check")
	require.Equal(t, exitCheck, r.code, r)
	assert.Contains(t, r.stdout, "FAIL  source      expected file users*.csv: no file waiting; last applied ")
	assert.Contains(t, r.stdout, "over the stale-feed limit of 26h0m0s")

	// A feed that comes weekly says so.
	f.reports += "  stale_after: 8d\n"
	r = f.run("check")
	require.Equal(t, exitOK, r.code, r)
}

// ageHistory moves the times of a history file's runs back by d.
func ageHistory(t *testing.T, file string, d time.Duration) {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var e map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &e))
		sum := e["summary"].(map[string]any)
		for _, k := range []string{"started", "finished"} {
			at, err := time.Parse(time.RFC3339Nano, sum[k].(string))
			require.NoError(t, err)
			sum[k] = at.Add(-d).Format(time.RFC3339Nano)
		}
		b, err := json.Marshal(e)
		require.NoError(t, err)
		out = append(out, string(b))
	}
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(out, "\n")+"\n"), 0o600))
}

// TestCheckRejectedFirstRow: a first row that a run would reject is a
// warning when a later row maps, and check says so in its last line; a
// failure when no row of the first few maps.
func TestCheckRejectedFirstRow(t *testing.T) {
	f := newFixture(t)
	bad := "UniqueID,Name,Mail,Title,TelephoneNumber,Groups\nEMP-000099,Bad Mail,not-an-email,Nurse,,Ward A\n"
	f.deliver("users.csv", []byte(bad+strings.SplitN(string(users(1, 2)), "\n", 2)[1]))
	r := f.run("check")
	require.Equal(t, exitOK, r.code, r)
	assert.Contains(t, r.stdout, "WARN  mapping     first row of users.csv: rejected: users.csv:2: column Mail")
	assert.NotContains(t, r.stdout, "Every step passed.\n")
	assert.Contains(t, r.stdout, "Every step passed, one with a warning: see the step marked WARN.")

	// Every row rejected: the mapping or the file is wrong.
	f.deliver("users.csv", []byte(bad+"EMP-000098,Bad Too,also-not-an-email,Nurse,,Ward A\n"))
	r = f.run("check", "--json")
	require.Equal(t, exitCheck, r.code, r)
	res, _, msg := findStep(t, r.decode(t), "mapping", "first row of users.csv")
	assert.Equal(t, "fail", res)
	assert.Contains(t, msg, "no row of the first 2 maps")
}

// TestMissingFolderNamedOnce: a folder that is not there is named once, in
// check and in a run's error, over SFTP and FTP.
func TestMissingFolderNamedOnce(t *testing.T) {
	f, srv := sftpFixture(t)
	put(t, srv, "users.csv", users(1, 2))
	f.source = strings.Replace(f.source, "folder: /", "folder: /nope", 1)
	r := f.run("check")
	assert.Contains(t, r.stdout, "FAIL  source      folder /nope: file does not exist")
	r = f.run("run", "--json")
	require.Equal(t, exitFailed, r.code, r)
	assert.Equal(t, "list /nope: file does not exist", r.decode(t).Summary.Error)

	g, fsrv := ftpFixture(t, nil)
	require.NoError(t, fsrv.Put("users.csv", users(1, 2), time.Now().Add(-time.Hour)))
	g.source = strings.Replace(g.source, "    ca_file", "    folder: /nope\n    ca_file", 1)
	r = g.run("check")
	assert.Contains(t, r.stdout, "FAIL  source      folder /nope: no such folder: file does not exist (550")
	r = g.run("run", "--json")
	require.Equal(t, exitFailed, r.code, r)
	msg := r.decode(t).Summary.Error
	assert.Contains(t, msg, "/nope: no such folder: file does not exist (550", "the URL names the folder")
	assert.NotContains(t, msg, "folder /nope")
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/smtptest"
)

// mailReports returns a reports section that emails smtp's recipients,
// trusting its certificate through a CA file, with the password in
// $SMTP_PASSWORD.
func mailReports(t *testing.T, f *fixture, smtp *smtptest.Server) string {
	t.Helper()
	ca := filepath.Join(f.dir, "smtp-ca.pem")
	require.NoError(t, os.WriteFile(ca, smtp.CertificatePEM, 0o600))
	return fmt.Sprintf(`reports:
  email:
    host: %s
    port: %d
    ca_file: smtp-ca.pem
    username: usersync
    password_env: SMTP_PASSWORD
    from: "usersync <usersync@acme.example>"
    to:
      - hr@acme.example
      - address: approver@acme.example
        on: [plan_held]
`, smtp.Host, smtp.Port)
}

func TestRunEmailsTheSummary(t *testing.T) {
	f := newFixture(t)
	smtp := smtptest.Start(t, &smtptest.Options{Username: "usersync", Password: "smtp-Secret-1"})
	f.env["SMTP_PASSWORD"] = "smtp-Secret-1"
	f.reports = mailReports(t, f, smtp)

	f.deliver("users.csv", users(1, 60))
	r := f.run("run")
	require.Equal(t, exitOK, r.code, r)
	msgs := smtp.Messages()
	require.Len(t, msgs, 1, "one summary per run")
	assert.Equal(t, []string{"hr@acme.example"}, msgs[0].To)
	assert.True(t, msgs[0].TLS, "sent over TLS")
	assert.Equal(t, "usersync", msgs[0].User)
	assert.Contains(t, string(msgs[0].Data), "usersync Acme: succeeded")
	assert.NotContains(t, string(msgs[0].Data), "smtp-Secret-1")

	// A held plan: the summary to hr, the held-plan alert to the approver.
	f.deliver("users.csv", users(1, 5))
	r = f.run("run")
	require.Equal(t, exitHeld, r.code, r)
	msgs = smtp.Messages()[1:]
	var to []string
	for _, m := range msgs {
		to = append(to, strings.Join(m.To, ","))
	}
	assert.ElementsMatch(t, []string{"hr@acme.example", "approver@acme.example"}, to)
}

func TestHistory(t *testing.T) {
	f := newFixture(t)
	r := f.run("history")
	require.Equal(t, exitOK, r.code, r)
	assert.Contains(t, r.stdout, "No runs yet.")
	assert.NoFileExists(t, filepath.Join(f.dir, "users.db"), "history creates no database")

	f.deliver("users.csv", users(1, 3))
	require.Equal(t, exitOK, f.run("run").code)
	f.deliver("users.csv", []byte("UniqueID,Name\nEMP-000001,Ann\n"))
	require.Equal(t, exitFailed, f.run("run").code)
	require.Equal(t, exitFailed, f.run("plan").code, "a plan is kept out of the history")

	r = f.run("history")
	require.Equal(t, exitOK, r.code, r)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 3, r.stdout)
	assert.Contains(t, lines[0], "STATUS")
	assert.Contains(t, lines[1], "failed", "newest first")
	assert.Contains(t, lines[2], "succeeded")

	r = f.run("history", "--json", "-n", "1")
	require.Equal(t, exitOK, r.code, r)
	out := r.decode(t)
	require.Len(t, out.Entries, 1)
	assert.Equal(t, usersync.Failed, out.Entries[0].Summary.Status)

	r = f.run("history", "--status", "succeeded", "--json")
	require.Equal(t, exitOK, r.code, r)
	out = r.decode(t)
	require.Len(t, out.Entries, 1)
	id := out.Entries[0].ID

	r = f.run("history", id)
	require.Equal(t, exitOK, r.code, r)
	assert.Contains(t, r.stdout, "usersync Acme: succeeded — 3 created")
	assert.Contains(t, r.stdout, "Created (3)")

	r = f.run("history", "20200101T000000.000Z-00000000")
	assert.Equal(t, exitFailed, r.code, r)
	assert.Contains(t, r.stderr, "no run")

	r = f.run("history", "--status", "bogus")
	assert.Equal(t, exitUsage, r.code, r)
}

func TestHistoryFile(t *testing.T) {
	f := newFixture(t)
	f.reports = "reports:\n  history:\n    file: runs.jsonl\n"
	f.deliver("users.csv", users(1, 2))
	require.Equal(t, exitOK, f.run("run").code)
	data, err := os.ReadFile(filepath.Join(f.dir, "runs.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(string(data), "\n"))
	r := f.run("history", "--json")
	require.Equal(t, exitOK, r.code, r)
	assert.Len(t, r.decode(t).Entries, 1)
}

// TestHistoryTellsOutcomesApart: a stale plan (exit code 6), a held plan, a
// failed run and a succeeded one are each listed as what they were, with
// the exit code they had, and --status selects each.
func TestHistoryTellsOutcomesApart(t *testing.T) {
	f := newFixture(t)
	f.deliver("users.csv", users(1, 60))
	require.Equal(t, exitOK, f.run("run").code)

	f.deliver("users.csv", users(1, 10)) // over the guard: held
	require.Equal(t, exitHeld, f.run("run").code)

	f.deliver("users.csv", []byte("UniqueID,Name\nEMP-000001,Ann\n")) // no Mail column: failed
	require.Equal(t, exitFailed, f.run("run").code)

	f.deliver("users.csv", users(1, 61))
	planFile := filepath.Join(f.dir, "plan.json")
	require.Equal(t, exitOK, f.run("plan", "-o", planFile).code)
	f.deliver("users.csv", users(1, 62)) // the file changed since: stale
	require.Equal(t, exitStale, f.run("apply", planFile).code)

	r := f.run("history")
	require.Equal(t, exitOK, r.code, r)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 5, r.stdout)
	assert.Regexp(t, `\sstale\s+6\s+usersync Acme: stale plan — nothing applied; plan again`, lines[1])
	assert.Regexp(t, `\sfailed\s+1\s`, lines[2])
	assert.Regexp(t, `\sheld\s+3\s`, lines[3])
	assert.Regexp(t, `\ssucceeded\s+0\s`, lines[4])

	id := strings.Fields(lines[1])[0]
	r = f.run("history", id)
	require.Equal(t, exitOK, r.code, r)
	assert.True(t, strings.HasPrefix(r.stdout, "usersync Acme: stale plan — nothing applied"), r.stdout)
	assert.Contains(t, r.stdout, "the approved plan is out of date")

	for word, want := range map[string]string{"stale": "stale", "failed": "failed", "held": "held", "succeeded": "succeeded"} {
		r = f.run("history", "--status", word, "--json")
		require.Equal(t, exitOK, r.code, r)
		var out struct {
			Entries []struct {
				Outcome  string `json:"outcome"`
				ExitCode int    `json:"exit_code"`
			} `json:"entries"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &out), r.stdout)
		require.Len(t, out.Entries, 1, "--status %s: %s", word, r.stdout)
		assert.Equal(t, want, out.Entries[0].Outcome)
	}
}

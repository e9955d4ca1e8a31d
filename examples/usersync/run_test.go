package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
)

// countUsersIn counts the tenant's users in the SQLite directory.
func countUsersIn(t *testing.T, dbPath string, where string) int {
	t.Helper()
	db, err := sqlite.Open(dbPath)
	require.NoError(t, err)
	defer db.Close()
	var n int
	q := "SELECT count(*) FROM usersync_users WHERE tenant = 'acme'"
	if where != "" {
		q += " AND " + where
	}
	require.NoError(t, db.QueryRow(q).Scan(&n))
	return n
}

func TestRunCreatesThenFindsNothingToDo(t *testing.T) {
	f := newFixture(t)
	f.deliver("users.csv", users(1, 8))

	r := f.run("run")
	require.Equal(t, exitOK, r.code, r)
	assert.Contains(t, r.stdout, "succeeded")
	assert.Contains(t, r.stdout, "users.csv")
	assert.Equal(t, 8, countUsersIn(t, filepath.Join(f.dir, "users.db"), "managed"))

	r = f.run("run", "--json")
	require.Equal(t, exitOK, r.code, r)
	out := r.decode(t)
	assert.Equal(t, "run", out.Command)
	assert.Equal(t, "nothing to do", out.Status, "the same content is not applied twice")
	require.NotNil(t, out.Summary)
	assert.Equal(t, usersync.NothingToDo, out.Summary.Status)
}

func TestRunJSON(t *testing.T) {
	f := newFixture(t)
	f.deliver("users.csv", users(1, 5))
	r := f.run("--json", "run")
	require.Equal(t, exitOK, r.code, r)
	out := r.decode(t)
	assert.Equal(t, "succeeded", out.Status)
	require.NotNil(t, out.Summary)
	assert.Equal(t, 5, out.Summary.Counts.Applied.Created)
	assert.Equal(t, "Acme", out.Summary.Name)
	require.Len(t, out.Summary.Files, 1)
	assert.Equal(t, "users.csv", out.Summary.Files[0].Name)
	assert.NotEmpty(t, out.Summary.Files[0].SHA256)
	assert.Empty(t, r.stderr, "nothing but the JSON document, and on stdout")
}

func TestRunRejectedRowsAndQuiet(t *testing.T) {
	f := newFixture(t)
	data := string(users(1, 5)) + "EMP-000099,Bad Mail,not-an-email,Nurse,,Ward A\n"
	f.deliver("users.csv", []byte(data))
	r := f.run("run")
	require.Equal(t, exitRejected, r.code, "the rows applied, and the exit code says a row was rejected:\n%s", r)
	assert.Contains(t, r.stdout, "users.csv:7")
	assert.Equal(t, 5, countUsersIn(t, filepath.Join(f.dir, "users.db"), ""), "the good rows applied")

	// --json says the same, for scripts that read it.
	f.deliver("users3.csv", users(200, 1))
	r = f.run("run", "--json")
	require.Equal(t, exitRejected, r.code, r)
	out := r.decode(t)
	assert.Equal(t, exitRejected, out.ExitCode)
	assert.Equal(t, "succeeded", out.Status)

	// -q prints the headline of a run that needs someone, on stderr.
	f.deliver("users4.csv", users(300, 1))
	r = f.run("-q", "run")
	require.Equal(t, exitRejected, r.code, r)
	assert.Empty(t, r.stdout)
	assert.Contains(t, r.stderr, "rejected")

	// A run with no new file applied nothing and rejected nothing: 0.
	r = f.run("run")
	require.Equal(t, exitOK, r.code, r)

	// Once the file is fixed: exit code 0, and -q prints nothing.
	f.deliver("users.csv", users(1, 5))
	f.deliver("users2.csv", users(100, 1))
	r = f.run("-q", "run")
	require.Equal(t, exitOK, r.code, r)
	assert.Empty(t, r.stdout, "-q prints nothing on success")
	assert.Empty(t, r.stderr)
}

func TestRunFailedFile(t *testing.T) {
	f := newFixture(t)
	f.deliver("users.csv", []byte("UniqueID,Name,Title\nEMP-000001,Ann,Nurse\n"))
	r := f.run("run")
	require.Equal(t, exitFailed, r.code, r)
	assert.Contains(t, r.stdout, "Mail", "the summary names the missing column")

	r = f.run("run", "--json")
	require.Equal(t, exitFailed, r.code, r)
	out := r.decode(t)
	assert.Equal(t, "failed", out.Status)
	assert.Contains(t, out.Error, "missing required column")
	assert.Zero(t, countUsersIn(t, filepath.Join(f.dir, "users.db"), ""), "nothing applied")
}

// TestRunHeldThenApproved runs a sync whose plan a guard holds: exit code 3,
// the plan saved; then applies the saved plan.
func TestRunHeldThenApproved(t *testing.T) {
	f := newFixture(t)
	f.deliver("users.csv", users(1, 60))
	require.Equal(t, exitOK, f.run("run").code)

	f.deliver("users.csv", users(1, 10)) // 50 of 60 gone: over the 10% guard
	r := f.run("run")
	require.Equal(t, exitHeld, r.code, r)
	assert.Contains(t, r.stdout, "held")
	assert.Contains(t, r.stderr, "The held plan was saved to")
	db := filepath.Join(f.dir, "users.db")
	assert.Equal(t, 60, countUsersIn(t, db, "NOT inactive"), "a held plan applies nothing")

	r = f.run("run", "--json")
	require.Equal(t, exitHeld, r.code, r)
	out := r.decode(t)
	assert.Equal(t, "held", out.Status)
	require.NotEmpty(t, out.PlanFile)
	assert.Equal(t, filepath.Join(f.dir, "plans"), filepath.Dir(out.PlanFile))
	require.NotEmpty(t, out.Summary.Guards)
	fi, err := os.Stat(out.PlanFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "a plan names users: owner only")

	r = f.run("apply", "-n", out.PlanFile)
	require.Equal(t, exitOK, r.code, r)
	assert.Contains(t, r.stdout, "- deactivate EMP-000011")
	assert.Contains(t, r.stdout, "The plan still applies")
	assert.Equal(t, 60, countUsersIn(t, db, "NOT inactive"), "apply -n applies nothing")

	r = f.run("apply", out.PlanFile)
	require.Equal(t, exitOK, r.code, r)
	assert.Equal(t, 10, countUsersIn(t, db, "NOT inactive"))
	assert.Equal(t, 50, countUsersIn(t, db, "inactive"))
}

func TestPlanWriteAndApply(t *testing.T) {
	f := newFixture(t)
	f.deliver("users.csv", users(1, 3))
	planFile := filepath.Join(f.dir, "plan.json")

	r := f.run("plan", "-o", planFile)
	require.Equal(t, exitOK, r.code, r)
	assert.Contains(t, r.stdout, "+ create EMP-000001")
	assert.Contains(t, r.stdout, "Read users.csv: UTF-8")
	assert.Contains(t, r.stdout, "The plan was written to "+planFile)
	assert.Zero(t, countUsersIn(t, filepath.Join(f.dir, "users.db"), ""), "plan changes nothing")

	// flags after the positional argument work too
	r = f.run("apply", planFile, "--json")
	require.Equal(t, exitOK, r.code, r)
	out := r.decode(t)
	assert.Equal(t, "succeeded", out.Status)
	assert.Equal(t, 3, out.Summary.Counts.Applied.Created)
	assert.Equal(t, 3, countUsersIn(t, filepath.Join(f.dir, "users.db"), "managed"))
}

func TestPlanJSONAndStdout(t *testing.T) {
	f := newFixture(t)
	f.deliver("users.csv", users(1, 2))
	r := f.run("plan", "--json")
	require.Equal(t, exitOK, r.code, r)
	out := r.decode(t)
	assert.Equal(t, "plan", out.Command)
	assert.Equal(t, "planned", out.Status)
	assert.Equal(t, 2, out.Summary.Counts.Planned.Created)

	r = f.run("plan", "-o", "-")
	require.Equal(t, exitOK, r.code, r)
	plan, err := readPlanJSON([]byte(r.stdout))
	require.NoError(t, err, r)
	assert.Len(t, synctest.Changes(t, plan), 3, "a group and two users")
}

func readPlanJSON(b []byte) (*usersync.Plan, error) {
	var p usersync.Plan
	return &p, p.UnmarshalJSON(b)
}

// TestApplyRefusesStalePlan: a plan whose directory changed since is not
// applied, with exit code 6 and a message saying what to do.
func TestApplyRefusesStalePlan(t *testing.T) {
	f := newFixture(t)
	f.deliver("users.csv", users(1, 3))
	planFile := filepath.Join(f.dir, "plan.json")
	require.Equal(t, exitOK, f.run("plan", "-o", planFile).code)

	// Someone changes the directory meanwhile.
	db, err := sqlite.Open(filepath.Join(f.dir, "users.db"))
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO usersync_users (tenant, key, attrs, inactive, managed, missing_runs, missing_since)
		VALUES ('acme', 'by-hand', '{"name":"Hand Made"}', false, false, 0, 0)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	r := f.run("apply", planFile)
	require.Equal(t, exitStale, r.code, r)
	assert.Contains(t, r.stderr, "Nothing was applied. Plan again")
	assert.Equal(t, 0, countUsersIn(t, filepath.Join(f.dir, "users.db"), "managed"))

	r = f.run("apply", "--json", planFile)
	require.Equal(t, exitStale, r.code, r)
	out := r.decode(t)
	assert.Contains(t, out.Error, "stale")

	// A changed file makes it stale too.
	require.Equal(t, exitOK, f.run("plan", "-o", planFile).code)
	f.deliver("users.csv", users(1, 4))
	r = f.run("apply", planFile)
	require.Equal(t, exitStale, r.code, r)
	assert.Contains(t, r.stderr, "users.csv")
}

// TestRunPartlyFailed: a change the database refuses fails alone; the
// others apply, exit code 4.
func TestRunPartlyFailed(t *testing.T) {
	f := newFixture(t)
	f.deliver("users.csv", users(1, 3))
	require.Equal(t, exitOK, f.run("run").code)

	dbPath := filepath.Join(f.dir, "users.db")
	db, err := sqlite.Open(dbPath)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TRIGGER refuse BEFORE UPDATE ON usersync_users WHEN NEW.key = 'EMP-000002'
		BEGIN SELECT RAISE(ABORT, 'the host refuses this user'); END`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	f.deliver("users.csv", []byte(strings.ReplaceAll(string(users(1, 3)), "Nurse", "Head nurse")))
	r := f.run("run", "--json")
	require.Equal(t, exitPartial, r.code, r)
	out := r.decode(t)
	assert.Equal(t, "partly failed", out.Status)
	assert.Equal(t, 1, out.Summary.Counts.Failed)
	assert.Equal(t, 2, out.Summary.Counts.Applied.Updated)
	assert.Equal(t, 2, countUsersIn(t, dbPath, `json_extract(attrs, '$.title') = 'Head nurse'`))
}

func TestRunBusy(t *testing.T) {
	f := newFixture(t)
	f.deliver("users.csv", users(1, 2))
	require.Equal(t, exitOK, f.run("run").code)

	// Another sync holds the lock: a row with a lease that has not run out.
	db, err := sqlite.Open(filepath.Join(f.dir, "users.db"))
	require.NoError(t, err)
	defer db.Close()
	insertLock(t, db)
	f.deliver("users.csv", users(1, 3))
	r := f.run("run")
	require.Equal(t, exitBusy, r.code, r)
	assert.Contains(t, r.stderr, "other-host")
}

func insertLock(t *testing.T, db *sql.DB) {
	t.Helper()
	_, err := db.Exec(`INSERT INTO usersync_locks (tenant, holder, token, since, expires)
		VALUES ('acme', 'usersync run on other-host', 'tok', strftime('%s','now') * 1000, (strftime('%s','now') + 3600) * 1000)`)
	require.NoError(t, err)
}

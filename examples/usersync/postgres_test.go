package main

import (
	"crypto/rand"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/internal/testenv"
)

// TestPostgres runs the commands against the PostgreSQL that .ci/run
// starts, with the DSN (and its password) in an environment variable, in
// tables of the test's own.
func TestPostgres(t *testing.T) {
	dsn := testenv.Getenv(t, "USERSYNC_TEST_POSTGRES_DSN", "PostgreSQL")
	prefix := "cli_" + strings.ToLower(rand.Text()[:8]) + "_"
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, tbl := range []string{"memberships", "invites", "users", "groups", "state", "locks", "history", "migrations"} {
			db.Exec(fmt.Sprintf("DROP TABLE IF EXISTS %s%s CASCADE", prefix, tbl))
		}
		db.Close()
	})

	f := newFixture(t)
	f.env["PG_DSN"] = dsn
	f.sink = fmt.Sprintf("sink:\n  postgres:\n    dsn_env: PG_DSN\n  tenant: acme\n  table_prefix: %s\n", prefix)
	f.deliver("users.csv", users(1, 60))

	r := f.run("check", "--json")
	require.Equal(t, exitOK, r.code, r)
	_, detail, _ := findStep(t, r.decode(t), "sink", "PostgreSQL")
	assert.Contains(t, detail, "no usersync tables yet")

	r = f.run("run", "--json")
	require.Equal(t, exitOK, r.code, r)
	assert.Equal(t, 60, r.decode(t).Summary.Counts.Applied.Created)

	r = f.run("check")
	require.Equal(t, exitOK, r.code, r)
	assert.Contains(t, r.stdout, "tenant acme: 60 users (60 managed by the sync, 0 inactive)")

	f.deliver("users.csv", users(1, 6))
	r = f.run("run", "--json")
	require.Equal(t, exitHeld, r.code, r)
	planFile := r.decode(t).PlanFile
	require.FileExists(t, planFile)
	assert.Equal(t, filepath.Join(f.dir, "plans"), filepath.Dir(planFile))

	r = f.run("apply", planFile)
	require.Equal(t, exitOK, r.code, r)
	var inactive int
	require.NoError(t, db.QueryRow(fmt.Sprintf("SELECT count(*) FROM %susers WHERE tenant = 'acme' AND inactive", prefix)).Scan(&inactive))
	assert.Equal(t, 54, inactive)

	r = f.run("history", "--json")
	require.Equal(t, exitOK, r.code, r)
	assert.Len(t, r.decode(t).Entries, 3, "two runs and the approved plan")

	pw := dsnPasswordOf(dsn)
	if pw != "" {
		r = f.run("-v", "run")
		assert.NotContains(t, r.stdout+r.stderr, pw)
	}
}

// dsnPasswordOf returns the password of a URL DSN.
func dsnPasswordOf(dsn string) string {
	_, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return ""
	}
	userinfo, _, ok := strings.Cut(rest, "@")
	if !ok {
		return ""
	}
	_, pw, _ := strings.Cut(userinfo, ":")
	return pw
}

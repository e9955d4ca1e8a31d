package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// check reads a OneRoster bundle as a whole, in the bundle's order, and a
// plan applies it.
func TestCheckOneRosterBundle(t *testing.T) {
	dir := t.TempDir()
	bundle := "../../csvmap/oneroster/testdata/bulk-1.1"
	ents, err := os.ReadDir(bundle)
	require.NoError(t, err)
	for _, e := range ents {
		copyFile(t, filepath.Join(bundle, e.Name()), filepath.Join(dir, "inbox", e.Name()))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "state"), 0o700))
	enr, err := os.ReadFile(filepath.Join(dir, "inbox", "enrollments.csv"))
	require.NoError(t, err)
	enr = append(enr, "e6,,,k1,s1,u99,student,,,\n"...)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "inbox", "enrollments.csv"), enr, 0o600))
	hourAgo := time.Now().Add(-time.Hour) // ready to be taken
	for _, e := range ents {
		require.NoError(t, os.Chtimes(filepath.Join(dir, "inbox", e.Name()), hourAgo, hourAgo))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "usersync.yaml"), []byte(`name: School
source:
  local:
    folder: inbox
mapping:
  oneroster:
    roles: [staff, students]
sink:
  sqlite:
    path: state/users.db
`), 0o600))
	t.Chdir(dir)

	var stdout, stderr bytes.Buffer
	none := func(string) (string, bool) { return "", false }
	code := run(context.Background(), []string{"-c", "usersync.yaml", "check"}, &stdout, &stderr, none)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	out := stdout.String()
	for _, want := range []string{
		"file manifest.csv of the bundle: 0 records",
		"file orgs.csv of the bundle: 0 records, 3 groups",
		"file classes.csv of the bundle: 0 records, 2 groups",
		"file users.csv of the bundle: 4 records, 1 rows out of scope",
		`file enrollments.csv of the bundle: 5 records; 1 rows rejected, the first: enrollments.csv:7: column userSourcedId: "u99": unknown reference: no user u99 in users.csv`,
	} {
		assert.Contains(t, out, want)
	}

	stdout.Reset()
	code = run(context.Background(), []string{"-c", "usersync.yaml", "plan"}, &stdout, &stderr, none)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Contains(t, stdout.String(), "groups  +k1 +k2 +s1", "Ann's classes and school")
}

package history_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for PostgreSQL
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/testenv"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/report/history"
	"github.com/usersync/usersync/report/history/historytest"
	"github.com/usersync/usersync/report/reporttest"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
)

func TestMem(t *testing.T) {
	historytest.Run(t, func(*testing.T) history.Store { return &history.Mem{} })
}

func TestFile(t *testing.T) {
	historytest.Run(t, func(t *testing.T) history.Store {
		return history.NewFile(filepath.Join(t.TempDir(), "history.jsonl"))
	})
}

// sqliteDB opens a SQLite database in a temporary folder, as the SQL sink
// opens its own: concurrent appends wait for each other's lock.
func sqliteDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "usersync.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSQLite(t *testing.T) {
	historytest.Run(t, func(t *testing.T) history.Store {
		s, err := history.NewSQL(context.Background(), sqliteDB(t), history.SQLite, nil)
		require.NoError(t, err)
		return s
	})
}

// TestPostgres runs the suite against the PostgreSQL that .ci/run starts,
// in tables of its own.
func TestPostgres(t *testing.T) {
	dsn := testenv.Getenv(t, "USERSYNC_TEST_POSTGRES_DSN", "PostgreSQL")
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.PingContext(context.Background()))
	historytest.Run(t, func(t *testing.T) history.Store {
		table := "history_test_" + randomHex(t)
		s, err := history.NewSQL(context.Background(), db, history.PostgreSQL, &history.SQLOptions{Table: table})
		require.NoError(t, err)
		t.Cleanup(func() { _, _ = db.Exec("DROP TABLE " + table) })
		return s
	})
}

func randomHex(t *testing.T) string {
	var b [6]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return hex.EncodeToString(b[:])
}

// TestSQLSharesTheDatabase checks that the history lives beside other
// tables, such as the SQL sink's, and opens again on an existing table.
func TestSQLSharesTheDatabase(t *testing.T) {
	ctx := context.Background()
	db := sqliteDB(t)
	_, err := db.Exec("CREATE TABLE users (key TEXT PRIMARY KEY)")
	require.NoError(t, err)
	s, err := history.NewSQL(ctx, db, history.SQLite, &history.SQLOptions{Table: "sync_runs"})
	require.NoError(t, err)
	_, err = s.Append(ctx, historytest.Summary(day(1), usersync.Succeeded, "Acme"))
	require.NoError(t, err)

	again, err := history.NewSQL(ctx, db, history.SQLite, &history.SQLOptions{Table: "sync_runs"})
	require.NoError(t, err)
	got, err := again.Query(ctx, history.Query{})
	require.NoError(t, err)
	assert.Len(t, got, 1)

	var status, headline string
	require.NoError(t, db.QueryRow("SELECT status, headline FROM sync_runs").Scan(&status, &headline))
	assert.Equal(t, "succeeded", status, "the host can query the table itself")
	assert.True(t, strings.HasPrefix(headline, "usersync Acme: succeeded — "))
}

func TestSQLOptions(t *testing.T) {
	db := sqliteDB(t)
	for _, table := range []string{"users; DROP TABLE users", "a-b", "1abc", strings.Repeat("x", 64), `"x"`} {
		_, err := history.NewSQL(context.Background(), db, history.SQLite, &history.SQLOptions{Table: table})
		assert.ErrorContains(t, err, "table name", table)
	}
	_, err := history.NewSQL(context.Background(), db, 0, nil)
	assert.ErrorContains(t, err, "dialect")
}

// TestFileTornLine checks that a line torn by a crash costs only itself:
// the next append starts on a line of its own, and Query skips the torn one.
func TestFileTornLine(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "history.jsonl")
	f := history.NewFile(path)
	_, err := f.Append(ctx, historytest.Summary(day(1), usersync.Succeeded, ""))
	require.NoError(t, err)

	// A crash in the middle of the second append.
	full, err := os.ReadFile(path)
	require.NoError(t, err)
	fd, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = fd.Write(full[:len(full)/2])
	require.NoError(t, err)
	require.NoError(t, fd.Close())

	got, err := f.Query(ctx, history.Query{})
	require.NoError(t, err)
	assert.Len(t, got, 1, "the torn line is skipped")

	_, err = f.Append(ctx, historytest.Summary(day(3), usersync.Held, ""))
	require.NoError(t, err)
	got, err = f.Query(ctx, history.Query{})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, usersync.Held, got[0].Summary.Status)

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	assert.Len(t, lines, 3, "whole, torn, whole")
	assert.True(t, strings.HasPrefix(lines[2], `{"id":`), "the new entry starts its own line")
}

func TestFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	_, err := history.NewFile(path).Append(context.Background(), historytest.Summary(day(1), usersync.Succeeded, ""))
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

// TestFileGarbage checks that lines that are not entries are skipped.
func TestFileGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	require.NoError(t, os.WriteFile(path, []byte("\n  \nnot json\n{\"id\":\"\"}\n[1,2]\n"), 0o600))
	got, err := history.NewFile(path).Query(context.Background(), history.Query{})
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestReporterConformance(t *testing.T) {
	reporttest.Run(t, func(t *testing.T) usersync.Reporter {
		return history.Reporter(history.NewFile(filepath.Join(t.TempDir(), "history.jsonl")), nil)
	})
}

// TestFileConcurrentProcesses appends from several processes at once, with
// lines far longer than a pipe's buffer, and checks that every entry is
// whole: the file's lines never interleave.
func TestFileConcurrentProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	const procs, each = 4, 10
	var cmds []*exec.Cmd
	for range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAppendHelperProcess$")
		cmd.Env = append(os.Environ(), "USERSYNC_HISTORY_HELPER="+path, "USERSYNC_HISTORY_HELPER_N="+strconv.Itoa(each))
		require.NoError(t, cmd.Start())
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		require.NoError(t, cmd.Wait())
	}
	got, err := history.NewFile(path).Query(context.Background(), history.Query{})
	require.NoError(t, err)
	require.Len(t, got, procs*each)
	for _, e := range got {
		assert.Equal(t, 2000, e.Summary.Rejected.Total)
		assert.Len(t, e.Summary.Rejected.Items, 2000)
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := 0
	for l := range strings.Lines(string(data)) {
		if strings.TrimSpace(l) != "" {
			lines++
		}
	}
	assert.Equal(t, procs*each, lines, "one line per entry")
	assert.Greater(t, len(data)/(procs*each), 128<<10, "entries longer than a pipe's buffer")
}

// TestAppendHelperProcess is the child of TestFileConcurrentProcesses.
func TestAppendHelperProcess(t *testing.T) {
	path := os.Getenv("USERSYNC_HISTORY_HELPER")
	if path == "" {
		t.Skip("the child process of TestFileConcurrentProcesses")
	}
	n, err := strconv.Atoi(os.Getenv("USERSYNC_HISTORY_HELPER_N"))
	require.NoError(t, err)
	r := &usersync.Result{Status: usersync.Failed, Started: day(1), RejectedTotal: 2000}
	for i := range 2000 {
		r.Rejected = append(r.Rejected, &usersync.RowError{File: "users.csv", Line: i + 2, Column: "Mail",
			Value: strings.Repeat("x", 40), Err: errors.New("not an email address")})
	}
	s := report.NewSummary(r, &report.Options{MaxListed: 2000})
	f := history.NewFile(path)
	for range n {
		_, err := f.Append(context.Background(), s)
		require.NoError(t, err)
	}
}

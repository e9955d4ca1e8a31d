package sqlsink_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
)

// fkLog makes a host trigger record, for each user inserted, whether the
// inserting connection checked foreign keys then.
func fkLog(t *testing.T, h *harness, db *sql.DB) func() []int {
	t.Helper()
	ctx := t.Context()
	for _, q := range []string{
		`CREATE TABLE fk_log (key TEXT, fk INTEGER)`,
		`CREATE TRIGGER fk_log AFTER INSERT ON ` + h.t("users") + ` BEGIN INSERT INTO fk_log SELECT NEW.key, foreign_keys FROM pragma_foreign_keys; END`,
	} {
		_, err := db.ExecContext(ctx, q)
		require.NoError(t, err)
	}
	return func() []int {
		rows, err := db.QueryContext(ctx, `SELECT fk FROM fk_log ORDER BY rowid`)
		require.NoError(t, err)
		defer rows.Close()
		var out []int
		for rows.Next() {
			var fk int
			require.NoError(t, rows.Scan(&fk))
			out = append(out, fk)
		}
		require.NoError(t, rows.Err())
		_, err = db.ExecContext(ctx, `DELETE FROM fk_log`)
		require.NoError(t, err)
		return out
	}
}

func foreignKeys(t *testing.T, db *sql.DB) bool {
	t.Helper()
	var on bool
	require.NoError(t, db.QueryRowContext(t.Context(), "PRAGMA foreign_keys").Scan(&on))
	return on
}

// TestInsertOnlyBatches checks SQLite's bulk path: a batch of creates of
// new users and groups is written with foreign key checks off, and the
// connection goes back to the pool with them on; a batch of creates that
// meets users or groups the database holds, or a change the database
// refuses, runs with them on.
func TestInsertOnlyBatches(t *testing.T) {
	ctx := t.Context()
	tdb := openSQLite(t)
	tdb.db.SetMaxOpenConns(1) // one connection, which every batch uses
	h, err := newHarness(ctx, t, tdb, sqlsink.Options{})
	require.NoError(t, err)
	logged := fkLog(t, h, tdb.db)

	first := []usersync.Change{
		{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "g1", Name: "One"}},
		create("a", "g1"),
		create("b", "g1"),
	}
	require.Nil(t, h.s.ApplyBatch(ctx, first))
	assert.Equal(t, []int{0, 0}, logged(), "a first load's batch is written with foreign key checks off")
	assert.True(t, foreignKeys(t, tdb.db), "the connection's checks are back on")

	// A membership no user or group backs is still refused.
	_, err = tdb.db.ExecContext(ctx, `INSERT INTO `+h.t("memberships")+` VALUES (999, 999)`)
	require.ErrorContains(t, err, "FOREIGN KEY")

	// Creates that meet a user and a group the database holds update them
	// (a keeps its group: the change names none):
	// not new rows only, so the checks stay on.
	again := []usersync.Change{
		{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "g1", Name: "Renamed"}},
		create("c", "g1"),
		create("a"),
	}
	require.Nil(t, h.s.ApplyBatch(ctx, again))
	assert.Equal(t, []int{1}, logged())
	users, groups, err := h.State(ctx)
	require.NoError(t, err)
	require.Len(t, groups, 1)
	assert.Equal(t, "Renamed", groups[0].Name)
	got := map[string]string{}
	for _, u := range users {
		got[u.Key] = strings.Join(u.Groups, ",")
	}
	assert.Equal(t, map[string]string{"a": "g1", "b": "g1", "c": "g1"}, got)

	// A create the database refuses fails alone, the checks on.
	_, err = tdb.db.ExecContext(ctx, `CREATE TRIGGER no_bad BEFORE INSERT ON `+h.t("users")+` WHEN NEW.key = 'bad' BEGIN SELECT RAISE(ABORT, 'no bad keys'); END`)
	require.NoError(t, err)
	errs := h.s.ApplyBatch(ctx, []usersync.Change{create("d", "g1"), create("bad"), create("e")})
	require.Len(t, errs, 3)
	assert.NoError(t, errs[0])
	assert.ErrorContains(t, errs[1], "no bad keys")
	assert.NoError(t, errs[2])
	assert.True(t, foreignKeys(t, tdb.db))
}

// TestInsertOnlyKeepsHostSetting checks that a database opened with foreign
// key checks off keeps them off.
func TestInsertOnlyKeepsHostSetting(t *testing.T) {
	ctx := t.Context()
	dsn := strings.Replace(sqlite.DSN(filepath.Join(t.TempDir(), "users.db")), "foreign_keys%281%29", "foreign_keys%280%29", 1)
	db, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	require.False(t, foreignKeys(t, db))
	s, err := sqlsink.New(ctx, db, sqlsink.SQLite, nil)
	require.NoError(t, err)
	require.Nil(t, s.ApplyBatch(ctx, []usersync.Change{create("a")}))
	assert.False(t, foreignKeys(t, db))
}

// TestCreatesFindUsersInTheirKeyRange checks that a batch of creates
// adopts the users it meets wherever their keys fall: first, last or
// between the batch's others, which are looked up only when a probe of
// the key range finds a user there.
func TestCreatesFindUsersInTheirKeyRange(t *testing.T) {
	forEachDB(t, func(t *testing.T, tdb *testDB) {
		ctx := t.Context()
		h, err := newHarness(ctx, t, tdb, sqlsink.Options{})
		require.NoError(t, err)
		for _, k := range []string{"b", "m", "y", "zz"} { // "zz" is outside every batch's range
			require.NoError(t, h.PutUser(ctx, usersync.Record{Key: k, Attrs: usersync.NewAttrs("name", "By hand")}))
		}
		// Each batch's range holds no other user than the one it names.
		for _, batch := range [][]string{
			{"b", "c"},       // first
			{"k", "m"},       // last
			{"x", "y", "ya"}, // between
			{"d", "e", "f"},  // none
		} {
			cs := make([]usersync.Change, len(batch))
			for i, k := range batch {
				cs[i] = create(k)
			}
			require.Nil(t, h.s.ApplyBatch(ctx, cs), "batch %v", batch)
		}
		users, _, err := h.State(ctx)
		require.NoError(t, err)
		got := map[string]bool{}
		for _, u := range users {
			require.NotContains(t, got, u.Key, "user %q listed twice", u.Key)
			got[u.Key] = u.Managed
		}
		want := map[string]bool{"zz": false}
		for _, k := range []string{"b", "c", "d", "e", "f", "k", "m", "x", "y", "ya"} {
			want[k] = true
		}
		assert.Equal(t, want, got)
	})
}

// TestCopyNumbersUsers checks PostgreSQL's COPY of new users both ways it
// learns their IDs: from the table's sequence, and, where the ID column
// takes no value given (an identity GENERATED ALWAYS, as a host may have
// made it), by reading them back by key. Either way every membership
// lands on its user.
func TestCopyNumbersUsers(t *testing.T) {
	ctx := t.Context()
	tdb := openPostgres(t)
	opts := tdb.freshOptions(t, sqlsink.Options{CopyMin: 2})
	load := func(s *sqlsink.Sink, keys ...string) {
		t.Helper()
		var cs []usersync.Change
		for _, k := range keys {
			cs = append(cs, usersync.Change{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "g-" + k}})
		}
		if keys[0] == "a" {
			cs = append(cs, usersync.Change{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "all"}})
		}
		for _, k := range keys {
			cs = append(cs, create(k, "g-"+k, "all"))
		}
		for _, err := range s.ApplyBatch(ctx, cs) {
			require.NoError(t, err)
		}
	}
	s, err := sqlsink.New(ctx, tdb.db, tdb.dialect, opts)
	require.NoError(t, err)
	load(s, "a", "b", "c")

	users := `"` + opts.Tables.Prefix + `users"`
	_, err = tdb.db.ExecContext(ctx, `ALTER TABLE `+users+` ALTER COLUMN id SET GENERATED ALWAYS`)
	require.NoError(t, err)
	s, err = sqlsink.New(ctx, tdb.db, tdb.dialect, opts)
	require.NoError(t, err)
	load(s, "d", "e")

	got := map[string][]string{}
	for r, err := range s.Users(ctx) {
		require.NoError(t, err)
		got[r.Key] = r.Groups
	}
	want := map[string][]string{}
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		want[k] = []string{"all", "g-" + k}
	}
	assert.Equal(t, want, got)
	var ids, distinct int
	require.NoError(t, tdb.db.QueryRowContext(ctx, `SELECT count(id), count(DISTINCT id) FROM `+users).Scan(&ids, &distinct))
	assert.Equal(t, 5, distinct, "IDs")
}

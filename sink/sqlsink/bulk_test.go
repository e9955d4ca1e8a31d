package sqlsink_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// triggers returns the statements that created the database's triggers,
// by name.
func triggers(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT name, sql FROM sqlite_schema WHERE type = 'trigger'`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, create string
		require.NoError(t, rows.Scan(&name, &create))
		out[name] = create
	}
	require.NoError(t, rows.Err())
	return out
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
// refuses, runs with them on. The drift triggers that fire on inserts,
// which such a batch drops while it writes, are back after each batch, as
// they were; a host's own triggers fire throughout.
func TestInsertOnlyBatches(t *testing.T) {
	ctx := t.Context()
	tdb := openSQLite(t)
	tdb.db.SetMaxOpenConns(1) // one connection, which every batch uses
	h, err := newHarness(ctx, t, tdb, sqlsink.Options{})
	require.NoError(t, err)
	logged := fkLog(t, h, tdb.db)
	drift := triggers(t, tdb.db)
	require.Contains(t, drift, "usersync_users_usersync_inserted")
	require.Contains(t, drift, "usersync_users_usersync_member_added")
	defer func() { assert.Equal(t, drift, triggers(t, tdb.db), "the triggers after the last batch") }()

	first := []usersync.Change{
		{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "g1", Name: "One"}},
		create("a", "g1"),
		create("b", "g1"),
	}
	require.Nil(t, h.s.ApplyBatch(ctx, first))
	assert.Equal(t, []int{0, 0}, logged(), "a first load's batch is written with foreign key checks off")
	assert.True(t, foreignKeys(t, tdb.db), "the connection's checks are back on")
	assert.Equal(t, drift, triggers(t, tdb.db), "the triggers after an insert-only batch")

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
	drift["no_bad"] = `CREATE TRIGGER no_bad BEFORE INSERT ON ` + h.t("users") + ` WHEN NEW.key = 'bad' BEGIN SELECT RAISE(ABORT, 'no bad keys'); END`
	_, err = tdb.db.ExecContext(ctx, drift["no_bad"])
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

// TestCheckpointAside checks the batches that leave their checkpoints to
// another connection: the WAL still starts again from its beginning every
// few batches, so that it stays a few batches long; the connection's own
// setting, the host's, is back after each batch; and a pool of one
// connection, where no other connection comes, applies them all the same.
func TestCheckpointAside(t *testing.T) {
	batch := func(i int) []usersync.Change {
		cs := make([]usersync.Change, sqlsink.AsideMin)
		for j := range cs {
			cs[j] = create(fmt.Sprintf("u%02d-%05d", i, j))
		}
		return cs
	}
	for _, conns := range []int{0, 1} {
		t.Run(fmt.Sprintf("connections=%d", conns), func(t *testing.T) {
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), "users.db")
			db, err := sql.Open("sqlite", sqlite.DSN(path)+"&_pragma=wal_autocheckpoint%2810%29")
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			db.SetMaxOpenConns(conns)
			s, err := sqlsink.New(ctx, db, sqlsink.SQLite, nil)
			require.NoError(t, err)
			var sizes []int64
			for i := range 12 {
				require.Nil(t, s.ApplyBatch(ctx, batch(i)))
				fi, err := os.Stat(path + "-wal")
				require.NoError(t, err)
				sizes = append(sizes, fi.Size())
				var every int
				require.NoError(t, db.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&every))
				require.Equal(t, 10, every, "the connection's setting after batch %d", i)
			}
			t.Logf("WAL sizes: %v", sizes)
			assert.LessOrEqual(t, slices.Max(sizes[4:]), slices.Max(sizes[:4])*5/4, "the WAL grew past about four batches")
			var n int
			require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM usersync_users`).Scan(&n))
			assert.Equal(t, 12*sqlsink.AsideMin, n)
		})
	}
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
	var distinct int
	require.NoError(t, tdb.db.QueryRowContext(ctx, `SELECT count(DISTINCT id) FROM `+users).Scan(&distinct))
	assert.Equal(t, 5, distinct, "IDs")
}

// TestMembershipChecks checks what PostgreSQL's memberships triggers keep
// of the foreign keys they replaced: a write by hand that would leave a
// membership naming no user or no group fails with foreign_key_violation;
// the Sink's own batches, which delete memberships before their user or
// group, pass; and only a batch that inserts new rows only skips the
// check.
func TestMembershipChecks(t *testing.T) {
	ctx := t.Context()
	tdb := openPostgres(t)
	h, err := newHarness(ctx, t, tdb, sqlsink.Options{})
	require.NoError(t, err)
	_, err = tdb.db.ExecContext(ctx, `CREATE TABLE `+h.t("fresh_log")+` (fresh TEXT)`)
	require.NoError(t, err)
	_, err = tdb.db.ExecContext(ctx, `CREATE FUNCTION `+h.t("log_fresh")+`() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO `+h.t("fresh_log")+` VALUES (coalesce(current_setting('usersync.fresh', true), '')); RETURN NULL; END $$`)
	require.NoError(t, err)
	_, err = tdb.db.ExecContext(ctx, `CREATE TRIGGER log_fresh AFTER INSERT ON `+h.t("memberships")+` FOR EACH STATEMENT EXECUTE FUNCTION `+h.t("log_fresh")+`()`)
	require.NoError(t, err)
	fresh := func() []string {
		t.Helper()
		rows, err := tdb.db.QueryContext(ctx, `DELETE FROM `+h.t("fresh_log")+` RETURNING fresh`)
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var f string
			require.NoError(t, rows.Scan(&f))
			out = append(out, f)
		}
		require.NoError(t, rows.Err())
		return out
	}
	apply := func(cs ...usersync.Change) {
		t.Helper()
		for _, err := range h.s.ApplyBatch(ctx, cs) {
			require.NoError(t, err)
		}
	}

	apply(usersync.Change{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "g"}}, create("a", "g"), create("b", "g"))
	assert.Equal(t, []string{"on"}, fresh(), "a batch of new rows skips the check")
	apply(create("c", "g"), usersync.Change{Kind: usersync.UpdateUser, User: usersync.Record{Key: "b", Attrs: usersync.NewAttrs("name", "B")}, Leave: []string{"g"}})
	assert.Equal(t, []string{""}, fresh(), "a batch that changes a user is checked")

	var a, g int64
	require.NoError(t, tdb.db.QueryRowContext(ctx, h.q(`SELECT id FROM `+h.t("users")+` WHERE key = ?`), "a").Scan(&a))
	require.NoError(t, tdb.db.QueryRowContext(ctx, h.q(`SELECT id FROM `+h.t("groups")+` WHERE ext_id = ?`), "g").Scan(&g))
	for _, q := range []string{
		`INSERT INTO ` + h.t("memberships") + fmt.Sprintf(` VALUES (%d, %d)`, a+1000, g),
		`INSERT INTO ` + h.t("memberships") + fmt.Sprintf(` VALUES (%d, %d)`, a, g+1000),
		`UPDATE ` + h.t("memberships") + fmt.Sprintf(` SET user_id = %d WHERE user_id = %d`, a+1000, a),
		`UPDATE ` + h.t("memberships") + fmt.Sprintf(` SET group_id = %d`, g+1000),
		`DELETE FROM ` + h.t("users") + ` WHERE key = 'a'`,
		`UPDATE ` + h.t("users") + ` SET id = id + 1000 WHERE key = 'a'`,
		`DELETE FROM ` + h.t("groups"),
		`UPDATE ` + h.t("groups") + ` SET id = id + 1000`,
		`TRUNCATE ` + h.t("users"),
		`TRUNCATE ` + h.t("groups"),
	} {
		_, err := tdb.db.ExecContext(ctx, q)
		var coded interface{ SQLState() string }
		if assert.ErrorAs(t, err, &coded, q) {
			assert.Equal(t, "23503", coded.SQLState(), "%s: %v", q, err)
		}
	}
	fresh()
	// What the checks allow: a membership that names a user and a group,
	// a user without memberships deleted or given another ID.
	_, err = tdb.db.ExecContext(ctx, `INSERT INTO `+h.t("memberships")+fmt.Sprintf(` VALUES (%d, %d) ON CONFLICT DO NOTHING`, a, g))
	require.NoError(t, err)
	_, err = tdb.db.ExecContext(ctx, `UPDATE `+h.t("users")+` SET id = id + 1000 WHERE key = 'b'`)
	require.NoError(t, err)

	apply(usersync.Change{Kind: usersync.DeleteUser, User: usersync.Record{Key: "a"}}, usersync.Change{Kind: usersync.DeleteUser, User: usersync.Record{Key: "c"}})
	users, groups, err := h.State(ctx)
	require.NoError(t, err)
	assert.Len(t, users, 1)
	assert.Len(t, groups, 1)
	_, err = tdb.db.ExecContext(ctx, `TRUNCATE `+h.t("users")+`, `+h.t("groups")+`, `+h.t("memberships"))
	require.NoError(t, err, "truncating the memberships too")
}

// TestMigrationFiveKeepsTheMemberships checks migration 5 on a PostgreSQL
// database that has users, groups and memberships under version 4's
// foreign keys: it drops the keys, keeps every row, and the triggers
// refuse what the keys refused.
func TestMigrationFiveKeepsTheMemberships(t *testing.T) {
	ctx := t.Context()
	tdb := openPostgres(t)
	opts := tdb.freshOptions(t, sqlsink.Options{})
	p := opts.Tables.Prefix
	ms, err := sqlsink.Migrations(sqlsink.PostgreSQL, opts)
	require.NoError(t, err)
	require.Len(t, ms, 5)
	exec := func(q string, args ...any) {
		t.Helper()
		_, err := tdb.db.ExecContext(ctx, q, args...)
		require.NoError(t, err, q)
	}
	exec(`CREATE TABLE "` + p + `migrations" (version INTEGER NOT NULL PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
	for _, m := range ms[:4] {
		for _, stmt := range m.Statements {
			exec(stmt)
		}
		exec(`INSERT INTO "`+p+`migrations" VALUES ($1, $2, 0)`, m.Version, m.Description)
	}
	exec(`INSERT INTO "` + p + `users" (id, tenant, key) VALUES (1, '', 'a')`)
	exec(`INSERT INTO "` + p + `groups" (id, tenant, ext_id, name) VALUES (1, '', 'g', 'G')`)
	exec(`INSERT INTO "` + p + `memberships" VALUES (1, 1)`)
	foreignKeys := func() int {
		t.Helper()
		var n int
		require.NoError(t, tdb.db.QueryRowContext(ctx, `SELECT count(*) FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'f'`, `"`+p+`memberships"`).Scan(&n))
		return n
	}
	require.Equal(t, 2, foreignKeys(), "version 4's foreign keys")

	s, err := sqlsink.New(ctx, tdb.db, tdb.dialect, opts)
	require.NoError(t, err)
	assert.Equal(t, 0, foreignKeys(), "after migration 5")
	var users []usersync.Record
	for r, err := range s.Users(ctx) {
		require.NoError(t, err)
		users = append(users, r)
	}
	require.Len(t, users, 1)
	assert.Equal(t, []string{"g"}, users[0].Groups)
	_, err = tdb.db.ExecContext(ctx, `INSERT INTO "`+p+`memberships" VALUES (2, 1)`)
	var coded interface{ SQLState() string }
	require.ErrorAs(t, err, &coded)
	assert.Equal(t, "23503", coded.SQLState())
}

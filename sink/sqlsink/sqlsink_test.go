package sqlsink_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/storetest"
	"github.com/usersync/usersync/sink/sqlsink"
)

// dbs are the databases every test below runs on; PostgreSQL's skip
// without a server (and fail under CI=true).
var dbs = []struct {
	name string
	open func(testing.TB) *testDB
}{
	{"SQLite", openSQLite},
	{"Postgres", openPostgres},
}

func forEachDB(t *testing.T, fn func(t *testing.T, tdb *testDB)) {
	for _, db := range dbs {
		t.Run(db.name, func(t *testing.T) { fn(t, db.open(t)) })
	}
}

func mustNew(t testing.TB, tdb *testDB, o sqlsink.Options) *sqlsink.Sink {
	t.Helper()
	h, err := newHarness(context.Background(), t, tdb, o)
	require.NoError(t, err)
	return h.s
}

func create(key string, groups ...string) usersync.Change {
	r := usersync.Record{Key: key, Attrs: usersync.NewAttrs("name", "User "+key, "email", key+"@example.com"), Groups: groups}
	return usersync.Change{Kind: usersync.CreateUser, User: r, Join: groups}
}

func keys(t testing.TB, l usersync.Lister) []string {
	t.Helper()
	var out []string
	for r, err := range l.Users(context.Background()) {
		require.NoError(t, err)
		out = append(out, r.Key)
	}
	return out
}

func TestStore(t *testing.T) {
	forEachDB(t, func(t *testing.T, tdb *testDB) {
		storetest.Run(t, func(t *testing.T) usersync.Store {
			if tdb.dialect == sqlsink.SQLite {
				tdb = openSQLite(t)
			}
			return mustNew(t, tdb, sqlsink.Options{Tenant: "acme"}).Store()
		})
	})
}

// TestStoreTenants checks that each tenant has its own keys.
func TestStoreTenants(t *testing.T) {
	ctx := t.Context()
	tdb := openSQLite(t)
	a := mustNew(t, tdb, sqlsink.Options{Tenant: "a"}).Store()
	b := mustNew(t, tdb, sqlsink.Options{Tenant: "b"}).Store()
	require.NoError(t, a.Put(ctx, "applied/users.csv", []byte("a")))
	_, err := b.Get(ctx, "applied/users.csv")
	require.ErrorIs(t, err, usersync.ErrNotFound)
}

// TestChangeRefusedByDatabase checks that a change the database refuses,
// here by a constraint of the host's, fails alone: the others of its batch
// apply.
func TestChangeRefusedByDatabase(t *testing.T) {
	forEachDB(t, func(t *testing.T, tdb *testDB) {
		ctx := t.Context()
		h, err := newHarness(ctx, t, tdb, sqlsink.Options{})
		require.NoError(t, err)
		refuse := `ALTER TABLE ` + h.t("users") + ` ADD CONSTRAINT no_bad CHECK (key <> 'bad')`
		if tdb.dialect == sqlsink.SQLite {
			refuse = `CREATE TRIGGER no_bad BEFORE INSERT ON ` + h.t("users") + ` WHEN NEW.key = 'bad' BEGIN SELECT RAISE(ABORT, 'no bad keys'); END`
		}
		_, err = tdb.db.ExecContext(ctx, refuse)
		require.NoError(t, err)

		plan := []usersync.Change{
			{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "g1", Name: "One"}},
			create("a", "g1"),
			create("bad", "g1"),
			create("b"),
			{Kind: usersync.UpdateUser, User: usersync.Record{Key: "bad"}}, // fails: bad was never created
			{Kind: usersync.DeleteUser, User: usersync.Record{Key: "a"}},
			create("c", "g1"),
		}
		errs := h.s.ApplyBatch(ctx, plan)
		require.Len(t, errs, len(plan))
		for i, err := range errs {
			switch i {
			case 2:
				require.Error(t, err)
				assert.NotErrorIs(t, err, usersync.ErrNotFound)
				assert.Contains(t, err.Error(), "create bad")
			case 4:
				assert.ErrorIs(t, err, usersync.ErrNotFound)
			default:
				assert.NoError(t, err, "change %d (%v)", i, plan[i])
			}
		}
		users, groups, err := h.State(ctx)
		require.NoError(t, err)
		assert.Len(t, groups, 1)
		var got []string
		for _, u := range users {
			got = append(got, u.Key+fmt.Sprint(u.Groups))
		}
		assert.ElementsMatch(t, []string{"b[]", "c[g1]"}, got)
	})
}

// TestAttrColumns maps an attribute to a column of its own, as a host's
// schema would.
func TestAttrColumns(t *testing.T) {
	forEachDB(t, func(t *testing.T, tdb *testDB) {
		ctx := t.Context()
		o := sqlsink.Options{Tables: sqlsink.Tables{Users: sqlsink.UsersTable{Columns: map[string]string{"email": "email"}}}}
		h, err := newHarness(ctx, t, tdb, o)
		require.NoError(t, err)
		s := h.s
		require.NoError(t, s.Apply(ctx, create("ann")))
		var email, attrs string
		require.NoError(t, tdb.db.QueryRowContext(ctx, h.q(`SELECT email, attrs FROM `+h.t("users")+` WHERE key = ?`), "ann").Scan(&email, &attrs))
		assert.Equal(t, "ann@example.com", email)
		assert.JSONEq(t, `{"name":"User ann"}`, attrs)

		up := usersync.Change{Kind: usersync.UpdateUser, User: usersync.Record{Key: "ann", Attrs: usersync.NewAttrs("email", "ann@corp.example")}, Attrs: []string{"email"}}
		require.NoError(t, s.Apply(ctx, up))
		for r, err := range s.Users(ctx) {
			require.NoError(t, err)
			assert.Equal(t, map[string]string{"name": "User ann", "email": "ann@corp.example"}, r.Attrs.Map())
		}
	})
}

// TestNoAttrsColumn has every attribute in a column of its own: an
// attribute without one is refused.
func TestNoAttrsColumn(t *testing.T) {
	ctx := t.Context()
	tdb := openSQLite(t)
	o := sqlsink.Options{Tables: sqlsink.Tables{Users: sqlsink.UsersTable{Attrs: "-", Columns: map[string]string{"name": "full_name", "email": "email"}}}}
	s := mustNew(t, tdb, o)
	require.NoError(t, s.Apply(ctx, create("ann")))
	err := s.Apply(ctx, usersync.Change{Kind: usersync.CreateUser, User: usersync.Record{Key: "bo", Attrs: usersync.NewAttrs("title", "Nurse")}})
	require.ErrorContains(t, err, `attribute "title" has no column`)
	assert.Equal(t, []string{"ann"}, keys(t, s))
}

// TestWideUsersTable creates and updates many users of a table with a
// column per attribute, 250 of them (TestMultiRowStaysWithinSQLitesValues
// checks the statements' size).
func TestWideUsersTable(t *testing.T) {
	ctx := t.Context()
	tdb := openSQLite(t)
	cols := map[string]string{}
	var names []string
	for i := range 250 {
		a := fmt.Sprintf("a%03d", i)
		cols[a], names = a, append(names, a)
	}
	s := mustNew(t, tdb, sqlsink.Options{Tables: sqlsink.Tables{Users: sqlsink.UsersTable{Attrs: "-", Columns: cols}}})
	layout := usersync.NewLayout(names...)
	values := make([]string, len(names))
	var cs []usersync.Change
	for i := range 600 {
		for j := range values {
			values[j] = fmt.Sprint(i, "-", j)
		}
		cs = append(cs, usersync.Change{Kind: usersync.CreateUser, User: usersync.Record{Key: fmt.Sprintf("u%04d", i), Attrs: layout.Make(values)}})
	}
	for i, err := range s.ApplyBatch(ctx, cs) {
		require.NoError(t, err, "change %d", i)
	}
	for i := range cs {
		cs[i].Kind, cs[i].Attrs = usersync.UpdateUser, []string{"a000"}
		cs[i].User.Attrs = layout.Make(append([]string{"new"}, values[1:]...))
	}
	for i, err := range s.ApplyBatch(ctx, cs) {
		require.NoError(t, err, "change %d", i)
	}
	n := 0
	for u, err := range s.Users(ctx) {
		require.NoError(t, err)
		assert.Equal(t, "new", u.Attrs.Value("a000"))
		n++
	}
	assert.Equal(t, 600, n)
}

func TestBadNames(t *testing.T) {
	tdb := openSQLite(t)
	for _, tables := range []sqlsink.Tables{
		{Prefix: "x; DROP TABLE y; --"},
		{Users: sqlsink.UsersTable{Key: `key"`}},
		{Users: sqlsink.UsersTable{Columns: map[string]string{"email": "1email"}}},
		{Users: sqlsink.UsersTable{Table: "app.users"}}, // no schemas in SQLite
	} {
		_, err := sqlsink.New(t.Context(), tdb.db, sqlsink.SQLite, &sqlsink.Options{Tables: tables})
		assert.Error(t, err, "%+v", tables)
	}
}

// TestMigrations checks that New migrates once, step by step, and that a
// schema lacking a column is refused with NoMigrate.
func TestMigrations(t *testing.T) {
	ctx := t.Context()
	tdb := openSQLite(t)
	ms, err := sqlsink.Migrations(sqlsink.SQLite, nil)
	require.NoError(t, err)
	require.Len(t, ms, 5)
	// A database at version 1, from an older release.
	_, err = tdb.db.ExecContext(ctx, `CREATE TABLE usersync_migrations (version INTEGER NOT NULL PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
	require.NoError(t, err)
	for _, stmt := range ms[0].Statements {
		_, err := tdb.db.ExecContext(ctx, stmt)
		require.NoError(t, err)
	}
	_, err = tdb.db.ExecContext(ctx, `INSERT INTO usersync_migrations VALUES (1, 'v1', 0)`)
	require.NoError(t, err)
	_, err = sqlsink.New(ctx, tdb.db, sqlsink.SQLite, &sqlsink.Options{NoMigrate: true})
	require.ErrorContains(t, err, "missing_runs", "NoMigrate on a schema without version 2's columns")

	for range 2 {
		_, err := sqlsink.New(ctx, tdb.db, sqlsink.SQLite, nil)
		require.NoError(t, err)
	}
	var versions []int
	rows, err := tdb.db.QueryContext(ctx, `SELECT version FROM usersync_migrations ORDER BY version`)
	require.NoError(t, err)
	for rows.Next() {
		var v int
		require.NoError(t, rows.Scan(&v))
		versions = append(versions, v)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []int{1, 2, 3, 4, 5}, versions)
}

func TestInvites(t *testing.T) {
	forEachDB(t, func(t *testing.T, tdb *testDB) {
		ctx := t.Context()
		h, err := newHarness(ctx, t, tdb, sqlsink.Options{})
		require.NoError(t, err)
		s := h.s
		c := create("ann")
		c.Invite = usersync.InviteAuto
		require.NoError(t, s.Apply(ctx, c))
		require.NoError(t, s.Apply(ctx, c)) // ann is managed now: not invited again
		require.NoError(t, s.Apply(ctx, create("bo")))
		require.NoError(t, h.PutUser(ctx, usersync.Record{Key: "m-1", Attrs: usersync.NewAttrs("name", "By hand")}))
		adopt := usersync.Change{Kind: usersync.AdoptUser, Invite: usersync.InviteAuto, User: usersync.Record{Key: "E3"}, OldKey: "m-1"}
		require.NoError(t, s.Apply(ctx, adopt))

		pending, err := s.PendingInvites(ctx)
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"ann", "E3"}, pending)
		require.NoError(t, s.InvitesSent(ctx, "ann"))
		pending, err = s.PendingInvites(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{"E3"}, pending)
	})
}

func TestLock(t *testing.T) {
	forEachDB(t, func(t *testing.T, tdb *testDB) {
		ctx := t.Context()
		opts := tdb.freshOptions(t, sqlsink.Options{Tenant: "acme", Holder: "sync-1"})
		first, err := sqlsink.New(ctx, tdb.db, tdb.dialect, opts)
		require.NoError(t, err)
		o2 := *opts
		o2.Holder = "sync-2"
		second, err := sqlsink.New(ctx, tdb.db, tdb.dialect, &o2)
		require.NoError(t, err)
		o3 := *opts
		o3.Tenant = "other"
		other, err := sqlsink.New(ctx, tdb.db, tdb.dialect, &o3)
		require.NoError(t, err)

		l, err := first.Lock(ctx)
		require.NoError(t, err)
		_, err = second.Lock(ctx)
		require.ErrorIs(t, err, sqlsink.ErrLocked)
		var le *sqlsink.LockError
		require.ErrorAs(t, err, &le)
		assert.Equal(t, "sync-1", le.Holder)
		assert.Equal(t, "acme", le.Tenant)
		assert.Contains(t, err.Error(), "sync-1")

		lo, err := other.Lock(ctx) // another tenant syncs at the same time
		require.NoError(t, err)
		require.NoError(t, lo.Unlock(ctx))

		require.NoError(t, first.Apply(ctx, create("ann")), "the holder writes")
		require.NoError(t, l.Unlock(ctx))
		require.NoError(t, l.Unlock(ctx), "unlocking twice")
		l2, err := second.Lock(ctx)
		require.NoError(t, err, "the lock is free again")
		require.NoError(t, l2.Unlock(ctx))
	})
}

// TestLockLease lets a SQLite lease run out: another sync takes the lock
// over, and the first one's writes fail from then on.
func TestLockLease(t *testing.T) {
	ctx := t.Context()
	tdb := openSQLite(t)
	var now clock
	now.set(time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC))
	opts := sqlsink.Options{Tenant: "acme", Holder: "sync-1", LockLease: time.Hour, Now: now.get}
	first := mustNew(t, tdb, opts)
	opts.Holder = "sync-2"
	second := mustNew(t, tdb, opts)

	l, err := first.Lock(ctx)
	require.NoError(t, err)
	_, err = second.Lock(ctx)
	require.ErrorIs(t, err, sqlsink.ErrLocked)

	now.set(now.get().Add(2 * time.Hour)) // the first sync hung, say
	l2, err := second.Lock(ctx)
	require.NoError(t, err, "the lease ran out")
	err = first.Apply(ctx, create("ann"))
	require.ErrorIs(t, err, sqlsink.ErrLockLost)
	require.ErrorIs(t, l.Unlock(ctx), sqlsink.ErrLockLost)
	require.NoError(t, second.Apply(ctx, create("bo")))
	require.NoError(t, l2.Unlock(ctx))
	assert.Equal(t, []string{"bo"}, keys(t, second))
}

// clock is a settable clock.
type clock struct{ ns atomic.Int64 }

func (c *clock) set(t time.Time) { c.ns.Store(t.UnixNano()) }
func (c *clock) get() time.Time  { return time.Unix(0, c.ns.Load()) }

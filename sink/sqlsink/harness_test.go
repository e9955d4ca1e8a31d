package sqlsink_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/testenv"
	"github.com/usersync/usersync/sink/sinktest"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
)

// A testDB is a database for tests: a SQLite file, or a PostgreSQL
// database in which each harness gets tables of its own, by prefix.
type testDB struct {
	db      *sql.DB
	dialect sqlsink.Dialect
	where   string // the SQLite file, or the PostgreSQL DSN
}

// openSQLite opens a fresh SQLite database in t's temp dir.
func openSQLite(t testing.TB) *testDB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.db")
	db, err := sqlite.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return &testDB{db, sqlsink.SQLite, path}
}

// openPostgres connects to the server .ci/services/postgres.sh starts.
func openPostgres(t testing.TB) *testDB {
	t.Helper()
	dsn := testenv.Getenv(t, "USERSYNC_TEST_POSTGRES_DSN", "PostgreSQL")
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.PingContext(context.Background()), "connecting to PostgreSQL")
	return &testDB{db, sqlsink.PostgreSQL, dsn}
}

// prefixes numbers the table prefixes of PostgreSQL harnesses; with the
// process ID, runs against the same server do not meet.
var prefixes atomic.Int64

// freshOptions returns options whose tables nobody else uses: on
// PostgreSQL, a prefix of their own, dropped when t ends.
func (tdb *testDB) freshOptions(t testing.TB, o sqlsink.Options) *sqlsink.Options {
	t.Helper()
	if tdb.dialect == sqlsink.PostgreSQL && o.Tables.Prefix == "" {
		o.Tables.Prefix = fmt.Sprintf("t%s_%d_", pid, prefixes.Add(1))
		t.Cleanup(func() { tdb.drop(o.Tables.Prefix) })
	}
	return &o
}

var pid = strconv.Itoa(os.Getpid())

// drop removes the tables with prefix p.
func (tdb *testDB) drop(p string) {
	for _, table := range []string{"memberships", "users", "groups", "state", "locks", "invites", "migrations"} {
		tdb.db.Exec(`DROP TABLE IF EXISTS "` + p + table + `" CASCADE`)
	}
}

// harness is the sinktest.Harness of a Sink, with plain queries on the
// default schema.
type harness struct {
	tdb    *testDB
	s      *sqlsink.Sink
	prefix string
	tenant string
}

func newHarness(ctx context.Context, t testing.TB, tdb *testDB, o sqlsink.Options) (*harness, error) {
	opts := tdb.freshOptions(t, o)
	s, err := sqlsink.New(ctx, tdb.db, tdb.dialect, opts)
	if err != nil {
		return nil, err
	}
	return &harness{tdb: tdb, s: s, prefix: cmpOr(opts.Tables.Prefix, sqlsink.DefaultPrefix), tenant: opts.Tenant}, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (h *harness) MakeSink(context.Context) (usersync.Sink, error) { return h.s, nil }
func (h *harness) Close()                                          {}

// t returns the quoted name of a table.
func (h *harness) t(name string) string { return `"` + h.prefix + name + `"` }

// q binds ? placeholders for PostgreSQL.
func (h *harness) q(query string) string {
	if h.tdb.dialect != sqlsink.PostgreSQL {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (h *harness) PutUser(ctx context.Context, r usersync.Record) error {
	tx, err := h.tdb.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, h.q(`DELETE FROM `+h.t("memberships")+` WHERE user_id IN (SELECT id FROM `+h.t("users")+` WHERE tenant = ? AND key = ?)`), h.tenant, r.Key); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, h.q(`DELETE FROM `+h.t("users")+` WHERE tenant = ? AND key = ?`), h.tenant, r.Key); err != nil {
		return err
	}
	attrs, err := r.Attrs.MarshalJSON()
	if err != nil {
		return err
	}
	var id int64
	err = tx.QueryRowContext(ctx, h.q(`INSERT INTO `+h.t("users")+` (tenant, key, attrs, inactive, managed, missing_runs, missing_since)
VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`), h.tenant, r.Key, string(attrs), r.Inactive, r.Managed, int64(r.MissingRuns), r.MissingSince).Scan(&id)
	if err != nil {
		return err
	}
	for _, g := range r.Groups {
		var gid int64
		err := tx.QueryRowContext(ctx, h.q(`SELECT id FROM `+h.t("groups")+` WHERE tenant = ? AND ext_id = ?`), h.tenant, g).Scan(&gid)
		if err != nil {
			return fmt.Errorf("group %q: %w (the SQL harness needs groups to exist)", g, err)
		}
		if _, err := tx.ExecContext(ctx, h.q(`INSERT INTO `+h.t("memberships")+` (user_id, group_id) VALUES (?, ?) ON CONFLICT DO NOTHING`), id, gid); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (h *harness) PutGroup(ctx context.Context, g usersync.Group) error {
	if g.Parent == "" && g.Account == "" { // as a schema older than version 4 holds groups
		_, err := h.tdb.db.ExecContext(ctx, h.q(`INSERT INTO `+h.t("groups")+` (tenant, ext_id, name) VALUES (?, ?, ?)
ON CONFLICT (tenant, ext_id) DO UPDATE SET name = excluded.name`), h.tenant, g.ID, g.Name)
		return err
	}
	_, err := h.tdb.db.ExecContext(ctx, h.q(`INSERT INTO `+h.t("groups")+` (tenant, ext_id, name, parent, account) VALUES (?, ?, ?, NULLIF(?, ''), NULLIF(?, ''))
ON CONFLICT (tenant, ext_id) DO UPDATE SET name = excluded.name, parent = excluded.parent, account = excluded.account`), h.tenant, g.ID, g.Name, g.Parent, g.Account)
	return err
}

func (h *harness) State(ctx context.Context) ([]usersync.Record, []usersync.Group, error) {
	users, err := h.users(ctx)
	if err != nil {
		return nil, nil, err
	}
	rows, err := h.tdb.db.QueryContext(ctx, h.q(`SELECT ext_id, name, COALESCE(parent, ''), COALESCE(account, '') FROM `+h.t("groups")+` WHERE tenant = ? AND ext_id IS NOT NULL`), h.tenant)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var groups []usersync.Group
	for rows.Next() {
		var g usersync.Group
		if err := rows.Scan(&g.ID, &g.Name, &g.Parent, &g.Account); err != nil {
			return nil, nil, err
		}
		groups = append(groups, g)
	}
	return users, groups, rows.Err()
}

func (h *harness) users(ctx context.Context) ([]usersync.Record, error) {
	rows, err := h.tdb.db.QueryContext(ctx, h.q(`SELECT id, key, attrs, inactive, managed, missing_runs, missing_since FROM `+h.t("users")+` WHERE tenant = ?`), h.tenant)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var users []usersync.Record
	byID := map[int64]int{}
	for rows.Next() {
		var r usersync.Record
		var id, runs int64
		var attrs string
		if err := rows.Scan(&id, &r.Key, &attrs, &r.Inactive, &r.Managed, &runs, &r.MissingSince); err != nil {
			return nil, err
		}
		r.MissingRuns = uint16(runs)
		var m map[string]string
		if err := json.Unmarshal([]byte(attrs), &m); err != nil {
			return nil, fmt.Errorf("user %s: attrs %q: %w", r.Key, attrs, err)
		}
		if len(m) > 0 {
			r.Attrs = usersync.AttrsFromMap(m)
		}
		byID[id] = len(users)
		users = append(users, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	mrows, err := h.tdb.db.QueryContext(ctx, h.q(`SELECT m.user_id, g.ext_id FROM `+h.t("memberships")+` m JOIN `+h.t("groups")+` g ON g.id = m.group_id
WHERE g.tenant = ? AND g.ext_id IS NOT NULL`), h.tenant)
	if err != nil {
		return nil, err
	}
	defer mrows.Close()
	for mrows.Next() {
		var id int64
		var g string
		if err := mrows.Scan(&id, &g); err != nil {
			return nil, err
		}
		if i, ok := byID[id]; ok {
			users[i].Groups = append(users[i].Groups, g)
		}
	}
	return users, mrows.Err()
}

// conformance runs sinktest on the databases open gives.
func conformance(t *testing.T, open func(testing.TB) *testDB, o sqlsink.Options) {
	tdb := open(t)
	sinktest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (sinktest.Harness, error) {
		if tdb.dialect == sqlsink.SQLite {
			tdb = open(t) // a file per case
		}
		return newHarness(ctx, t, tdb, o)
	})
}

func TestConformanceSQLite(t *testing.T) {
	conformance(t, openSQLite, sqlsink.Options{})
}

// TestConformanceSQLiteTenant runs the suite for a tenant whose tables hold
// another tenant's users too, which it must neither see nor touch.
func TestConformanceSQLiteTenant(t *testing.T) {
	conformance(t, func(t testing.TB) *testDB {
		tdb := openSQLite(t)
		other, err := newHarness(context.Background(), t, tdb, sqlsink.Options{Tenant: "other"})
		require.NoError(t, err)
		seedOther(t, other)
		return tdb
	}, sqlsink.Options{Tenant: "acme"})
}

func TestConformancePostgres(t *testing.T) {
	conformance(t, openPostgres, sqlsink.Options{})
}

// seedOther gives tenant other a user in groups whose IDs the suite uses.
func seedOther(t testing.TB, h *harness) {
	ctx := context.Background()
	for _, g := range []string{"nurses", "ward-3"} {
		require.NoError(t, h.PutGroup(ctx, usersync.Group{ID: g, Name: "Other " + g}))
	}
	r := usersync.Record{Key: "E1001", Attrs: usersync.NewAttrs("name", "Other Ann"), Groups: []string{"nurses", "ward-3"}, Managed: true}
	require.NoError(t, h.PutUser(ctx, r))
}

// Drift changes a user with plain SQL, as someone at a SQL prompt would:
// the drift triggers must notice.
func (h *harness) Drift(ctx context.Context, d sinktest.Drift) error {
	db := h.tdb.db
	var err error
	switch d.Kind {
	case sinktest.DriftAttr:
		var js string
		if err := db.QueryRowContext(ctx, h.q(`SELECT attrs FROM `+h.t("users")+` WHERE tenant = ? AND key = ?`), h.tenant, d.Key).Scan(&js); err != nil {
			return err
		}
		m := map[string]string{}
		if err := json.Unmarshal([]byte(js), &m); err != nil {
			return err
		}
		m[d.Name] = d.Value
		b, _ := json.Marshal(m)
		_, err = db.ExecContext(ctx, h.q(`UPDATE `+h.t("users")+` SET attrs = ? WHERE tenant = ? AND key = ?`), string(b), h.tenant, d.Key)
	case sinktest.DriftLeave:
		_, err = db.ExecContext(ctx, h.q(`DELETE FROM `+h.t("memberships")+`
WHERE user_id = (SELECT id FROM `+h.t("users")+` WHERE tenant = ? AND key = ?)
AND group_id = (SELECT id FROM `+h.t("groups")+` WHERE tenant = ? AND ext_id = ?)`), h.tenant, d.Key, h.tenant, d.Name)
	case sinktest.DriftInactive:
		_, err = db.ExecContext(ctx, h.q(`UPDATE `+h.t("users")+` SET inactive = ? WHERE tenant = ? AND key = ?`), d.Inactive, h.tenant, d.Key)
	default:
		err = fmt.Errorf("unknown drift %v", d.Kind)
	}
	return err
}

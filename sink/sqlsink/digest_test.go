package sqlsink_test

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/sinktest"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/source/memsource"
)

// requireDigestsKnown requires every user's digests to be Known and those
// of the user as Users lists it.
func requireDigestsKnown(t testing.TB, s *sqlsink.Sink) {
	t.Helper()
	ctx := context.Background()
	users := map[string]usersync.Record{}
	for u, err := range s.Users(ctx) {
		require.NoError(t, err)
		users[u.Key] = u
	}
	n := 0
	for d, err := range s.Digests(ctx) {
		require.NoError(t, err)
		r, ok := users[d.Key]
		require.True(t, ok, d.Key)
		require.Equal(t, usersync.DigestUser(&r), d, "user %q", d.Key)
		n++
	}
	require.Equal(t, len(users), n)
}

var driftSchema = csvmap.Schema{Columns: []csvmap.Column{
	{Name: "id", Role: csvmap.Key},
	{Name: "name", Required: true},
	{Name: "title"},
	{Name: "groups", Role: csvmap.Groups},
}}

const driftDay1 = "id,name,title,groups\n" +
	"e1,Ann Berg,Nurse,\"nurses,ward-3\"\n" +
	"e2,Bo Ek,Porter,nurses\n" +
	"e3,Cy Dahl,Doctor,\n"

// TestDriftRepaired syncs a file, changes users in the database by hand
// (an attribute, a membership, the inactive flag), and syncs the next
// day's file: the next run finds every change and puts it right.
func TestDriftRepaired(t *testing.T) {
	forEachDB(t, func(t *testing.T, tdb *testDB) {
		ctx := t.Context()
		h, err := newHarness(ctx, t, tdb, sqlsink.Options{})
		require.NoError(t, err)
		m, err := csvmap.New(driftSchema, nil)
		require.NoError(t, err)
		src := memsource.New()
		p := &usersync.Pipeline{Source: src, Mapper: m, Reconciler: reconcile.New(nil), Sink: h.s}
		day := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
		require.NoError(t, src.Put("users.csv", []byte(driftDay1), day))
		res, err := p.Run(ctx)
		require.NoError(t, err)
		require.Equal(t, usersync.Succeeded, res.Status, "%+v", res)
		requireDigestsKnown(t, h.s)
		want, _, err := h.State(ctx)
		require.NoError(t, err)

		for _, d := range []sinktest.Drift{
			{Kind: sinktest.DriftAttr, Key: "e1", Name: "title", Value: "Surgeon"},
			{Kind: sinktest.DriftLeave, Key: "e2", Name: "nurses"},
			{Kind: sinktest.DriftInactive, Key: "e3", Inactive: true},
		} {
			require.NoError(t, h.Drift(ctx, d))
		}
		for d, err := range h.s.Digests(ctx) {
			require.NoError(t, err)
			assert.False(t, d.Known, "user %q, changed by hand, must not list Known digests", d.Key)
		}

		// The next day's file adds a user and leaves the others as they were.
		day2 := driftDay1 + "e4,Di Sten,Clerk,\n"
		require.NoError(t, src.Put("users.csv", []byte(day2), day.Add(24*time.Hour)))
		res, err = p.Run(ctx)
		require.NoError(t, err)
		require.Equal(t, usersync.Succeeded, res.Status, "%+v", res)
		assert.Equal(t, 1, res.Applied.Created)
		got, _, err := h.State(ctx)
		require.NoError(t, err)
		want = append(want, usersync.Record{Key: "e4", Attrs: usersync.NewAttrs("name", "Di Sten", "title", "Clerk"), Managed: true})
		assert.Equal(t, comparable(sortedByKey(want)), comparable(sortedByKey(got)), "every change made by hand is put right")
		requireDigestsKnown(t, h.s)

		// The same users in another order: a file to read, with nothing to do.
		day3 := "id,name,title,groups\n" +
			"e4,Di Sten,Clerk,\n" +
			"e3,Cy Dahl,Doctor,\n" +
			"e2,Bo Ek,Porter,nurses\n" +
			"e1,Ann Berg,Nurse,\"ward-3,nurses\"\n"
		require.NoError(t, src.Put("users.csv", []byte(day3), day.Add(48*time.Hour)))
		res, err = p.Run(ctx)
		require.NoError(t, err)
		require.Equal(t, usersync.Succeeded, res.Status, "%+v", res)
		assert.Equal(t, usersync.Counts{Unchanged: 4}, res.Applied, "a third sync has nothing to do")
	})
}

func sortedByKey(rs []usersync.Record) []usersync.Record {
	return slices.SortedFunc(slices.Values(rs), func(a, b usersync.Record) int { return cmp.Compare(a.Key, b.Key) })
}

// TestMigrateDigests upgrades a database of version 2, holding users, to
// the digests: the migration computes every user's, of every tenant.
func TestMigrateDigests(t *testing.T) {
	forEachDB(t, func(t *testing.T, tdb *testDB) {
		ctx := t.Context()
		opts := tdb.freshOptions(t, sqlsink.Options{})
		ms, err := sqlsink.Migrations(tdb.dialect, opts)
		require.NoError(t, err)
		migrations := `"` + cmpOr(opts.Tables.Prefix, sqlsink.DefaultPrefix) + `migrations"`
		_, err = tdb.db.ExecContext(ctx, `CREATE TABLE `+migrations+` (version INTEGER NOT NULL PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
		require.NoError(t, err)
		for _, m := range ms[:2] {
			for _, stmt := range m.Statements {
				_, err := tdb.db.ExecContext(ctx, stmt)
				require.NoError(t, err)
			}
			_, err = tdb.db.ExecContext(ctx, `INSERT INTO `+migrations+` VALUES (`+strconv.Itoa(m.Version)+`, 'old', 0)`)
			require.NoError(t, err)
		}
		// Users of two tenants, as version 2 held them.
		hs := map[string]*harness{}
		for _, tenant := range []string{"acme", "other"} {
			h := &harness{tdb: tdb, prefix: cmpOr(opts.Tables.Prefix, sqlsink.DefaultPrefix), tenant: tenant}
			require.NoError(t, h.PutGroup(ctx, usersync.Group{ID: "nurses", Name: "Nurses"}))
			require.NoError(t, h.PutGroup(ctx, usersync.Group{ID: "ward-3", Name: "Ward 3"}))
			for i := range 1200 {
				r := usersync.Record{Key: "E" + strconv.Itoa(i), Attrs: usersync.NewAttrs("name", tenant+strconv.Itoa(i)), Managed: i%2 == 0}
				if i%3 == 0 {
					r.Groups = []string{"nurses", "ward-3"}
				}
				require.NoError(t, h.PutUser(ctx, r))
			}
			hs[tenant] = h
		}
		for tenant := range hs {
			o := *opts
			o.Tenant = tenant
			s, err := sqlsink.New(ctx, tdb.db, tdb.dialect, &o)
			require.NoError(t, err)
			requireDigestsKnown(t, s)
		}
	})
}

// TestDriftTriggers changes memberships, groups and users by hand in every
// way the triggers watch: each change clears Known for the users it
// touches and changes their digests, and RefreshDigests makes them Known
// again.
func TestDriftTriggers(t *testing.T) {
	forEachDB(t, func(t *testing.T, tdb *testDB) {
		ctx := t.Context()
		h, err := newHarness(ctx, t, tdb, sqlsink.Options{})
		require.NoError(t, err)
		s := h.s
		errs := s.ApplyBatch(ctx, []usersync.Change{
			{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "g1"}},
			{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "g2"}},
			create("a", "g1"), create("b", "g1", "g2"), create("c"),
		})
		require.Nil(t, errs)
		requireDigestsKnown(t, s)
		digests := func() map[string]usersync.UserDigest {
			m := map[string]usersync.UserDigest{}
			for d, err := range s.Digests(ctx) {
				require.NoError(t, err)
				m[d.Key] = d
			}
			return m
		}
		exec := func(q string, args ...any) {
			t.Helper()
			_, err := tdb.db.ExecContext(ctx, h.q(q), args...)
			require.NoError(t, err, q)
		}
		id := func(table, col, val string) int64 {
			var id int64
			require.NoError(t, tdb.db.QueryRowContext(ctx, h.q(`SELECT id FROM `+h.t(table)+` WHERE `+col+` = ?`), val).Scan(&id))
			return id
		}
		for _, step := range []struct {
			name    string
			do      func()
			touched []string
		}{
			{"membership inserted", func() {
				exec(`INSERT INTO `+h.t("memberships")+` (user_id, group_id) VALUES (?, ?)`, id("users", "key", "c"), id("groups", "ext_id", "g2"))
			}, []string{"c"}},
			{"membership moved", func() {
				exec(`UPDATE `+h.t("memberships")+` SET group_id = ? WHERE user_id = ?`, id("groups", "ext_id", "g2"), id("users", "key", "a"))
			}, []string{"a"}},
			{"group re-keyed", func() { exec(`UPDATE ` + h.t("groups") + ` SET ext_id = 'g3' WHERE ext_id = 'g1'`) }, []string{"b"}},
			{"group renamed", func() { exec(`UPDATE ` + h.t("groups") + ` SET name = 'G3' WHERE ext_id = 'g3'`) }, nil},
			{"user re-keyed", func() { exec(`UPDATE ` + h.t("users") + ` SET key = 'c2' WHERE key = 'c'`) }, []string{"c2"}},
			{"missing marker", func() { exec(`UPDATE ` + h.t("users") + ` SET missing_runs = 2 WHERE key = 'b'`) }, []string{"b"}},
			{"user inserted", func() {
				exec(`INSERT INTO ` + h.t("users") + ` (tenant, key, attrs) VALUES ('', 'd', '{}')`)
			}, []string{"d"}},
			{"user deleted and inserted again", func() {
				exec(`DELETE FROM ` + h.t("users") + ` WHERE key = 'd'`)
				exec(`INSERT INTO ` + h.t("users") + ` (tenant, key, attrs) VALUES ('', 'd', '{}')`)
			}, []string{"d"}},
		} {
			require.NoError(t, s.RefreshDigests(ctx), step.name)
			requireDigestsKnown(t, s)
			before := digests()
			step.do()
			after := digests()
			for k, d := range after {
				b, had := before[k]
				switch {
				case slices.Contains(step.touched, k):
					assert.False(t, d.Known, "%s: user %q", step.name, k)
					assert.False(t, had && b.Attrs == d.Attrs && b.Groups == d.Groups, "%s: user %q: the digests must change", step.name, k)
				default:
					assert.Equal(t, b, d, "%s: user %q, untouched", step.name, k)
				}
			}
		}
		require.NoError(t, s.RefreshDigests(ctx))
		requireDigestsKnown(t, s)
	})
}

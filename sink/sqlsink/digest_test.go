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

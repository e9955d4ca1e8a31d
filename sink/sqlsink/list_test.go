package sqlsink_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/sink/sqlsink"
)

// listUsers is how many users a tenant of the tests below holds: enough
// for several of a listing's batches.
const listUsers = 700

// TestListTenants lists tenants whose users were created in turns, so
// that their row IDs interleave, each in groups of the same external IDs:
// every tenant sees its own users, in the order they were created, with
// its own groups only. With two tenants, a listing reads the memberships
// of a range of user IDs that holds the other tenant's; with three, those
// of its users' IDs. SQLite reads them on a second connection, or, when
// the pool has no connection to spare, on the listing's own.
func TestListTenants(t *testing.T) {
	for _, tenants := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d tenants", tenants), func(t *testing.T) {
			forEachDB(t, func(t *testing.T, tdb *testDB) { listTenants(t, tdb, tenants) })
		})
	}
	t.Run("SQLite on one connection", func(t *testing.T) {
		tdb := openSQLite(t)
		tdb.db.SetMaxOpenConns(2) // one for the listing, one for its loop
		listTenants(t, tdb, 3)
	})
}

func listTenants(t *testing.T, tdb *testDB, tenants int) {
	opts := tdb.freshOptions(t, sqlsink.Options{})
	sinks := make([]*sqlsink.Sink, tenants)
	want := make([][]usersync.Record, tenants)
	for i := range sinks {
		o := *opts
		o.Tenant = fmt.Sprintf("tenant%d", i)
		sinks[i] = mustNew(t, tdb, o)
		var cs []usersync.Change
		for g := range 5 {
			cs = append(cs, usersync.Change{Kind: usersync.CreateGroup, Group: usersync.Group{ID: fmt.Sprint("g", g), Name: fmt.Sprint(o.Tenant, " group ", g)}})
		}
		applyAll(t, sinks[i], cs)
	}
	const turn = 10 // users a tenant creates in a turn
	for from := 0; from < listUsers; from += turn {
		for i, s := range sinks {
			var cs []usersync.Change
			for k := from; k < from+turn; k++ {
				r := usersync.Record{Key: fmt.Sprintf("U%04d", k), Attrs: usersync.NewAttrs("name", fmt.Sprintf("user %d of tenant %d", k, i)), Managed: true}
				if k%4 != 0 { // and some in no group
					r.Groups = slices.Compact(slices.Sorted(slices.Values([]string{fmt.Sprint("g", k%5), fmt.Sprint("g", (k+i)%5)})))
				}
				cs = append(cs, usersync.Change{Kind: usersync.CreateUser, User: r, Join: r.Groups})
				want[i] = append(want[i], r)
			}
			applyAll(t, s, cs)
		}
	}
	for i, s := range sinks {
		require.Equal(t, comparable(want[i]), comparable(list(t, s)), "tenant %d", i)
	}
}

// TestListWhileWriting lists users while a writer moves them between two
// groups, writing the group's ID in an attribute in the same transaction:
// every user a listing yields must be in the group its attribute names, as
// it would not be if the users and their memberships were read from
// different states.
func TestListWhileWriting(t *testing.T) {
	forEachDB(t, func(t *testing.T, tdb *testDB) {
		ctx := t.Context()
		s := mustNew(t, tdb, sqlsink.Options{})
		cs := []usersync.Change{
			{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "a", Name: "A"}},
			{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "b", Name: "B"}},
		}
		for k := range listUsers {
			r := usersync.Record{Key: fmt.Sprintf("U%04d", k), Attrs: usersync.NewAttrs("in", "a"), Groups: []string{"a"}}
			cs = append(cs, usersync.Change{Kind: usersync.CreateUser, User: r, Join: r.Groups})
		}
		applyAll(t, s, cs)

		writing, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- moveUsers(writing, s) }()
		for range 40 {
			n := 0
			for r, err := range s.Users(ctx) {
				require.NoError(t, err)
				require.Equal(t, []string{r.Attrs.Value("in")}, r.Groups, "user %s", r.Key)
				n++
			}
			require.Equal(t, listUsers, n)
		}
		stop()
		require.NoError(t, <-done, "the writer")
	})
}

// moveUsers moves users from one group to the other, ten in a
// transaction, until ctx is done.
func moveUsers(ctx context.Context, s *sqlsink.Sink) error {
	from, to := "a", "b"
	for k := 0; ; k = (k + 10) % listUsers {
		var cs []usersync.Change
		for u := k; u < k+10; u++ {
			r := usersync.Record{Key: fmt.Sprintf("U%04d", u), Attrs: usersync.NewAttrs("in", to)}
			cs = append(cs, usersync.Change{Kind: usersync.UpdateUser, User: r, Attrs: []string{"in"}, Join: []string{to}, Leave: []string{from}})
		}
		for _, err := range s.ApplyBatch(ctx, cs) {
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if k+10 == listUsers {
			from, to = to, from
		}
	}
}

// TestListStopsStepping leaves listings early, at every point of a batch
// and on a done ctx, and then checks that the Sink still lists everything:
// a listing must stop what it started.
func TestListStopsStepping(t *testing.T) {
	forEachDB(t, func(t *testing.T, tdb *testDB) {
		s := mustNew(t, tdb, sqlsink.Options{})
		cs := []usersync.Change{{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "a", Name: "A"}}}
		for k := range listUsers {
			cs = append(cs, create(fmt.Sprintf("U%04d", k), "a"))
		}
		applyAll(t, s, cs)
		for _, stopAt := range []int{1, 255, 256, 257, 600} {
			n := 0
			for _, err := range s.Users(t.Context()) {
				require.NoError(t, err)
				if n++; n == stopAt {
					break
				}
			}
			ctx, cancel := context.WithCancel(t.Context())
			n = 0
			var err error
			for _, err = range s.Users(ctx) {
				if err != nil {
					break
				}
				if n++; n == stopAt {
					cancel()
				}
			}
			cancel()
			require.ErrorIs(t, err, context.Canceled)
		}
		require.Len(t, list(t, s), listUsers)
	})
}

func applyAll(t testing.TB, s *sqlsink.Sink, cs []usersync.Change) {
	t.Helper()
	require.NoError(t, errors.Join(s.ApplyBatch(context.Background(), cs)...))
}

func list(t testing.TB, l usersync.Lister) []usersync.Record {
	t.Helper()
	var out []usersync.Record
	for r, err := range l.Users(context.Background()) {
		require.NoError(t, err)
		out = append(out, r)
	}
	return out
}

// A user is a Record in a form require.Equal compares.
type user struct {
	Key          string
	Attrs        map[string]string
	Groups       []string
	Inactive     bool
	Managed      bool
	MissingRuns  uint16
	MissingSince int64
}

func comparable(rs []usersync.Record) []user {
	out := make([]user, len(rs))
	for i, r := range rs {
		out[i] = user{r.Key, maps.Collect(r.Attrs.All()), r.Groups, r.Inactive, r.Managed, r.MissingRuns, r.MissingSince}
		if len(r.Groups) == 0 {
			out[i].Groups = nil
		}
	}
	return out
}

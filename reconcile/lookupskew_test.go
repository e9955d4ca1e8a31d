package reconcile_test

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/reconcile"
)

// lookupSkew is a digestListing whose LookupUsers leaves out the users of
// gone, as if deleted after the listing of digests, and, with backwards,
// yields the users of each call in reverse key order, as a Sink that broke
// its promise of order would.
type lookupSkew struct {
	digestListing
	gone      map[string]bool
	backwards bool
}

func (l *lookupSkew) LookupUsers(ctx context.Context, keys []string) iter.Seq2[usersync.Record, error] {
	return func(yield func(usersync.Record, error) bool) {
		var users []usersync.Record
		for u, err := range l.digestListing.LookupUsers(ctx, keys) {
			if err != nil {
				yield(u, err)
				return
			}
			if !l.gone[u.Key] {
				users = append(users, u)
			}
		}
		if l.backwards {
			slices.Reverse(users)
		}
		for _, u := range users {
			if !yield(u, nil) {
				return
			}
		}
	}
}

// A user the lookups do not bring (deleted since the listing of digests),
// or bring out of order, leaves its row to the planner as a row the Sink
// lacks: the plan is the one made from a listing of the users there are.
// The rows of m, held as they share a key, sit among the others in key
// order.
func TestMergeCopesWithWhatTheLookupsBring(t *testing.T) {
	changed := []string{"a", "b", "c", "d", "g", "h", "s", "t", "u", "v", "w", "x"}
	var sink, feed []usersync.Record
	for i, k := range changed {
		sink = append(sink, managed(k, "Old "+k, k+"@example.com"))
		feed = append(feed, row(k, "New "+k, k+"@example.com", i+2))
	}
	sink = append(sink, managed("n", "N", "n@example.com"), managed("q", "Q", "q@example.com")) // in sync; a leaver
	feed = append(feed, row("n", "N", "n@example.com", 20), row("e", "E", "e@example.com", 21), // new
		row("m", "M", "m@example.com", 22), row("m", "Mo", "mo@example.com", 23)) // twice: held, and rejected
	// The first key alone: a row the planner fails to find is then
	// created, and its user taken for a leaver.
	policy := &reconcile.Policy{MatchKeys: []reconcile.MatchKey{{}},
		RemoveGuard: reconcile.Guard{Disabled: true}, UpdateGuard: reconcile.Guard{Disabled: true}}
	for _, tc := range []struct {
		gone      []string
		backwards bool
	}{
		{nil, false},
		{[]string{"b"}, false},
		{[]string{"b", "q"}, false},
		{nil, true},
		{[]string{"b"}, true},
	} {
		t.Run(fmt.Sprint(tc.gone, " backwards ", tc.backwards), func(t *testing.T) {
			gone := make(map[string]bool)
			var there []usersync.Record
			for _, u := range sink {
				if slices.Contains(tc.gone, u.Key) {
					gone[u.Key] = true
				} else {
					there = append(there, u)
				}
			}
			full := reconcileFeed(t, reconcile.New(policy), feed, &listing{users: there})
			want, err := json.Marshal(full)
			require.NoError(t, err)
			merged := reconcileFeed(t, reconcile.New(policy), feed, &lookupSkew{digestListing{listing{users: sink}}, gone, tc.backwards})
			got, err := json.Marshal(merged)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))
			// Holding a single row, the merge defers the others, and
			// looks their users up after it.
			deferred := reconcileFeed(t, reconcile.WithRowLimit(reconcile.New(policy), 1), feed, &lookupSkew{digestListing{listing{users: sink}}, gone, tc.backwards})
			got, err = json.Marshal(deferred)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got), "with rows deferred")

			kinds := make(map[string]usersync.ChangeKind)
			for _, c := range synctest.Changes(t, merged) {
				kinds[c.User.Key] = c.Kind
			}
			for _, k := range changed {
				if gone[k] {
					assert.Equal(t, usersync.CreateUser, kinds[k], "%s: deleted since the listing, so created again", k)
				} else {
					assert.Equal(t, usersync.UpdateUser, kinds[k], k)
				}
			}
			assert.Equal(t, usersync.CreateUser, kinds["e"])
			assert.NotContains(t, kinds, "n")
			assert.NotContains(t, kinds, "m")
			if !gone["q"] {
				assert.Equal(t, usersync.DeactivateUser, kinds["q"])
			}
		})
	}
}

func reconcileFeed(t *testing.T, r *reconcile.Reconciler, feed []usersync.Record, l usersync.Lister) *usersync.Plan {
	t.Helper()
	plan, err := r.Reconcile(t.Context(), &usersync.Feed{Records: slices.Clone(feed), Time: now}, l)
	require.NoError(t, err)
	return plan
}

// vanishing is a digestListing whose LookupUsers brings the user of key
// gone once only, as if deleted between two lookups.
type vanishing struct {
	digestListing
	gone  string
	asked int
}

func (l *vanishing) LookupUsers(ctx context.Context, keys []string) iter.Seq2[usersync.Record, error] {
	return func(yield func(usersync.Record, error) bool) {
		for u, err := range l.digestListing.LookupUsers(ctx, keys) {
			if err == nil && u.Key == l.gone {
				if l.asked++; l.asked > 1 {
					continue
				}
			}
			if !yield(u, err) {
				return
			}
		}
	}
}

// Under a manager policy, a merge that defers rows reads their users twice:
// once to resolve the references they match, once to pair them. A user
// deleted in between leaves its row to be created again, as a row whose
// user is gone is.
func TestDeferredRowWhoseUserVanishesIsCreated(t *testing.T) {
	policy := &reconcile.Policy{MatchKeys: []reconcile.MatchKey{{}}, Manager: reconcile.Manager{Attr: "manager"},
		RemoveGuard: reconcile.Guard{Disabled: true}, UpdateGuard: reconcile.Guard{Disabled: true}}
	var sink, feed []usersync.Record
	for i, k := range []string{"a", "b", "c"} {
		sink = append(sink, managed(k, "Old "+k, k+"@x"))
		feed = append(feed, managerRow(k, "a", i+2))
	}
	l := &vanishing{digestListing: digestListing{listing{users: sink}}, gone: "c"}
	p := reconcileFeed(t, reconcile.WithRowLimit(reconcile.New(policy), 1), feed, l)
	kinds := make(map[string]usersync.ChangeKind)
	for _, c := range synctest.Changes(t, p) {
		kinds[c.User.Key] = c.Kind
	}
	assert.Equal(t, map[string]usersync.ChangeKind{"a": usersync.UpdateUser, "b": usersync.UpdateUser, "c": usersync.CreateUser}, kinds)
	assert.Equal(t, 2, l.asked, "c's user was looked up twice")
}

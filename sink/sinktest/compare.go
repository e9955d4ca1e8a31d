package sinktest

import (
	"cmp"
	"context"
	"iter"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
)

// comparableUser is a Record in a form require.Equal compares by content:
// Attrs as a map (two Attrs with the same values may have different
// layouts), Groups sorted (a store may keep them in any order, but must not
// repeat one), and no Origin, which a Sink does not keep.
type comparableUser struct {
	Key          string
	Attrs        map[string]string
	Groups       []string
	Inactive     bool
	Managed      bool
	MissingRuns  uint16
	MissingSince int64
}

// comparableUsers returns rs as comparableUsers sorted by key.
func comparableUsers(rs []usersync.Record) []comparableUser {
	out := make([]comparableUser, 0, len(rs))
	for _, r := range rs {
		groups := slices.Sorted(slices.Values(r.Groups))
		if len(groups) == 0 {
			groups = nil // no groups, however the store spells it
		}
		out = append(out, comparableUser{r.Key, r.Attrs.Map(), groups, r.Inactive, r.Managed, r.MissingRuns, r.MissingSince})
	}
	slices.SortFunc(out, func(a, b comparableUser) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// requireSameUsers requires got to hold the users of want, in any order.
func requireSameUsers(t *testing.T, want, got []usersync.Record, what string) {
	t.Helper()
	require.Equal(t, comparableUsers(want), comparableUsers(got), what)
}

// requireSameGroups requires got to hold the groups of want, in any order.
func requireSameGroups(t *testing.T, want, got []usersync.Group, what string) {
	t.Helper()
	byID := func(a, b usersync.Group) int { return cmp.Compare(a.ID, b.ID) }
	want, got = slices.Clone(want), slices.Clone(got)
	slices.SortFunc(want, byID)
	slices.SortFunc(got, byID)
	if len(want) == 0 && len(got) == 0 {
		return // nil and empty alike
	}
	require.Equal(t, want, got, what)
}

// collect gathers a Lister's sequence, requiring it to yield no error.
func collect[T any](t *testing.T, seq iter.Seq2[T, error], what string) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		require.NoError(t, err, what)
		out = append(out, v)
	}
	return out
}

// firstError ranges over seq to its end and returns how many values it
// yielded and the first error. It requires the error, if any, to end the
// sequence.
func firstError[T any](t *testing.T, seq iter.Seq2[T, error], onValue func()) (n int, err error) {
	t.Helper()
	for _, e := range seq {
		if err != nil {
			require.FailNow(t, "the sequence went on after an error", "first error: %v", err)
		}
		if e != nil {
			err = e
			continue
		}
		n++
		if onValue != nil {
			onValue()
		}
	}
	return n, err
}

// canceled returns a child of ctx that is already canceled.
func canceled(ctx context.Context) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	return ctx
}

// rec returns a record with the given key and alternating attribute names
// and values.
func rec(key string, nameValues ...string) usersync.Record {
	return usersync.Record{Key: key, Attrs: usersync.NewAttrs(nameValues...)}
}

// managed returns r as a Sink should hold it after creating it: Managed,
// and without an Origin.
func managed(r usersync.Record) usersync.Record {
	r.Managed = true
	r.Origin = usersync.Position{}
	return r
}

// The changes a Reconciler makes, built the way it builds them.

func createGroup(id, name string) usersync.Change {
	return usersync.Change{Kind: usersync.CreateGroup, Group: usersync.Group{ID: id, Name: name}}
}

func createUser(r usersync.Record) usersync.Change {
	return usersync.Change{Kind: usersync.CreateUser, User: r, Join: r.Groups}
}

// change returns a change of the given kind to r, writing the named
// attributes of r.
func change(kind usersync.ChangeKind, r usersync.Record, attrs ...string) usersync.Change {
	return usersync.Change{Kind: kind, User: r, Attrs: attrs}
}

// memberships returns c with the given groups to join and leave.
func memberships(c usersync.Change, join, leave []string) usersync.Change {
	c.Join, c.Leave = join, leave
	return c
}

// rekeyed returns c re-keying the user held under oldKey.
func rekeyed(c usersync.Change, oldKey string) usersync.Change {
	c.OldKey = oldKey
	return c
}

// adopt returns an AdoptUser of r, writing the named attributes.
func adopt(r usersync.Record, oldKey string, attrs ...string) usersync.Change {
	return usersync.Change{Kind: usersync.AdoptUser, User: r, Attrs: attrs, Join: r.Groups, OldKey: oldKey}
}

// markMissing returns a MarkMissing setting the marker of the user with
// the given key.
func markMissing(key string, runs uint16, since int64) usersync.Change {
	return usersync.Change{Kind: usersync.MarkMissing, User: usersync.Record{Key: key, MissingRuns: runs, MissingSince: since}}
}

func renameGroup(id, name string) usersync.Change {
	return usersync.Change{Kind: usersync.RenameGroup, Group: usersync.Group{ID: id, Name: name}}
}

func deleteUser(key string) usersync.Change {
	return usersync.Change{Kind: usersync.DeleteUser, User: usersync.Record{Key: key}}
}

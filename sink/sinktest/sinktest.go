// Package sinktest is a conformance suite for implementations of
// [usersync.Sink]: it checks that a Sink keeps the contract the usersync
// package writes down (idempotent changes, ErrNotFound, memberships,
// cancellation, and the optional [usersync.BatchApplier] and
// [usersync.Lister]), so that a Sink author needs no unit tests of their own
// for those semantics.
//
// The suite reaches the Sink's backing store through a [Harness], which can
// seed it and read it back without going through the Sink. Each case runs as
// a subtest with a fresh Harness, so it starts from an empty store. A Sink
// passes by running the suite from one of its tests; this is the whole of
// sink/memsink's:
//
//	func TestConformance(t *testing.T) {
//		sinktest.RunConformanceTests(t, func(context.Context, *testing.T) (sinktest.Harness, error) {
//			return &harness{memsink.New()}, nil
//		})
//	}
//
//	type harness struct{ s *memsink.Sink }
//
//	func (h *harness) MakeSink(context.Context) (usersync.Sink, error) { return h.s, nil }
//	func (h *harness) Close()                                          {}
//
//	func (h *harness) PutUser(_ context.Context, r usersync.Record) error {
//		h.s.PutUser(r)
//		return nil
//	}
//
//	func (h *harness) PutGroup(_ context.Context, g usersync.Group) error {
//		h.s.PutGroup(g)
//		return nil
//	}
//
//	func (h *harness) State(context.Context) ([]usersync.Record, []usersync.Group, error) {
//		users, groups := h.s.Snapshot()
//		return users, groups, nil
//	}
//
// The cases check that each kind of change does what [usersync.ChangeKind]
// and [usersync.Change] say and is idempotent; that an update writes only
// the attributes it names and keeps the others, even ones set by hand; that
// adopting a user created by hand, or a change with an OldKey, re-keys the
// user and keeps its identity, and refuses to re-key onto a taken key; that
// the missing marker is stored, listed, and cleared by RestoreUser, AdoptUser
// and CreateUser; that updating, restoring or adopting a missing user,
// renaming a missing group, or joining a group the Sink does not hold,
// fails with [usersync.ErrNotFound] and changes nothing; that attribute
// values (unicode, commas, quotes, newlines, empty, 10 KiB) round-trip
// exactly; that a canceled ctx fails with context.Canceled and changes
// nothing; that ApplyBatch gives what Apply one by one gives; that Users
// and Groups list what the store holds and stop on a canceled ctx; and that
// Apply is safe from several goroutines.
//
// For a Sink whose Lister is a [usersync.GroupLinker], the suite checks
// that CreateGroup and RenameGroup store a group's Parent and Account, and
// that Groups lists them.
//
// For a Sink that is a [usersync.DigestLister], the suite checks that
// Digests lists every user in strictly increasing byte order of key (keys
// that differ in case, non-ASCII ones, prefixes of others); that Known
// digests equal [usersync.DigestUser] of the user Users lists; that after
// every kind of change (Apply and ApplyBatch) the digests change exactly
// for the users that changed; and that LookupUsers yields exactly the held
// users asked for, in order, also from another goroutine while a listing of
// Digests is under way. A Harness that is also a [Drifter] lets the
// suite change users by hand and check that the digests and
// [usersync.ListFingerprint] notice.
//
// A harness for a database-backed Sink opens a fresh database or schema per
// harness (a file in t.TempDir, say), and implements PutUser, PutGroup and
// State with plain queries on its tables.
//
// Run the suite with -race: one case applies changes from several goroutines.
package sinktest

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
)

// A Harness gives the suite a Sink and direct access to the store behind
// it. The suite makes one Harness per case and closes it at the case's end.
type Harness interface {
	// MakeSink returns a Sink over the harness's store, which starts out
	// empty. Repeated calls within one case see the same store.
	MakeSink(ctx context.Context) (usersync.Sink, error)
	// PutUser writes r straight into the backing store, bypassing the Sink,
	// as an administrator creating a user by hand would (r.Managed is then
	// false). It replaces a user with the same key, and stores every field
	// of r but Origin, the missing marker included. The groups r lists need
	// not have been created.
	PutUser(ctx context.Context, r usersync.Record) error
	// PutGroup writes g straight into the backing store, bypassing the Sink.
	PutGroup(ctx context.Context, g usersync.Group) error
	// State reads every user and group from the backing store independently
	// of the Sink, in any order.
	State(ctx context.Context) ([]usersync.Record, []usersync.Group, error)
	// Close releases the harness's resources.
	Close()
}

// A HarnessMaker makes a Harness over an empty store for the (sub)test t.
// It may use t for t.TempDir or t.Cleanup.
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

// RunConformanceTests runs the conformance suite, each case as a subtest
// with its own Harness from newHarness. Cases for BatchApplier and Lister
// are skipped when the Sink does not implement them, and so are those for
// DigestLister, and the drift case when the Harness is not a [Drifter].
func RunConformanceTests(t *testing.T, newHarness HarnessMaker) {
	t.Helper()
	cases := []struct {
		name string
		test func(*env)
	}{
		{"Create", testCreate},
		{"CreateInactive", testCreateInactive},
		{"CreateTwice", testCreateTwice},
		{"Update", testUpdate},
		{"UpdateMissing", testUpdateMissing},
		{"Restore", testRestore},
		{"Deactivate", testDeactivate},
		{"DeactivateOrDeleteAbsent", testAbsent},
		{"Delete", testDelete},
		{"Adopt", testAdopt},
		{"AdoptMissing", testAdoptMissing},
		{"Rekey", testRekey},
		{"RekeyOntoTakenKey", testRekeyTaken},
		{"MissingMarker", testMissingMarker},
		{"RenameGroup", testRenameGroup},
		{"Groups", testGroups},
		{"GroupLinks", testGroupLinks},
		{"JoinUnknownGroup", testJoinUnknownGroup},
		{"UserCreatedByHand", testHandMade},
		{"Values", testValues},
		{"Canceled", testCanceled},
		{"Batch", testBatch},
		{"BatchCanceled", testBatchCanceled},
		{"ListStopEarly", testListStopEarly}, // first: a lock left held would hang the others
		{"List", testList},
		{"ListCanceled", testListCanceled},
		{"Concurrent", testConcurrent},
		{"DigestsOrder", testDigestsOrder},
		{"DigestsTrackChanges", testDigestsTrackChanges},
		{"LookupUsers", testLookupUsers},
		{"DigestsDrift", testDigestsDrift},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.test(newEnv(t, newHarness))
		})
	}
}

// env is what a case works with: its Harness and Sink, and the test.
type env struct {
	t          *testing.T
	ctx        context.Context
	h          Harness
	sink       usersync.Sink
	newHarness HarnessMaker // for cases that compare two Sinks
}

func newEnv(t *testing.T, newHarness HarnessMaker) *env {
	t.Helper()
	ctx := t.Context()
	h, err := newHarness(ctx, t)
	require.NoError(t, err, "making the harness")
	t.Cleanup(h.Close)
	s, err := h.MakeSink(ctx)
	require.NoError(t, err, "MakeSink")
	require.NotNil(t, s, "MakeSink returned a nil Sink")
	return &env{t: t, ctx: ctx, h: h, sink: s, newHarness: newHarness}
}

// fresh returns another env for the same test, over its own empty store.
func (e *env) fresh() *env { return newEnv(e.t, e.newHarness) }

// apply applies each change and requires it to succeed.
func (e *env) apply(cs ...usersync.Change) {
	e.t.Helper()
	for _, c := range cs {
		require.NoError(e.t, e.sink.Apply(e.ctx, c), "Apply(%v)", c)
	}
}

// applyMany applies cs and requires every change to succeed: in batches
// where the Sink is a usersync.BatchApplier, so that a database-backed
// Sink seeds thousands of users in a few transactions rather than one
// each.
func (e *env) applyMany(cs []usersync.Change) {
	e.t.Helper()
	ba, ok := e.sink.(usersync.BatchApplier)
	if !ok {
		e.apply(cs...)
		return
	}
	for batch := range slices.Chunk(cs, seedBatch) {
		for i, err := range ba.ApplyBatch(e.ctx, batch) {
			require.NoError(e.t, err, "ApplyBatch: %v", batch[i])
		}
	}
}

// seedBatch is how many changes applyMany applies in one batch.
const seedBatch = 1000

// putUser seeds a user created by hand.
func (e *env) putUser(r usersync.Record) {
	e.t.Helper()
	require.NoError(e.t, e.h.PutUser(e.ctx, r), "Harness.PutUser(%s)", r.Key)
}

// putGroup seeds a group created by hand.
func (e *env) putGroup(g usersync.Group) {
	e.t.Helper()
	require.NoError(e.t, e.h.PutGroup(e.ctx, g), "Harness.PutGroup(%s)", g.ID)
}

func (e *env) state() ([]usersync.Record, []usersync.Group) {
	e.t.Helper()
	users, groups, err := e.h.State(e.ctx)
	require.NoError(e.t, err, "Harness.State")
	return users, groups
}

// requireUsers requires the store to hold exactly the users want.
func (e *env) requireUsers(want ...usersync.Record) {
	e.t.Helper()
	got, _ := e.state()
	requireSameUsers(e.t, want, got, "users in the store")
}

// requireGroups requires the store to hold exactly the groups want.
func (e *env) requireGroups(want ...usersync.Group) {
	e.t.Helper()
	_, got := e.state()
	requireSameGroups(e.t, want, got, "groups in the store")
}

// user returns the stored user with the given key, and requires there to be
// one.
func (e *env) user(key string) usersync.Record {
	e.t.Helper()
	users, _ := e.state()
	for _, u := range users {
		if u.Key == key {
			return u
		}
	}
	require.FailNow(e.t, "user not in the store", "key %q", key)
	return usersync.Record{}
}

func (e *env) batchApplier() usersync.BatchApplier {
	ba, ok := e.sink.(usersync.BatchApplier)
	if !ok {
		e.t.Skip("the Sink is not a usersync.BatchApplier")
	}
	return ba
}

func (e *env) lister() usersync.Lister {
	l, ok := e.sink.(usersync.Lister)
	if !ok {
		e.t.Skip("the Sink is not a usersync.Lister")
	}
	return l
}

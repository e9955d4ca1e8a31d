package sinktest

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
)

// A Drifter is a Harness that can change a stored user behind the Sink's
// back, as someone editing the store by hand would (an UPDATE in SQL). When
// the Harness is one, the suite checks that a [usersync.DigestLister]
// notices every such change: the user's digests then either are not Known
// or equal [usersync.DigestUser] of the user as it now is, and
// [usersync.ListFingerprint] changes.
type Drifter interface {
	Harness
	// Drift changes the stored user d.Key as d says, bypassing the Sink.
	Drift(ctx context.Context, d Drift) error
}

// A DriftKind says what a [Drift] changes.
type DriftKind int

// The changes a [Drifter] makes by hand.
const (
	// DriftAttr sets the attribute Drift.Name to Drift.Value.
	DriftAttr DriftKind = iota + 1
	// DriftLeave removes the user from the group Drift.Name: the
	// membership row is deleted.
	DriftLeave
	// DriftInactive sets the user's inactive flag to Drift.Inactive.
	DriftInactive
)

// A Drift is a change made to a stored user by hand.
type Drift struct {
	Kind     DriftKind
	Key      string
	Name     string // the attribute of DriftAttr, the group of DriftLeave
	Value    string // the value of DriftAttr
	Inactive bool   // the flag of DriftInactive
}

func (e *env) digestLister() usersync.DigestLister {
	dl, ok := e.sink.(usersync.DigestLister)
	if !ok {
		e.t.Skip("the Sink is not a usersync.DigestLister")
	}
	return dl
}

// digests lists the digests and checks them against Users: the same keys,
// in strictly increasing byte order, and Known digests equal to DigestUser
// of the listed user. It returns them by key, with the listed users.
func (e *env) digests(dl usersync.DigestLister) (map[string]usersync.UserDigest, map[string]usersync.Record) {
	e.t.Helper()
	listed := collect(e.t, dl.Digests(e.ctx), "DigestLister.Digests")
	users := make(map[string]usersync.Record)
	for _, r := range collect(e.t, dl.Users(e.ctx), "Lister.Users") {
		users[r.Key] = r
	}
	byKey := make(map[string]usersync.UserDigest, len(listed))
	for i, d := range listed {
		if i > 0 {
			require.Less(e.t, listed[i-1].Key, d.Key, "Digests must list keys in strictly increasing byte order")
		}
		r, ok := users[d.Key]
		require.True(e.t, ok, "Digests lists %q, which Users does not", d.Key)
		if d.Known {
			require.Equal(e.t, usersync.DigestUser(&r), d, "user %q: a Known digest must equal DigestUser of the user Users lists", d.Key)
		}
		byKey[d.Key] = d
	}
	require.Len(e.t, byKey, len(users), "Digests must list every user Users lists")
	return byKey, users
}

// sameDigest reports whether two digests of a user are the same.
func sameDigest(a, b usersync.UserDigest) bool { return a.Attrs == b.Attrs && a.Groups == b.Groups }

func testDigestsOrder(e *env) {
	dl := e.digestLister()
	e.apply(createGroup("g", "G"))
	// Keys that differ in case, that are prefixes of others, non-ASCII
	// ones, digits, punctuation and spaces: byte order, not a locale's.
	keys := []string{"a", "A", "ab", "a-b", "a b", "a_b", "aB", "Ab", "b", "B", "z", "Z", "ä", "äb", "é", "e", "f",
		"日本", "日", "10", "9", "100", "~", "!", "a.b", "ÿ", "Ω", "ß", "ss", "😀", "x😀", "x"}
	keys = e.distinctKeys(keys)
	var cs []usersync.Change
	for i, k := range keys {
		r := rec(k, "name", "User "+k)
		if i%3 == 0 {
			r.Groups = []string{"g"}
		}
		cs = append(cs, createUser(r))
	}
	e.applyMany(cs)
	e.putUser(rec("hand-made", "name", "By hand")) // listed too, unmanaged
	got, _ := e.digests(dl)
	want := append(slices.Clone(keys), "hand-made")
	slices.Sort(want)
	var gotKeys []string
	for _, d := range collect(e.t, dl.Digests(e.ctx), "DigestLister.Digests") {
		gotKeys = append(gotKeys, d.Key)
	}
	require.Equal(e.t, want, gotKeys, "Digests must list every user in byte order of key")
	require.Len(e.t, got, len(want))
	// Stopping early is fine.
	for range dl.Digests(e.ctx) {
		break
	}
	// A canceled listing fails with the ctx's error.
	_, err := firstError(e.t, dl.Digests(canceled(e.ctx)), func() {})
	require.ErrorIs(e.t, err, context.Canceled, "Digests with a canceled ctx")
}

// testDigestsTrackChanges applies every kind of change and checks, after
// each, that the digests of exactly the users that changed changed, and
// still match Users.
func testDigestsTrackChanges(e *env) {
	dl := e.digestLister()
	before, beforeUsers := e.digests(dl)
	step := func(what string, apply func()) {
		e.t.Helper()
		apply()
		after, afterUsers := e.digests(dl)
		again, _ := e.digests(dl)
		for k, d := range after {
			require.True(e.t, sameDigest(d, again[k]), "%s: user %q: two listings with no change between must give the same digests", what, k)
			b, ok := before[k]
			if !ok {
				continue
			}
			same := comparableUsers([]usersync.Record{beforeUsers[k]})[0].equal(comparableUsers([]usersync.Record{afterUsers[k]})[0])
			switch {
			case !same:
				require.False(e.t, sameDigest(b, d), "%s: user %q changed, its digests must too", what, k)
			case b.Known && d.Known:
				require.True(e.t, sameDigest(b, d), "%s: user %q did not change, nor may its Known digests", what, k)
			}
		}
		before, beforeUsers = after, afterUsers
	}
	ann := ann()
	step("CreateGroup", func() { e.apply(annGroups()...) })
	step("CreateUser", func() { e.apply(createUser(ann)) })
	step("CreateUser of another", func() { e.apply(createUser(rec("E1002", "name", "Bo Ek"))) })
	later := rec("E1001", "title", "Head nurse")
	step("UpdateUser", func() { e.apply(change(usersync.UpdateUser, later, "title")) })
	step("UpdateUser to the same value", func() { e.apply(change(usersync.UpdateUser, later, "title")) })
	step("UpdateUser removing an attribute", func() { e.apply(change(usersync.UpdateUser, rec("E1001"), "email")) })
	step("leave a group", func() { e.apply(memberships(change(usersync.UpdateUser, rec("E1001")), nil, []string{"nurses"})) })
	step("join a group", func() { e.apply(memberships(change(usersync.UpdateUser, rec("E1002")), []string{"nurses"}, nil)) })
	step("leave every group", func() {
		e.apply(memberships(change(usersync.UpdateUser, rec("E1001")), nil, []string{"ward-3"}))
	})
	step("RenameGroup", func() { e.apply(renameGroup("nurses", "Nurses and carers")) })
	step("DeactivateUser", func() { e.apply(change(usersync.DeactivateUser, rec("E1001"))) })
	step("MarkMissing", func() { e.apply(markMissing("E1001", 2, since)) })
	step("MarkMissing again", func() { e.apply(markMissing("E1001", 3, since)) })
	step("RestoreUser", func() { e.apply(change(usersync.RestoreUser, rec("E1001"))) })
	step("put a user by hand", func() { e.putUser(rec("root", "name", "Site Admin")) })
	step("AdoptUser", func() {
		r := rec("E1009", "name", "Site Admin")
		r.Groups = []string{"ward-3"}
		e.apply(adopt(r, "root", "name"))
	})
	step("re-key with OldKey", func() {
		e.apply(rekeyed(change(usersync.UpdateUser, rec("E1010", "name", "Site Admin")), "E1009"))
	})
	step("CreateUser over an existing user", func() {
		r := rec("E1002", "name", "Bo Ek", "email", "bo@example.com")
		r.Inactive = true
		e.apply(memberships(createUser(r), []string{"ward-3"}, []string{"nurses"}))
	})
	step("DeleteUser", func() { e.apply(deleteUser("E1002")) })
	step("CreateUser after DeleteUser", func() { e.apply(createUser(rec("E1002", "name", "Bo Ek"))) })
	if ba, ok := e.sink.(usersync.BatchApplier); ok {
		step("ApplyBatch", func() {
			errs := ba.ApplyBatch(e.ctx, batchPlan())
			require.Len(e.t, errs, len(batchPlan()))
		})
		step("ApplyBatch of many", func() {
			var cs []usersync.Change
			for i := range 300 {
				r := rec(workerUser(9, i).Key, "name", "Many")
				if i%2 == 0 {
					r.Groups = []string{"nurses"}
				}
				cs = append(cs, createUser(r))
			}
			for i := range 100 {
				cs = append(cs, change(usersync.UpdateUser, rec(workerUser(9, i).Key, "name", "Changed"), "name"))
			}
			e.applyMany(cs)
		})
	}
}

func (c comparableUser) equal(d comparableUser) bool {
	return c.Key == d.Key && c.Inactive == d.Inactive && c.Managed == d.Managed && c.MissingRuns == d.MissingRuns &&
		c.MissingSince == d.MissingSince && slices.Equal(c.Groups, d.Groups) && mapsEqual(c.Attrs, d.Attrs)
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func testLookupUsers(e *env) {
	dl := e.digestLister()
	e.apply(annGroups()...)
	keys := e.distinctKeys([]string{"a", "A", "ab", "abc", "ä", "b", "日本", "E1001"})
	var cs []usersync.Change
	for _, k := range keys {
		r := rec(k, "name", "User "+k)
		if k == "ab" {
			r.Groups = []string{"nurses", "ward-3"}
		}
		cs = append(cs, createUser(r))
	}
	e.applyMany(cs)
	e.putUser(rec("hand", "name", "By hand"))
	_, users := e.digests(dl)

	ask := []string{"", "A", "a", "aa", "ab", "abc", "abcd", "hand", "nobody", "ä", "日", "日本"}
	slices.Sort(ask)
	var want []usersync.Record
	for _, k := range ask {
		if r, ok := users[k]; ok {
			want = append(want, r)
		}
	}
	got := collect(e.t, dl.LookupUsers(e.ctx, ask), "DigestLister.LookupUsers")
	require.Equal(e.t, comparableUsersInOrder(want), comparableUsersInOrder(got), "LookupUsers must yield the held users asked for, in the order asked, as Users lists them")
	require.Empty(e.t, collect(e.t, dl.LookupUsers(e.ctx, nil), "LookupUsers of no keys"))
	require.Empty(e.t, collect(e.t, dl.LookupUsers(e.ctx, []string{"x", "y"}), "LookupUsers of absent keys"))

	// Many keys, more than a statement binds at once on some databases.
	var many []usersync.Change
	for i := range 2500 {
		many = append(many, createUser(rec(workerUser(7, i).Key, "name", "Many")))
	}
	e.applyMany(many)
	_, users = e.digests(dl)
	all := make([]string, 0, len(users))
	for k := range users {
		all = append(all, k)
	}
	slices.Sort(all)
	got = collect(e.t, dl.LookupUsers(e.ctx, all), "LookupUsers of every user")
	require.Len(e.t, got, len(all))
	for i, r := range got {
		require.Equal(e.t, all[i], r.Key, "LookupUsers must yield users in the order of keys")
	}
	for range dl.LookupUsers(e.ctx, all) {
		break // stopping early is fine
	}
	_, err := firstError(e.t, dl.LookupUsers(canceled(e.ctx), all), func() {})
	require.ErrorIs(e.t, err, context.Canceled, "LookupUsers with a canceled ctx")

	lookupDuringListing(e, dl, all)
}

// lookupDuringListing calls LookupUsers from another goroutine while a
// listing of Digests is under way, as the default Reconciler does. The
// lookup may wait for the listing to end (a pool of one connection), not
// fail.
func lookupDuringListing(e *env, dl usersync.DigestLister, keys []string) {
	type result struct {
		users []usersync.Record
		err   error
	}
	done := make(chan result, 1)
	listed := 0
	for _, err := range dl.Digests(e.ctx) {
		require.NoError(e.t, err, "DigestLister.Digests")
		if listed++; listed == 1 {
			go func() {
				var r result
				for u, err := range dl.LookupUsers(e.ctx, keys) {
					if err != nil {
						r.err = err
						break
					}
					r.users = append(r.users, u)
				}
				done <- r
			}()
		}
	}
	select {
	case r := <-done:
		require.NoError(e.t, r.err, "LookupUsers during a listing of Digests")
		require.Len(e.t, r.users, len(keys), "LookupUsers during a listing of Digests")
	case <-time.After(time.Minute):
		e.t.Fatal("LookupUsers during a listing of Digests did not end a minute after the listing")
	}
}

// comparableUsersInOrder is comparableUsers keeping the order of rs.
func comparableUsersInOrder(rs []usersync.Record) []comparableUser {
	out := make([]comparableUser, 0, len(rs))
	for _, r := range rs {
		out = append(out, comparableUsers([]usersync.Record{r})...)
	}
	return out
}

// testDigestsDrift changes users by hand, through a Drifter, and checks
// that the digests follow.
func testDigestsDrift(e *env) {
	dl := e.digestLister()
	dr, ok := e.h.(Drifter)
	if !ok {
		e.t.Skip("the Harness is not a sinktest.Drifter")
	}
	e.apply(annGroups()...)
	ann := ann()
	bo := rec("E1002", "name", "Bo Ek", "title", "Porter")
	bo.Groups = []string{"ward-3"}
	e.apply(createUser(ann), createUser(bo))
	for _, d := range []Drift{
		{Kind: DriftAttr, Key: "E1001", Name: "title", Value: "Surgeon"},
		{Kind: DriftAttr, Key: "E1001", Name: "title", Value: "Nurse again"},
		{Kind: DriftAttr, Key: "E1002", Name: "email", Value: "bo@example.com"},
		{Kind: DriftLeave, Key: "E1001", Name: "nurses"},
		{Kind: DriftInactive, Key: "E1002", Inactive: true},
		{Kind: DriftInactive, Key: "E1002", Inactive: false},
	} {
		before, beforeUsers := e.digests(dl)
		fp, err := usersync.ListFingerprint(e.ctx, dl)
		require.NoError(e.t, err)
		require.NoError(e.t, dr.Drift(e.ctx, d), "Drifter.Drift(%+v)", d)
		after, afterUsers := e.digests(dl)
		require.NotEqual(e.t, comparableUsers([]usersync.Record{beforeUsers[d.Key]}), comparableUsers([]usersync.Record{afterUsers[d.Key]}),
			"Drift(%+v) must change the user as Users lists it", d)
		got := after[d.Key]
		require.False(e.t, sameDigest(before[d.Key], got), "Drift(%+v): the digests must change", d)
		if got.Known {
			r := afterUsers[d.Key]
			require.Equal(e.t, usersync.DigestUser(&r), got, "Drift(%+v): a Known digest must be that of the user as it now is", d)
		}
		for k, b := range before {
			if k != d.Key && b.Known && after[k].Known {
				require.True(e.t, sameDigest(b, after[k]), "Drift(%+v) changed the digests of user %q, which it did not touch", d, k)
			}
		}
		fp2, err := usersync.ListFingerprint(e.ctx, dl)
		require.NoError(e.t, err)
		require.NotEqual(e.t, fp, fp2, "Drift(%+v): ListFingerprint must change", d)
		fp3, err := usersync.ListFingerprint(e.ctx, dl)
		require.NoError(e.t, err)
		require.Equal(e.t, fp2, fp3, "Drift(%+v): ListFingerprint must be the same twice with no change between", d)
	}
	// A change through the Sink writes the user again: its digests are
	// then those of the user it wrote, if Known.
	e.apply(memberships(change(usersync.UpdateUser, rec("E1001", "title", "Nurse")), []string{"nurses"}, nil))
	e.apply(change(usersync.UpdateUser, rec("E1002", "name", "Bo Ek Jr"), "name"))
	e.digests(dl)
}

// A CaseFolder is a Harness whose store takes two keys that differ only in
// case for one user, as SCIM servers compare userName: the cases then
// create no two such users.
type CaseFolder interface {
	FoldsCase() bool
}

// distinctKeys returns keys, less those that differ only in case from an
// earlier one when the Harness is a CaseFolder that folds case.
func (e *env) distinctKeys(keys []string) []string {
	if f, ok := e.h.(CaseFolder); !ok || !f.FoldsCase() {
		return keys
	}
	seen := make(map[string]bool)
	var out []string
	for _, k := range keys {
		if l := strings.ToLower(k); !seen[l] {
			seen[l] = true
			out = append(out, k)
		}
	}
	return out
}

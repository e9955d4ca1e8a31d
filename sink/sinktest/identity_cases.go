package sinktest

import (
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
)

// The cases of the changes that carry a user's identity across keys and
// runs: adoption, re-keying, the missing marker and group renames.

// since is a missing marker's time, in Unix seconds.
const since = 1_790_000_000

func testAdopt(e *env) {
	e.apply(annGroups()...)
	// An administrator created Ann by hand, under a key of the Sink's own,
	// with a phone number the feed does not map.
	byHand := rec("m-17", "name", "Ann", "email", "ann@example.com", "phone", "+46 70 123")
	byHand.Groups = []string{"nurses"}
	byHand.MissingRuns, byHand.MissingSince = 2, since // cleared by the adoption
	e.putUser(byHand)

	c := adopt(ann(), "m-17", "name", "email", "title")
	c.Invite = usersync.InviteAuto
	e.apply(c)
	want := managed(ann())
	want.Attrs = usersync.NewAttrs("name", "Ann Berg", "email", "ann@example.com", "title", "Nurse", "phone", "+46 70 123")
	e.requireUsers(want)
	e.apply(c) // idempotent: the user is under its new key now
	e.requireUsers(want)

	// Adopting under the user's own key, as the feed says: inactive.
	e.putUser(rec("E1002", "name", "Bo"))
	bo := rec("E1002", "name", "Bo Ek")
	bo.Inactive = true
	e.apply(adopt(bo, "", "name"))
	e.requireUsers(want, managed(bo))
}

func testAdoptMissing(e *env) {
	e.apply(createUser(rec("E1", "name", "One")))
	for _, old := range []string{"", "m-404"} {
		err := e.sink.Apply(e.ctx, adopt(rec("E404", "name", "Nobody"), old, "name"))
		require.ErrorIs(e.t, err, usersync.ErrNotFound, "AdoptUser of a user the Sink does not hold (OldKey %q)", old)
	}
	e.requireUsers(managed(rec("E1", "name", "One")))
}

func testRekey(e *env) {
	e.apply(annGroups()...)
	e.apply(createUser(ann()))

	// The feed gives Ann a new key; her email found her.
	renamed := ann()
	renamed.Key = "E2001"
	renamed.Attrs = usersync.NewAttrs("name", "Ann Berg", "email", "ann@example.com", "title", "Head nurse")
	c := rekeyed(memberships(change(usersync.UpdateUser, renamed, "title"), nil, []string{"ward-3"}), "E1001")
	e.apply(c)
	want := managed(renamed)
	want.Groups = []string{"nurses"}
	e.requireUsers(want)
	e.apply(c) // idempotent
	e.requireUsers(want)

	// Deactivating and restoring re-key too.
	want.Key = "E3001"
	e.apply(rekeyed(change(usersync.DeactivateUser, rec("E3001")), "E2001"))
	want.Inactive = true
	e.requireUsers(want)
	want.Key = "E4001"
	e.apply(rekeyed(change(usersync.RestoreUser, rec("E4001")), "E3001"))
	want.Inactive = false
	e.requireUsers(want)
}

func testRekeyTaken(e *env) {
	one, two := rec("E1", "name", "One"), rec("E2", "name", "Two")
	e.apply(createUser(one), createUser(two))
	e.putUser(rec("m-1", "name", "By hand"))
	for _, c := range []usersync.Change{
		rekeyed(change(usersync.UpdateUser, rec("E2", "name", "One"), "name"), "E1"),
		adopt(rec("E2", "name", "By hand"), "m-1", "name"),
	} {
		require.Error(e.t, e.sink.Apply(e.ctx, c), "%v onto a key another user holds", c)
	}
	e.requireUsers(managed(one), managed(two), rec("m-1", "name", "By hand"))
}

func testMissingMarker(e *env) {
	one := managed(rec("E1", "name", "One"))
	e.apply(createUser(one))
	marked := func(runs uint16, inactive bool) usersync.Record {
		r := one
		r.MissingRuns, r.Inactive = runs, inactive
		if runs > 0 {
			r.MissingSince = since
		}
		return r
	}

	e.apply(markMissing("E1", 1, since), markMissing("E1", 1, since)) // idempotent
	e.requireUsers(marked(1, false))
	e.apply(markMissing("E1", 2, since))
	e.requireUsers(marked(2, false))
	if l, ok := e.sink.(usersync.Lister); ok {
		requireSameUsers(e.t, []usersync.Record{marked(2, false)}, collect(e.t, l.Users(e.ctx), "Lister.Users"), "Lister.Users")
	}

	// Updating and deactivating keep the marker; restoring clears it.
	e.apply(change(usersync.UpdateUser, rec("E1", "name", "One"), "name"), change(usersync.DeactivateUser, rec("E1")))
	e.requireUsers(marked(2, true))
	e.apply(change(usersync.RestoreUser, rec("E1")))
	e.requireUsers(marked(0, false))

	// A zero marker clears it, and so does a create.
	e.apply(markMissing("E1", 1, since), markMissing("E1", 0, 0))
	e.requireUsers(marked(0, false))
	e.apply(markMissing("E1", 3, since), createUser(rec("E1", "name", "One")))
	e.requireUsers(marked(0, false))

	require.NoError(e.t, e.sink.Apply(e.ctx, markMissing("E404", 1, since)), "MarkMissing of a user the Sink does not hold")
	e.requireUsers(marked(0, false))

	// The harness stores a marker too, so that a run can start from one.
	e.putUser(marked(4, true))
	e.requireUsers(marked(4, true))
}

func testRenameGroup(e *env) {
	e.apply(createGroup("ward-3", "Ward 3"))
	r := rec("E1001", "name", "Ann Berg")
	r.Groups = []string{"ward-3"}
	e.apply(createUser(r))
	e.apply(renameGroup("ward-3", "Ward three"), renameGroup("ward-3", "Ward three")) // idempotent
	e.requireGroups(usersync.Group{ID: "ward-3", Name: "Ward three"})
	e.requireUsers(managed(r)) // the members stay

	err := e.sink.Apply(e.ctx, renameGroup("no-such-group", "Nobody"))
	require.ErrorIs(e.t, err, usersync.ErrNotFound, "RenameGroup of a group the Sink does not hold")
	e.requireGroups(usersync.Group{ID: "ward-3", Name: "Ward three"})
}

package sinktest

import (
	"slices"

	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
)

// testGroupLinks checks, for a Sink whose Lister is a usersync.GroupLinker,
// that CreateGroup and RenameGroup store a group's Parent and Account,
// that they are listed, and that a group seeded with them by hand lists
// them too.
func testGroupLinks(e *env) {
	l := e.lister()
	if !usersync.LinksGroups(l) {
		e.t.Skip("the Sink does not store groups' Parent and Account (usersync.GroupLinker)")
	}
	staff := usersync.Group{ID: "staff", Name: "Staff", Account: "acme"}
	nurses := usersync.Group{ID: "nurses", Name: "Nurses", Parent: "staff", Account: "acme"}
	e.apply(usersync.Change{Kind: usersync.CreateGroup, Group: staff}, usersync.Change{Kind: usersync.CreateGroup, Group: nurses})
	e.apply(usersync.Change{Kind: usersync.CreateGroup, Group: nurses}) // idempotent
	e.putGroup(usersync.Group{ID: "night", Name: "Night shift", Parent: "nurses"})
	night := usersync.Group{ID: "night", Name: "Night shift", Parent: "nurses"}
	e.requireGroups(staff, nurses, night)
	requireListedGroups(e, l, staff, nurses, night)

	// RenameGroup sets the links; CreateGroup of a held group too.
	nurses.Parent, nurses.Account = "", "globex"
	night.Name, night.Parent = "Nights", "staff"
	e.apply(usersync.Change{Kind: usersync.RenameGroup, Group: nurses}, usersync.Change{Kind: usersync.CreateGroup, Group: night})
	e.requireGroups(staff, nurses, night)
	requireListedGroups(e, l, staff, nurses, night)
}

// requireListedGroups requires l to list exactly the groups want.
func requireListedGroups(e *env, l usersync.Lister, want ...usersync.Group) {
	e.t.Helper()
	var got []usersync.Group
	for g, err := range l.Groups(e.ctx) {
		require.NoError(e.t, err, "Groups")
		got = append(got, g)
	}
	requireSameGroups(e.t, want, slices.Clip(got), "groups listed")
}

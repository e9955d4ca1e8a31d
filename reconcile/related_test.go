package reconcile_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/reconcile"
)

// linking is a Sink's state whose Lister stores groups' Parent and Account.
type linking struct{ *state }

func (linking) LinksGroups() bool { return true }

// treeFeed joins e1 to icu, whose parents nurses and staff the feed's
// groups file lists, and lists old, which the Sink holds with other links.
func treeFeed() *usersync.Feed {
	return &usersync.Feed{
		Records: []usersync.Record{row("e1", "Ann", "ann@x", 2, "icu")},
		Groups: []usersync.Group{
			{ID: "staff", Name: "Staff", Account: "acme"},
			{ID: "nurses", Name: "Nurses", Parent: "staff", Account: "acme"},
			{ID: "icu", Name: "ICU", Parent: "nurses"},
			{ID: "old", Name: "Old"},
		},
	}
}

func planLinked(t *testing.T, feed *usersync.Feed, cur linking) *usersync.Plan {
	t.Helper()
	feed.Time = now
	pl, err := reconcile.New(nil).Reconcile(context.Background(), feed, cur)
	require.NoError(t, err)
	return pl
}

var oldGroup = usersync.Group{ID: "old", Name: "Old", Parent: "staff", Account: "acme"}

func TestGroups_ParentsAndAccountsOnASinkThatLinksGroups(t *testing.T) {
	p := planLinked(t, treeFeed(), linking{&state{groups: []usersync.Group{oldGroup}}})
	assert.Equal(t, []string{"create-group icu", "create-group nurses", "create-group staff", "rename-group old", "create e1"}, kinds(p),
		"the parents of a new group are created too")
	assert.Equal(t, usersync.Group{ID: "icu", Name: "ICU", Parent: "nurses"}, synctest.Changes(t, p)[0].Group)
	assert.Equal(t, usersync.Group{ID: "staff", Name: "Staff", Account: "acme"}, synctest.Changes(t, p)[2].Group)
	assert.Equal(t, usersync.Group{ID: "old", Name: "Old"}, synctest.Changes(t, p)[3].Group, "a changed parent and account is an update")

	p = planLinked(t, treeFeed(), linking{&state{groups: []usersync.Group{
		{ID: "icu", Name: "ICU", Parent: "nurses"}, {ID: "nurses", Name: "Nurses", Parent: "staff", Account: "acme"},
		{ID: "old", Name: "Old"},
	}}})
	assert.Equal(t, []string{"create e1"}, kinds(p), "nothing changed: the Sink holds a parent of the new group's")
}

func TestGroups_ParentsAndAccountsLeftOutOnOtherSinks(t *testing.T) {
	p := planFeed(t, nil, treeFeed(), &state{groups: []usersync.Group{{ID: "old", Name: "Old"}}})
	assert.Equal(t, []string{"create-group icu", "create e1"}, kinds(p))
	assert.Equal(t, usersync.Group{ID: "icu", Name: "ICU"}, synctest.Changes(t, p)[0].Group, "no links for a Sink that does not keep them")
}

func TestFragments_AddGroupsToTheirUsers(t *testing.T) {
	frag := func(key string, line int, groups ...string) usersync.Record {
		return usersync.Record{Key: key, Groups: groups, Fragment: true, Origin: usersync.Position{File: "members.csv", Line: line}}
	}
	noGroups := row("e2", "Bo", "bo@x", 3)
	noGroups.Groups = nil
	feed := &usersync.Feed{Records: []usersync.Record{
		row("e1", "Ann", "ann@x", 2, "nurses"), noGroups,
		frag("e1", 2, "icu"), frag("e1", 3, "nurses"),
	}}
	p := planFeed(t, nil, feed, &state{
		users:  []usersync.Record{managed("e2", "Bo", "bo@x", "icu")},
		groups: []usersync.Group{{ID: "icu"}, {ID: "nurses"}},
	})
	require.Equal(t, []string{"create e1", "update e2"}, kinds(p))
	assert.Equal(t, []string{"icu", "nurses"}, synctest.Changes(t, p)[0].Join)
	assert.Equal(t, []string{"icu"}, synctest.Changes(t, p)[1].Leave, "with a memberships file, a user without rows in it is in no group")
	assert.Empty(t, p.Rejected, "fragments are no duplicates of their users")
}

func TestWriteDiffShowsGroupLinks(t *testing.T) {
	p := planLinked(t, treeFeed(), linking{&state{groups: []usersync.Group{oldGroup}}})
	var b strings.Builder
	require.NoError(t, reconcile.WriteDiff(&b, p))
	assert.Contains(t, b.String(), `+ create-group nurses "Nurses" parent="staff" account="acme"`)
	assert.Contains(t, b.String(), "~ rename-group old \"Old\"\n", "links cleared")
}

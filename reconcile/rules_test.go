package reconcile_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/reconcile"
)

// The table tests here are named after the rules of the policy they check.

func TestOwnership_ManualUsersAreNeverTouched(t *testing.T) {
	// The feed's e1 has another email than the user created by hand under
	// the same key: the key alone does not adopt.
	p := plan(t, &reconcile.Policy{Absent: reconcile.Delete},
		[]usersync.Record{row("e1", "Ann Changed", "ann@y", 2)},
		&state{users: []usersync.Record{manual("e1", "Ann", "ann@x"), manual("m9", "Temp", "temp@x")}})
	assert.Empty(t, synctest.Changes(t, p), "a manual user is neither updated, nor recreated, nor deleted")
	assert.Equal(t, 1, p.Manual)
	assert.Equal(t, 0, p.Population)
}

func TestOwnership_RowMatchingManualUserByEmailAdoptsIt(t *testing.T) {
	byHand := manual("m-17", "Ann", "Ann@X", "admins", "nurses")
	byHand.Attrs = usersync.NewAttrs("name", "Ann", "email", "Ann@X", "phone", "+46 70 123")
	p := plan(t, &reconcile.Policy{Invite: usersync.InviteAuto},
		[]usersync.Record{row("E1001", "Ann Berg", "ann@x", 2, "nurses", "ward-3")},
		&state{users: []usersync.Record{byHand}, groups: []usersync.Group{{ID: "admins"}, {ID: "nurses"}, {ID: "ward-3"}}})
	c := only(t, p)
	assert.Equal(t, usersync.AdoptUser, c.Kind, "Cosafe's rule: the email matched, case aside")
	assert.Equal(t, "m-17", c.OldKey, "the Sink learns which user it is")
	assert.Equal(t, "E1001", c.User.Key)
	assert.Equal(t, []string{"name", "email"}, c.Attrs, "the row's attributes replace the user's; the others stay")
	assert.Equal(t, map[string]string{"name": "Ann", "email": "Ann@X"}, c.Before.Map())
	assert.Equal(t, []string{"ward-3"}, c.Join)
	assert.Equal(t, []string{"admins"}, c.Leave, "managed groups follow the feed from now on")
	assert.Equal(t, usersync.InviteAuto, c.Invite)
	assert.Equal(t, 1, p.Counts().Adopted)
	assert.Equal(t, 0, p.Manual)
}

func TestOwnership_ManualUserWithTheRowsKeyAndEmailIsAdopted(t *testing.T) {
	c := only(t, plan(t, nil, []usersync.Record{row("e1", "Ann Berg", "ann@x", 2)},
		&state{users: []usersync.Record{manual("e1", "Ann", "ann@x")}}))
	assert.Equal(t, usersync.AdoptUser, c.Kind)
	assert.Empty(t, c.OldKey)
}

func TestOwnership_AdoptionNeedsAnAdoptingKey(t *testing.T) {
	keys := []reconcile.MatchKey{{}, {Attr: "email", IgnoreCase: true}} // email matches, but does not adopt
	p := plan(t, &reconcile.Policy{MatchKeys: keys}, []usersync.Record{row("E1001", "Ann Berg", "ann@x", 2)},
		&state{users: []usersync.Record{manual("m-17", "Ann", "ann@x")}})
	assert.Empty(t, synctest.Changes(t, p), "the user is left alone, and the row creates nobody")
	assert.Equal(t, 1, p.Manual)
}

func TestMatchKeys_KeyChangeIsNotDeleteAndCreate(t *testing.T) {
	p := plan(t, nil, []usersync.Record{row("E2001", "Ann Berg", "ANN@x", 2), row("E1002", "Bo", "bo@x", 3)},
		&state{users: []usersync.Record{managed("E1001", "Ann Berg", "ann@x"), managed("E1002", "Bo", "bo@x")}})
	c := only(t, p)
	assert.Equal(t, usersync.UpdateUser, c.Kind)
	assert.Equal(t, "E1001", c.OldKey)
	assert.Equal(t, "E2001", c.User.Key)
	assert.Equal(t, []string{"email"}, c.Attrs, "the case of the address is the feed's")
	assert.Equal(t, "update E2001 (was E1001)", c.String())
	assert.Equal(t, 1, p.Unchanged)
}

func TestMatchKeys_PrecedenceIsConfigurable(t *testing.T) {
	// Email first: Ann is found by her address, whatever her key.
	keys := []reconcile.MatchKey{{Attr: "email", IgnoreCase: true, Adopt: true}, {}}
	p := plan(t, &reconcile.Policy{MatchKeys: keys},
		[]usersync.Record{row("E9", "Ann", "ann@x", 2), row("E2", "Bo", "bo@x", 3)},
		&state{users: []usersync.Record{managed("E1", "Ann", "ann@x"), managed("E2", "Bo", "bo@old")}})
	assert.Equal(t, []string{"update E9 (was E1)", "update E2"}, kinds(p), "Bo's address changed: the key still finds him")
}

func TestMatchKeys_NoneMeansTheDefault(t *testing.T) {
	p := plan(t, &reconcile.Policy{MatchKeys: []reconcile.MatchKey{}}, []usersync.Record{row("E2", "Ann", "ann@x", 2)},
		&state{users: []usersync.Record{managed("E1", "Ann", "ann@x")}})
	assert.Equal(t, []string{"update E2 (was E1)"}, kinds(p))
}

func TestMatchKeys_KeyIgnoringCase(t *testing.T) {
	keys := []reconcile.MatchKey{{IgnoreCase: true}}
	c := only(t, plan(t, &reconcile.Policy{MatchKeys: keys}, []usersync.Record{row("ab-1", "Ann", "ann@x", 2)},
		&state{users: []usersync.Record{managed("AB-1", "Ann", "ann@x")}}))
	assert.Equal(t, "update ab-1 (was AB-1)", c.String(), "the feed's spelling of the key wins")
}

func TestMatchKeys_AmbiguousMatchAppliesNothing(t *testing.T) {
	// Two users left over share the address the new row has: which one is
	// it? Neither is touched, and the row is held back with a warning.
	p := plan(t, nil, []usersync.Record{row("E3", "Ann", "ann@x", 2)},
		&state{users: []usersync.Record{manual("m1", "Ann", "ann@x"), manual("m2", "Ann B", "ann@x")}})
	assert.Empty(t, synctest.Changes(t, p))
	require.Len(t, p.Warnings, 1)
	assert.ErrorIs(t, p.Warnings[0], reconcile.ErrAmbiguousMatch)
	assert.Equal(t, "users.csv:2: column email: \"ann@x\": ambiguous match: the row is not applied", p.Warnings[0].Error())

	// A managed user is preferred over one created by hand.
	p = plan(t, nil, []usersync.Record{row("E3", "Ann", "ann@x", 2)},
		&state{users: []usersync.Record{manual("m1", "Ann", "ann@x"), managed("E1", "Ann", "ann@x")}})
	assert.Equal(t, []string{"update E3 (was E1)"}, kinds(p))

	// Two rows with one address that a leftover user has: neither row is
	// applied, and the user is not taken for a leaver.
	p = plan(t, nil, []usersync.Record{row("E3", "Ann", "ann@x", 2), row("E4", "Ann", "ann@x", 3)},
		&state{users: []usersync.Record{managed("E1", "Ann", "ann@x")}})
	assert.Empty(t, synctest.Changes(t, p))
	assert.Len(t, p.Warnings, 2)
}

func TestAttrRules(t *testing.T) {
	l := usersync.NewLayout("name", "email", "title", "phone2", "nick")
	feedRow := func(key, title, phone2, nick string) usersync.Record {
		return usersync.Record{Key: key, Attrs: l.Make([]string{"Ann", key + "@x", title, phone2, nick}),
			Origin: usersync.Position{File: "users.csv", Line: 2}}
	}
	current := managed("e1", "Ann", "e1@x")
	current.Attrs = usersync.NewAttrs("name", "Ann", "email", "e1@x", "title", "Nurse", "phone2", "+46 1", "nick", "Annie")
	rules := map[string]reconcile.AttrRule{
		"title": {Write: reconcile.OnCreate},
		"nick":  {Write: reconcile.Never},
	}
	for _, tc := range []struct {
		name        string
		rules       map[string]reconcile.AttrRule
		row         usersync.Record
		wantUpdated []string
	}{
		{"by default an empty value clears (Cosafe's secondary phone)", nil, feedRow("e1", "Nurse", "", "Annie"), []string{"phone2"}},
		{"KeepEmpty keeps the value", map[string]reconcile.AttrRule{"phone2": {KeepEmpty: true}}, feedRow("e1", "Nurse", "", "Annie"), nil},
		{"KeepEmpty still writes a value", map[string]reconcile.AttrRule{"phone2": {KeepEmpty: true}}, feedRow("e1", "Nurse", "+46 2", "Annie"), []string{"phone2"}},
		{"OnCreate is not updated", rules, feedRow("e1", "Head nurse", "+46 1", "Annie"), nil},
		{"Never is not updated", rules, feedRow("e1", "Nurse", "+46 1", "Ann-Marie"), nil},
		{"Always is", rules, feedRow("e1", "Head nurse", "+46 3", "Ann-Marie"), []string{"phone2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(t, &reconcile.Policy{Attrs: tc.rules}, []usersync.Record{tc.row}, &state{users: []usersync.Record{current}})
			if tc.wantUpdated == nil {
				assert.Empty(t, synctest.Changes(t, p))
				assert.Equal(t, 1, p.Unchanged)
				return
			}
			assert.Equal(t, tc.wantUpdated, only(t, p).Attrs)
		})
	}

	t.Run("a create writes OnCreate but not Never", func(t *testing.T) {
		c := only(t, plan(t, &reconcile.Policy{Attrs: rules}, []usersync.Record{feedRow("e2", "Nurse", "", "Annie")}, &state{}))
		assert.Equal(t, map[string]string{"name": "Ann", "email": "e2@x", "title": "Nurse", "phone2": ""}, c.User.Attrs.Map())
	})
}

// missingUser returns a managed user marked missing for runs runs since
// the given time.
func missingUser(key string, runs uint16, since time.Time, inactive bool) usersync.Record {
	u := managed(key, "N", key+"@x")
	u.MissingRuns, u.MissingSince, u.Inactive = runs, since.Unix(), inactive
	return u
}

func TestGrace(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		name  string
		grace reconcile.Grace
		abs   reconcile.Absent
		user  usersync.Record
		want  []string
		runs  uint16 // the marker a MarkMissing sets
	}{
		{"without grace the absent action is at once", reconcile.Grace{}, reconcile.Deactivate, managed("e2", "N", "e2@x"), []string{"deactivate e2"}, 0},
		{"the first missing run sets the marker", reconcile.Grace{Runs: 2}, reconcile.Deactivate, managed("e2", "N", "e2@x"), []string{"mark-missing e2"}, 1},
		{"each missing run counts", reconcile.Grace{Runs: 2}, reconcile.Deactivate, missingUser("e2", 1, now.Add(-day), false), []string{"mark-missing e2"}, 2},
		{"after the runs, the action", reconcile.Grace{Runs: 2}, reconcile.Delete, missingUser("e2", 2, now.Add(-2*day), false), []string{"delete e2"}, 0},
		{"a duration counts no runs", reconcile.Grace{For: 7 * day}, reconcile.Deactivate, missingUser("e2", 1, now.Add(-6*day), false), nil, 0},
		{"after the duration, the action", reconcile.Grace{For: 7 * day}, reconcile.Deactivate, missingUser("e2", 1, now.Add(-7*day), false), []string{"deactivate e2"}, 0},
		{"runs and duration must both pass", reconcile.Grace{Runs: 1, For: 7 * day}, reconcile.Deactivate, missingUser("e2", 3, now.Add(-day), false), []string{"mark-missing e2"}, 4},
		{"deactivate at once, delete later", reconcile.Grace{For: 30 * day, Deactivate: true}, reconcile.Delete, managed("e2", "N", "e2@x"), []string{"mark-missing e2", "deactivate e2"}, 1},
		{"deactivated during grace, deleted after", reconcile.Grace{For: 30 * day, Deactivate: true}, reconcile.Delete, missingUser("e2", 1, now.Add(-31*day), true), []string{"delete e2"}, 0},
		{"ignore marks nothing", reconcile.Grace{Runs: 2}, reconcile.Ignore, managed("e2", "N", "e2@x"), nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(t, &reconcile.Policy{Absent: tc.abs, Grace: tc.grace}, []usersync.Record{row("e1", "N", "e1@x", 2)},
				&state{users: []usersync.Record{managed("e1", "N", "e1@x"), tc.user}})
			assert.Equal(t, tc.want, kinds(p))
			for _, c := range synctest.Changes(t, p) {
				if c.Kind == usersync.MarkMissing {
					assert.Equal(t, tc.runs, c.User.MissingRuns)
					since := now.Unix()
					if tc.user.Missing() {
						since = tc.user.MissingSince
					}
					assert.Equal(t, since, c.User.MissingSince, "the marker keeps when the user went missing")
				}
			}
		})
	}
}

func TestGrace_UserBackIsRestoredWithTheSameIdentity(t *testing.T) {
	for _, tc := range []struct {
		name string
		user usersync.Record
		row  usersync.Record
		want []string
	}{
		{"back within the grace period", missingUser("e2", 1, now, false), row("e2", "N", "e2@x", 3), []string{"restore e2"}},
		{"back after deactivation", missingUser("e2", 3, now, true), row("e2", "N", "e2@x", 3), []string{"restore e2"}},
		{"back under a new key, found by email", missingUser("e2", 1, now, true), row("E9", "N", "e2@x", 3), []string{"restore E9 (was e2)"}},
		{"back, but inactive", missingUser("e2", 1, now, true), func() usersync.Record {
			r := row("e2", "N", "e2@x", 3)
			r.Inactive = true
			return r
		}(), []string{"mark-missing e2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(t, &reconcile.Policy{Grace: reconcile.Grace{Runs: 3}}, []usersync.Record{tc.row}, &state{users: []usersync.Record{tc.user}})
			assert.Equal(t, tc.want, kinds(p))
			if c := synctest.Changes(t, p)[0]; c.Kind == usersync.MarkMissing {
				assert.False(t, c.User.Missing(), "the marker is cleared")
			}
		})
	}
}

func TestGroups_NamedByTheFeedCreatedAndRenamed(t *testing.T) {
	feed := &usersync.Feed{
		Records: []usersync.Record{row("e1", "Ann", "ann@x", 2, "nurses", "ward-3")},
		Groups:  []usersync.Group{{ID: "nurses", Name: "Nurses"}, {ID: "ward-3", Name: "Ward three"}, {ID: "nurses", Name: "Other"}},
	}
	p := planFeed(t, nil, feed, &state{groups: []usersync.Group{{ID: "ward-3", Name: "Ward 3"}, {ID: "night", Name: "Night"}}})
	assert.Equal(t, []string{"create-group nurses", "rename-group ward-3", "create e1"}, kinds(p))
	assert.Equal(t, "Nurses", synctest.Changes(t, p)[0].Group.Name, "the first name a file gives")
	assert.Equal(t, "Ward three", synctest.Changes(t, p)[1].Group.Name)
}

func TestGroups_NoCreateGroupsLeavesUnknownGroupsOutWithAWarning(t *testing.T) {
	p := plan(t, &reconcile.Policy{NoCreateGroups: true},
		[]usersync.Record{row("e1", "Ann", "ann@x", 2, "nurses", "ward-3"), row("e2", "Bo", "bo@x", 3, "ward-3")},
		&state{users: []usersync.Record{managed("e2", "Bo", "bo@x")}, groups: []usersync.Group{{ID: "nurses"}}})
	assert.Equal(t, []string{"create e1"}, kinds(p), "Bo's only group does not exist: no change")
	assert.Equal(t, []string{"nurses"}, synctest.Changes(t, p)[0].Join)
	require.Len(t, p.Warnings, 2)
	assert.ErrorIs(t, p.Warnings[0], reconcile.ErrUnknownGroup)
	assert.Equal(t, 2, p.Warnings[0].Line)
	assert.Equal(t, "ward-3", p.Warnings[1].Value)
}

func TestGroups_MembershipsOutsideTheFeedAreKept(t *testing.T) {
	// Without a groups column the feed says nothing about groups; groups
	// without an external ID are not even listed by the Sink.
	r := row("e1", "Ann", "ann@x", 2)
	r.Groups = nil
	p := plan(t, nil, []usersync.Record{r}, &state{users: []usersync.Record{managed("e1", "Ann", "ann@x", "nurses")}})
	assert.Empty(t, synctest.Changes(t, p))
}

// accountRow is a row of an account's file.
func accountRow(file, key string, line int, groups ...string) usersync.Record {
	r := row(key, "N "+key, key+"@x", line, groups...)
	r.Origin.File = file
	if groups == nil {
		r.Groups = nil // the file has no groups column
	}
	return r
}

func accountsFeed(rows ...usersync.Record) *usersync.Feed {
	return &usersync.Feed{Records: rows, Files: []usersync.FileResult{
		{FileInfo: usersync.FileInfo{Name: "akron.csv"}}, {FileInfo: usersync.FileInfo{Name: "scranton.csv"}},
	}}
}

var accountsPolicy = reconcile.Policy{Accounts: []reconcile.Account{
	{File: "akron*.csv", Group: "akron", Name: "Akron Branch"},
	{File: "scranton*.csv", Group: "scranton"},
	{File: "stamford*.csv", Group: "stamford"},
}}

// akron is the Akron account's group, as the policy names it.
var akron = usersync.Group{ID: "akron", Name: "Akron Branch"}

func accountUser(key string, groups ...string) usersync.Record {
	return managed(key, "N "+key, key+"@x", groups...)
}

func TestAccounts_UserInSeveralFilesIsInEachAccount(t *testing.T) {
	p := planFeed(t, &accountsPolicy, accountsFeed(accountRow("akron.csv", "e1", 2), accountRow("scranton.csv", "e1", 2)),
		&state{groups: []usersync.Group{akron, {ID: "scranton", Name: "scranton"}}})
	c := only(t, p)
	assert.Equal(t, []string{"akron", "scranton"}, c.Join)
	assert.Empty(t, p.Rejected, "one user in two accounts' files is not a duplicate")
}

func TestAccounts_UserMissingFromOneAccountsFileLeavesThatAccountOnly(t *testing.T) {
	p := planFeed(t, &accountsPolicy, accountsFeed(accountRow("akron.csv", "e1", 2), accountRow("scranton.csv", "e2", 2)),
		&state{users: []usersync.Record{accountUser("e1", "akron", "scranton", "night"), accountUser("e2", "scranton")},
			groups: []usersync.Group{akron, {ID: "scranton"}, {ID: "night"}}})
	c := only(t, p)
	assert.Equal(t, "update e1", c.String())
	assert.Equal(t, []string{"scranton"}, c.Leave, "the files have no groups column: other groups stay")
	assert.Nil(t, c.Join)
}

func TestAccounts_NamedAccountGroupIsCreatedAndRenamed(t *testing.T) {
	p := planFeed(t, &accountsPolicy, accountsFeed(accountRow("akron.csv", "e1", 2), accountRow("scranton.csv", "e2", 2)),
		&state{groups: []usersync.Group{{ID: "akron", Name: "Akron"}}})
	assert.Equal(t, []string{"create-group scranton", "rename-group akron", "create e1", "create e2"}, kinds(p))
	assert.Equal(t, akron, synctest.Changes(t, p)[1].Group)
}

func TestAccounts_UserMissingFromEveryFileIsAbsent(t *testing.T) {
	p := planFeed(t, &accountsPolicy, accountsFeed(accountRow("akron.csv", "e1", 2)),
		&state{users: []usersync.Record{accountUser("e1", "akron"), accountUser("e2", "akron", "scranton"), accountUser("e3")}})
	assert.Equal(t, []string{"deactivate e2", "deactivate e3"}, kinds(p))
}

func TestAccounts_AccountWhoseFileDidNotArriveIsLeftAlone(t *testing.T) {
	p := planFeed(t, &accountsPolicy, accountsFeed(accountRow("akron.csv", "e1", 2)),
		&state{users: []usersync.Record{accountUser("e1", "akron", "stamford"), accountUser("e2", "stamford")}})
	assert.Empty(t, synctest.Changes(t, p), "no stamford file tonight: its members stay, and stay members")
}

func TestAccounts_GroupsColumnDecidesTheOtherGroups(t *testing.T) {
	p := planFeed(t, &accountsPolicy, accountsFeed(accountRow("akron.csv", "e1", 2, "night"), accountRow("scranton.csv", "e1", 5, "day")),
		&state{users: []usersync.Record{accountUser("e1", "akron", "weekend", "stamford")},
			groups: []usersync.Group{akron, {ID: "scranton"}, {ID: "night"}, {ID: "day"}, {ID: "weekend"}, {ID: "stamford"}}})
	c := only(t, p)
	assert.Equal(t, []string{"day", "night", "scranton"}, c.Join)
	assert.Equal(t, []string{"weekend"}, c.Leave)
}

// A user listed in a single file with a groups column leaves the other
// groups that column no longer names, as one listed in several does; e2's
// row, which planBothWays defers, too.
func TestAccounts_GroupsColumnOfOneRowDecidesTheOtherGroups(t *testing.T) {
	p := planBothWays(t, &accountsPolicy, []usersync.Record{accountRow("akron.csv", "e1", 2, "night"), accountRow("akron.csv", "e2", 3, "night")},
		&state{users: []usersync.Record{accountUser("e1", "akron", "weekend"), accountUser("e2", "akron", "weekend")},
			groups: []usersync.Group{akron, {ID: "night"}, {ID: "weekend"}}})
	cs := synctest.Changes(t, p)
	require.Len(t, cs, 2)
	for _, c := range cs {
		assert.Equal(t, []string{"night"}, c.Join, c.User.Key)
		assert.Equal(t, []string{"weekend"}, c.Leave, c.User.Key)
	}
}

func TestAccounts_RowsThatDisagreeWarn(t *testing.T) {
	other := accountRow("scranton.csv", "e1", 4)
	other.Attrs = layout.Make([]string{"Someone else", "e1@x"})
	p := planFeed(t, &accountsPolicy, accountsFeed(accountRow("akron.csv", "e1", 2), other), &state{groups: []usersync.Group{akron, {ID: "scranton"}}})
	assert.Equal(t, "N e1", only(t, p).User.Attrs.Value("name"), "the first file's row is used")
	require.Len(t, p.Warnings, 1)
	assert.ErrorIs(t, p.Warnings[0], reconcile.ErrRowsDiffer)
	assert.Equal(t, "scranton.csv:4: the user's row differs in another account's file: akron.csv:2 is used", p.Warnings[0].Error())
}

func TestAccounts_DuplicateInOneFileRejectsTheUsersRows(t *testing.T) {
	p := planFeed(t, &accountsPolicy, accountsFeed(accountRow("akron.csv", "e1", 2), accountRow("akron.csv", "e1", 3), accountRow("scranton.csv", "e1", 2)),
		&state{users: []usersync.Record{accountUser("e1", "akron")}})
	assert.Empty(t, synctest.Changes(t, p))
	assert.Len(t, p.Rejected, 3)
}

func TestAccounts_FileOfNoAccountFailsTheRun(t *testing.T) {
	feed := accountsFeed(accountRow("akron.csv", "e1", 2))
	feed.Files = append(feed.Files, usersync.FileResult{FileInfo: usersync.FileInfo{Name: "stray.csv"}})
	_, err := reconcile.New(&accountsPolicy).Reconcile(t.Context(), feed, &state{})
	assert.ErrorContains(t, err, "file stray.csv belongs to no account")
}

func TestAccounts_DeltaFilesNeverRemoveFromAnAccount(t *testing.T) {
	policy := accountsPolicy
	policy.Mode = reconcile.Delta
	p := planFeed(t, &policy, accountsFeed(accountRow("akron.csv", "e1", 2)),
		&state{users: []usersync.Record{accountUser("e1", "scranton"), accountUser("e2", "akron")}, groups: []usersync.Group{akron}})
	c := only(t, p)
	assert.Equal(t, []string{"akron"}, c.Join)
	assert.Nil(t, c.Leave)
}

func TestInvite_NewUsersCarryThePolicysChoice(t *testing.T) {
	for _, invite := range []usersync.Invite{usersync.InviteManual, usersync.InviteAuto} {
		p := plan(t, &reconcile.Policy{Invite: invite}, []usersync.Record{row("e1", "Ann", "ann@x", 2)}, &state{})
		assert.Equal(t, invite, only(t, p).Invite)
	}
}

// planBothWays plans from the Sink's full listing and from a merge with
// its digests (see usersync.DigestLister), once holding the rows that
// differ and once deferring all but one, requires the plans to be the
// same, and returns one.
func planBothWays(t *testing.T, p *reconcile.Policy, feed []usersync.Record, cur *state) *usersync.Plan {
	t.Helper()
	full := plan(t, p, feed, cur)
	want, err := json.Marshal(full)
	require.NoError(t, err)
	for _, r := range []*reconcile.Reconciler{reconcile.New(p), reconcile.WithRowLimit(reconcile.New(p), 1)} {
		merged, err := r.Reconcile(t.Context(), &usersync.Feed{Records: feed, Time: now},
			&digestListing{listing{cur.users, cur.groups}})
		require.NoError(t, err)
		got, err := json.Marshal(merged)
		require.NoError(t, err)
		require.JSONEq(t, string(want), string(got), "the plan made from digests")
		require.Equal(t, full.Warnings, merged.Warnings)
	}
	return full
}

// managerRow is a row with a manager reference.
func managerRow(key, manager string, line int) usersync.Record {
	return usersync.Record{Key: key, Attrs: managerLayout.Make([]string{"N " + key, key + "@x", manager}),
		Origin: usersync.Position{File: "users.csv", Line: line}}
}

var managerLayout = usersync.NewLayout("name", "email", "manager")

var byEmail = reconcile.Policy{Manager: reconcile.Manager{Attr: "manager", By: reconcile.MatchKey{Attr: "email", IgnoreCase: true}}}

func TestManagers_ReferenceToAUserInTheFileOrSinkIsSet(t *testing.T) {
	p := planBothWays(t, &byEmail, []usersync.Record{managerRow("e1", "BOSS@x", 2), managerRow("e2", "e1@x", 3)},
		&state{users: []usersync.Record{manual("boss", "Boss", "boss@x")}})
	assert.Equal(t, []string{"create e1", "create e2"}, kinds(p))
	assert.Equal(t, "BOSS@x", synctest.Changes(t, p)[0].User.Attrs.Value("manager"), "a user created by hand is a manager too")
	assert.Empty(t, p.Warnings)
}

// A reference that only a Sink user listed after the user it is set on
// resolves (a manager created by hand, whose key sorts after) is set as
// well as one that a user listed before resolves: the plan does not
// depend on the order the Sink lists its users in.
func TestManagers_ReferenceToAUserListedLaterIsSet(t *testing.T) {
	cur := managed("e1", "Old", "e1@x")
	boss := manual("zboss", "Boss", "boss@x")
	feed := []usersync.Record{managerRow("e1", "boss@x", 2)}
	for _, users := range [][]usersync.Record{{cur, boss}, {boss, cur}} {
		p := planBothWays(t, &byEmail, feed, &state{users: users})
		c := only(t, p)
		assert.Equal(t, "update e1", c.String())
		assert.Equal(t, []string{"name", "manager"}, c.Attrs, "listed %s first", users[0].Key)
		assert.Empty(t, p.Warnings)
	}
}

// A merge that defers rows and Sink users (planBothWays holds one row of
// each) resolves their references as one that holds them all: to a row
// (e), to a user created by hand that the merge deferred (zz), to the
// email a user the merge deferred has in the Sink though its row changes
// it (old-c), and to nobody (d's, which warns).
func TestManagers_DeferredRowsAndUsersResolveAsHeldOnes(t *testing.T) {
	var users []usersync.Record
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		email := k + "@x"
		if k == "c" {
			email = "old-c@x"
		}
		u := managed(k, "Old "+k, email)
		u.Attrs = usersync.NewAttrs("name", "Old "+k, "email", email, "manager", "")
		users = append(users, u)
	}
	users = append(users, manual("y", "Y", "y@x"), manual("zz", "Boss", "boss@x"))
	feed := []usersync.Record{
		managerRow("a", "boss@x", 2), managerRow("b", "old-c@x", 3), managerRow("c", "", 4),
		managerRow("d", "nobody@x", 5), managerRow("e", "a@x", 6),
	}
	p := planBothWays(t, &byEmail, feed, &state{users: users})
	got := make(map[string][]string)
	for _, c := range synctest.Changes(t, p) {
		got[c.User.Key] = c.Attrs
	}
	assert.Equal(t, map[string][]string{
		"a": {"name", "manager"}, "b": {"name", "manager"}, "c": {"name", "email"},
		"d": {"name"}, "e": {"name", "manager"},
	}, got)
	require.Len(t, p.Warnings, 1)
	assert.Equal(t, "d", p.Warnings[0].Key)
	assert.ErrorIs(t, p.Warnings[0], reconcile.ErrManagerNotFound)
}

func TestManagers_UnresolvedReferenceIsNotSavedAndWarns(t *testing.T) {
	cur := managed("e2", "N e2", "e2@x")
	cur.Attrs = usersync.NewAttrs("name", "N e2", "email", "e2@x", "manager", "old@x")
	p := planBothWays(t, &byEmail, []usersync.Record{managerRow("e1", "nobody@x", 2), managerRow("e2", "nobody@x", 3)},
		&state{users: []usersync.Record{cur}})
	c := only(t, p)
	assert.Equal(t, "create e1", c.String(), "e2 keeps the manager it had")
	assert.Equal(t, map[string]string{"name": "N e1", "email": "e1@x"}, c.User.Attrs.Map())
	require.Len(t, p.Warnings, 2)
	assert.Equal(t, `users.csv:2: column manager: "nobody@x": manager not found: the reference is not saved`, p.Warnings[0].Error())
	assert.ErrorIs(t, p.Warnings[1], reconcile.ErrManagerNotFound)
}

func TestManagers_InactiveNewRowWarnsOfAnUnresolvedReference(t *testing.T) {
	gone := managerRow("e2", "nobody@x", 3)
	gone.Inactive = true
	p := planBothWays(t, &byEmail, []usersync.Record{managerRow("e1", "", 2), gone}, &state{})
	assert.Equal(t, []string{"create e1"}, kinds(p), "an inactive row creates nobody")
	require.Len(t, p.Warnings, 1)
	assert.Equal(t, "e2", p.Warnings[0].Key)
	assert.ErrorIs(t, p.Warnings[0], reconcile.ErrManagerNotFound)
}

func TestManagers_ManagersAreCreatedBeforeTheirReports(t *testing.T) {
	byKey := reconcile.Policy{Manager: reconcile.Manager{Attr: "manager"}}
	p := planBothWays(t, &byKey, []usersync.Record{
		managerRow("e1", "e3", 2), managerRow("e2", "", 3), managerRow("e3", "e4", 4), managerRow("e4", "", 5),
	}, &state{})
	// Level by level, each in key order: e2 and e4 report to nobody
	// created, e3 to e4, e1 to e3.
	assert.Equal(t, []string{"create e2", "create e4", "create e3", "create e1"}, kinds(p))
}

func TestManagers_CycleSetsAManagerAfterEveryoneIsCreated(t *testing.T) {
	byKey := reconcile.Policy{Manager: reconcile.Manager{Attr: "manager"}}
	p := planBothWays(t, &byKey, []usersync.Record{managerRow("e1", "e2", 2), managerRow("e2", "e1", 3), managerRow("ceo", "ceo", 4)}, &state{})
	assert.Equal(t, []string{"create ceo", "create e2", "create e1", "update ceo", "update e2"}, kinds(p))
	assert.Equal(t, "", synctest.Changes(t, p)[1].User.Attrs.Value("manager"), "e2 is created before its manager")
	assert.Equal(t, []string{"manager"}, synctest.Changes(t, p)[4].Attrs)
	assert.Equal(t, "e1", synctest.Changes(t, p)[4].User.Attrs.Value("manager"))
}

func TestManagers_ReKeyedUserGetsANewManagerAfterItsCreation(t *testing.T) {
	byKey := reconcile.Policy{Manager: reconcile.Manager{Attr: "manager"}}
	cur := managed("old", "N e1", "e1@x")
	cur.Attrs = usersync.NewAttrs("name", "N e1", "email", "e1@x", "manager", "")
	p := planBothWays(t, &byKey, []usersync.Record{managerRow("e1", "e9", 2), managerRow("e9", "", 3)}, &state{users: []usersync.Record{cur}})
	assert.Equal(t, []string{"update e1 (was old)", "create e9", "update e1"}, kinds(p))
	assert.Nil(t, synctest.Changes(t, p)[0].Attrs)
	assert.Equal(t, []string{"manager"}, synctest.Changes(t, p)[2].Attrs)
	assert.Equal(t, map[string]string{"manager": ""}, synctest.Changes(t, p)[2].Before.Map())
}

// population returns n managed users, and a feed that keeps all but drop of them.
func population(n, drop int) ([]usersync.Record, *state) {
	cur := &state{}
	var feed []usersync.Record
	for i := range n {
		k := fmt.Sprintf("e%05d", i)
		cur.users = append(cur.users, managed(k, "N", k+"@x"))
		if i >= drop {
			feed = append(feed, row(k, "N", k+"@x", i+2))
		}
	}
	return feed, cur
}

func TestGuards_Removals(t *testing.T) {
	for _, tc := range []struct {
		name      string
		n, drop   int
		guard     reconcile.Guard
		held      bool
		wantLimit string
	}{
		{"10% of 100 is allowed", 100, 10, reconcile.Guard{}, false, ""},
		{"11% of 100 is held", 100, 11, reconcile.Guard{}, true, "10% of 100 (10)"},
		{"below the minimum population only Max applies", 40, 30, reconcile.Guard{}, false, ""},
		{"more than Max is held", 6000, 501, reconcile.Guard{}, true, "500"},
		{"own percentage", 100, 30, reconcile.Guard{Percent: 25}, true, "25% of 100 (25)"},
		{"percentage off", 100, 30, reconcile.Guard{Percent: -1}, false, ""},
		{"max off", 10000, 900, reconcile.Guard{Max: -1}, false, ""},
		{"own min population", 40, 30, reconcile.Guard{MinPopulation: 10}, true, "10% of 40 (4)"},
		{"disabled", 100, 100, reconcile.Guard{Disabled: true}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			feed, cur := population(tc.n, tc.drop)
			if len(feed) == 0 {
				feed = []usersync.Record{row("new", "N", "new@x", 2)}
			}
			p := plan(t, &reconcile.Policy{RemoveGuard: tc.guard}, feed, cur)
			assert.Equal(t, tc.drop, p.Counts().Deactivated, "the plan is complete even when held")
			if !tc.held {
				assert.Nil(t, p.Hold)
				return
			}
			var ge *usersync.GuardError
			require.ErrorAs(t, p.Hold, &ge)
			assert.ErrorIs(t, p.Hold, usersync.ErrGuardTripped)
			assert.Equal(t, tc.drop, ge.Count)
			assert.Equal(t, tc.n, ge.Population)
			assert.Equal(t, tc.wantLimit, ge.Limit)
		})
	}
}

// changed returns a feed of n users of which the first k changed, and the
// Sink of n users.
func changed(n, k int) ([]usersync.Record, *state) {
	feed, cur := population(n, 0)
	for i := range k {
		feed[i].Attrs = layout.Make([]string{"Changed", feed[i].Key + "@x"})
	}
	return feed, cur
}

func TestGuards_UpdatesAndCreates(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy reconcile.Policy
		feed   func() ([]usersync.Record, *state)
		guard  string // the guard that trips; "" for none
	}{
		{"updating 75% of users is allowed", reconcile.Policy{}, func() ([]usersync.Record, *state) { return changed(100, 75) }, ""},
		{"updating 76% is held (Clever's figure)", reconcile.Policy{}, func() ([]usersync.Record, *state) { return changed(100, 76) }, "updates and restores"},
		{"creates are not guarded by default", reconcile.Policy{}, func() ([]usersync.Record, *state) {
			feed, _ := population(5000, 0)
			return feed, &state{}
		}, ""},
		{"a create guard holds when set", reconcile.Policy{CreateGuard: reconcile.Guard{Max: 100}}, func() ([]usersync.Record, *state) {
			feed, _ := population(101, 0)
			return feed, &state{}
		}, "creations and adoptions"},
		{"a create guard's percentage", reconcile.Policy{CreateGuard: reconcile.Guard{Percent: 10}}, func() ([]usersync.Record, *state) {
			_, cur := population(100, 0)
			feed, _ := population(111, 0)
			return feed, cur
		}, "creations and adoptions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			feed, cur := tc.feed()
			p := plan(t, &tc.policy, feed, cur)
			if tc.guard == "" {
				assert.Nil(t, p.Hold)
				return
			}
			var ge *usersync.GuardError
			require.ErrorAs(t, p.Hold, &ge)
			assert.Equal(t, tc.guard, ge.Guard)
		})
	}
}

func TestGuards_EveryTrippedGuardIsReported(t *testing.T) {
	feed, cur := changed(100, 80)
	feed = feed[:80] // and 20 gone
	p := plan(t, nil, feed, cur)
	assert.ErrorIs(t, p.Hold, usersync.ErrGuardTripped)
	assert.ErrorContains(t, p.Hold, "deactivations and deletions")
	assert.ErrorContains(t, p.Hold, "updates and restores")
}

func TestDelta_AbsentUsersAreLeftAlone(t *testing.T) {
	gone := row("e2", "Bo", "e2@x", 3)
	gone.Inactive = true
	for _, tc := range []struct {
		absent reconcile.Absent
		want   []string
	}{
		{reconcile.Deactivate, []string{"create e4", "update e1", "deactivate e2"}},
		{reconcile.Ignore, []string{"create e4", "update e1", "deactivate e2"}},
		{reconcile.Delete, []string{"create e4", "update e1", "delete e2"}},
	} {
		t.Run(tc.absent.String(), func(t *testing.T) {
			p := plan(t, &reconcile.Policy{Mode: reconcile.Delta, Absent: tc.absent, Grace: reconcile.Grace{Runs: 2}},
				[]usersync.Record{row("e1", "Ann Berg", "e1@x", 2), gone, row("e4", "Di", "e4@x", 4)},
				&state{users: []usersync.Record{managed("e1", "Ann", "e1@x"), managed("e2", "Bo", "e2@x"), managed("e3", "Cy", "e3@x")}})
			assert.Equal(t, tc.want, kinds(p), "e3 is not in the file: a delta says nothing about it")
		})
	}
}

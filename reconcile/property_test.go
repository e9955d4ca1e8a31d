package reconcile_test

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
)

// The property tests draw a random directory (users in the Sink, managed,
// re-keyed, missing or created by hand), a random feed and a random policy,
// apply the plan to a memsink, and check what must hold whatever the draw.

// How a person is in the Sink before the run.
const (
	notInSink          = iota
	managedUser        // managed, under the person's key
	managedOldKey      // managed, under another key, with the person's email
	managedInactive    // managed and deactivated
	managedMissing     // managed, marked missing two hours ago
	manualSameEmail    // created by hand under a key of the Sink's own
	manualSameKey      // created by hand under the person's key and email
	manualOtherEmail   // created by hand under the person's key, another email
	sinkStates         // the number of states
	feedGroupIDs       = 4
	sinkGroupIDs       = 3
	missingFor         = 2 * time.Hour
	graceFor           = time.Hour
	titleAlways        = "always"
	titleOnCreate      = "on create"
	titleNever         = "never"
	titleKeepEmpty     = "keep empty"
	groupsNotInTheFeed = -1
)

// person is one person of a drawn world.
type person struct {
	key, email string
	sink       int  // one of the states above
	inFeed     bool // has a row
	rejected   bool // the row was rejected by the Mapper
	duplicated bool // two rows with the key: both rejected
	row        usersync.Record
	before     usersync.Record // the Sink's user, if any
}

// world is a drawn directory, feed and policy.
type world struct {
	people      []*person
	sinkGroups  []usersync.Group
	feedGroups  bool // the feed has a groups column
	titleRule   string
	policy      reconcile.Policy
	feed        *usersync.Feed
	sink        *memsink.Sink
	sinkRecords []usersync.Record
}

var feedLayout = usersync.NewLayout("name", "email", "title")

func drawWorld(t *rapid.T) *world {
	w := &world{sink: memsink.New(), feed: &usersync.Feed{Time: now}}
	for g := range rapid.IntRange(0, sinkGroupIDs).Draw(t, "sink groups") {
		w.sinkGroups = append(w.sinkGroups, usersync.Group{ID: fmt.Sprintf("g%d", g), Name: fmt.Sprintf("Group %d", g)})
	}
	w.feedGroups = rapid.Bool().Draw(t, "feed has groups")
	w.drawPolicy(t)
	line := 2
	for i := range rapid.IntRange(0, 12).Draw(t, "people") {
		p := &person{key: fmt.Sprintf("E%02d", i), email: fmt.Sprintf("p%02d@x", i)}
		p.sink = rapid.IntRange(0, sinkStates-1).Draw(t, "sink state")
		p.inFeed = rapid.Bool().Draw(t, "in feed")
		if p.inFeed {
			p.row = w.drawRow(t, p, line)
			line++
			p.rejected = rapid.IntRange(0, 9).Draw(t, "rejected") == 0
			p.duplicated = !p.rejected && rapid.IntRange(0, 9).Draw(t, "duplicated") == 0
		}
		if p.sink != notInSink {
			p.before = w.drawSinkUser(t, p)
			w.sinkRecords = append(w.sinkRecords, p.before)
		}
		w.people = append(w.people, p)
	}
	w.build()
	return w
}

func (w *world) drawPolicy(t *rapid.T) {
	w.policy = reconcile.Policy{
		Absent:         rapid.SampledFrom([]reconcile.Absent{reconcile.Deactivate, reconcile.Delete, reconcile.Ignore}).Draw(t, "absent"),
		NoCreateGroups: rapid.Bool().Draw(t, "no create groups"),
		Invite:         rapid.SampledFrom([]usersync.Invite{usersync.InviteManual, usersync.InviteAuto}).Draw(t, "invite"),
		RemoveGuard:    reconcile.Guard{Disabled: true},
		UpdateGuard:    reconcile.Guard{Disabled: true},
	}
	if rapid.Bool().Draw(t, "grace") {
		w.policy.Grace = reconcile.Grace{For: graceFor}
	}
	if rapid.Bool().Draw(t, "managers") {
		// Each row names itself its manager, as its name: chains, cycles
		// and by-values many users share, all resolved.
		w.policy.Manager = reconcile.Manager{Attr: "name", By: reconcile.MatchKey{Attr: "name"}}
	}
	w.titleRule = rapid.SampledFrom([]string{titleAlways, titleOnCreate, titleNever, titleKeepEmpty}).Draw(t, "title rule")
	switch w.titleRule {
	case titleOnCreate:
		w.policy.Attrs = map[string]reconcile.AttrRule{"title": {Write: reconcile.OnCreate}}
	case titleNever:
		w.policy.Attrs = map[string]reconcile.AttrRule{"title": {Write: reconcile.Never}}
	case titleKeepEmpty:
		w.policy.Attrs = map[string]reconcile.AttrRule{"title": {KeepEmpty: true}}
	}
}

func (w *world) drawRow(t *rapid.T, p *person, line int) usersync.Record {
	r := usersync.Record{
		Key: p.key,
		Attrs: feedLayout.Make([]string{
			rapid.SampledFrom([]string{"Ann", "Bo"}).Draw(t, "name"),
			rapid.SampledFrom([]string{p.email, "P" + p.email[1:]}).Draw(t, "email case"),
			rapid.SampledFrom([]string{"", "Nurse", "Doctor"}).Draw(t, "title"),
		}),
		Inactive: rapid.IntRange(0, 5).Draw(t, "inactive") == 0,
		Origin:   usersync.Position{File: "users.csv", Line: line},
	}
	if w.feedGroups {
		r.Groups = drawGroups(t, feedGroupIDs)
	}
	return r
}

func (w *world) drawSinkUser(t *rapid.T, p *person) usersync.Record {
	email := p.email
	key := p.key
	switch p.sink {
	case managedOldKey:
		key = "old-" + p.key
	case manualSameEmail:
		key = "m-" + p.key
	case manualOtherEmail:
		email = "other-" + p.email
	}
	name := rapid.SampledFrom([]string{"Ann", "Bo"}).Draw(t, "sink name")
	title := rapid.SampledFrom([]string{"", "Nurse", "Doctor"}).Draw(t, "sink title")
	groups := drawGroups(t, sinkGroupIDs)
	// Most users do not change from one run to the next.
	if p.inFeed && p.sink != manualOtherEmail && rapid.Bool().Draw(t, "unchanged") {
		name, title = p.row.Attrs.Value("name"), p.row.Attrs.Value("title")
		email = p.row.Attrs.Value("email")
		if p.row.Groups != nil {
			groups = p.row.Groups
		}
	}
	u := usersync.Record{
		Key: key,
		Attrs: usersync.NewAttrs(
			"name", name,
			"email", email,
			"title", title,
			"phone", "+46 70 123", // an attribute the feed does not map
		),
		Managed: p.sink < manualSameEmail,
	}
	var ids []string
	for _, g := range groups {
		if slices.ContainsFunc(w.sinkGroups, func(sg usersync.Group) bool { return sg.ID == g }) {
			ids = append(ids, g)
		}
	}
	u.Groups = ids
	switch p.sink {
	case managedInactive:
		u.Inactive = true
	case managedMissing:
		u.MissingRuns, u.MissingSince = 1, now.Add(-missingFor).Unix()
	}
	return u
}

func drawGroups(t *rapid.T, n int) []string {
	groups := []string{}
	for g := range n {
		if rapid.Bool().Draw(t, "in group") {
			groups = append(groups, fmt.Sprintf("g%d", g))
		}
	}
	return groups
}

// build fills the feed and the Sink from the people.
func (w *world) build() {
	for _, g := range w.sinkGroups {
		w.sink.PutGroup(g)
	}
	for _, u := range w.sinkRecords {
		w.sink.PutUser(u)
	}
	for _, p := range w.people {
		switch {
		case !p.inFeed:
		case p.rejected:
			w.feed.Rejected = append(w.feed.Rejected, &usersync.RowError{File: "users.csv", Line: p.row.Origin.Line, Key: p.key})
		case p.duplicated:
			twin := p.row
			twin.Origin.Line += 1000
			w.feed.Records = append(w.feed.Records, p.row, twin)
		default:
			w.feed.Records = append(w.feed.Records, p.row)
		}
	}
}

func (w *world) plan(t require.TestingT, l usersync.Lister) *usersync.Plan {
	p, err := reconcile.New(&w.policy).Reconcile(context.Background(), w.feed, l)
	require.NoError(t, err)
	return p
}

func apply(t require.TestingT, s *memsink.Sink, p *usersync.Plan) {
	for _, c := range synctest.Changes(t, p) {
		require.NoError(t, s.Apply(context.Background(), c), "apply %v", c)
	}
}

func TestProperty_ApplyingThePlanGivesTheFeedsState(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := drawWorld(t)
		p := w.plan(t, w.sink)
		apply(t, w.sink, p)
		for _, per := range w.people {
			w.checkPerson(t, per, p)
		}
		again := w.plan(t, w.sink)
		require.Empty(t, synctest.Changes(t, again), "re-planning after the plan applied")
	})
}

func TestProperty_PlanIsDeterministic(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := drawWorld(t)
		first, err := json.Marshal(w.plan(t, w.sink))
		require.NoError(t, err)
		shuffled := rapid.Permutation(w.sinkRecords).Draw(t, "listing order")
		second, err := json.Marshal(w.plan(t, &listing{shuffled, w.sinkGroups}))
		require.NoError(t, err)
		require.JSONEq(t, string(first), string(second))
		require.Equal(t, string(first), string(second), "the same bytes, in the same order")
	})
}

func TestProperty_PlanRoundTripsThroughJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := drawWorld(t)
		p := w.plan(t, w.sink)
		b, err := json.Marshal(p)
		require.NoError(t, err)
		var back usersync.Plan
		require.NoError(t, json.Unmarshal(b, &back))
		b2, err := json.Marshal(&back)
		require.NoError(t, err)
		require.Equal(t, string(b), string(b2))

		// The plan read back does to a copy of the Sink what the plan does.
		copied := memsink.New()
		users, groups := w.sink.Snapshot()
		for _, g := range groups {
			copied.PutGroup(g)
		}
		for _, u := range users {
			copied.PutUser(u)
		}
		apply(t, w.sink, p)
		apply(t, copied, &back)
		want, _ := w.sink.Snapshot()
		got, _ := copied.Snapshot()
		require.Equal(t, comparable(want), comparable(got))
	})
}

// checkPerson checks what the applied plan did to one person.
func (w *world) checkPerson(t *rapid.T, p *person, plan *usersync.Plan) {
	after, found := w.sink.User(p.key)
	before := p.before
	switch {
	case p.sink >= manualSameEmail && !w.adopted(p, plan):
		// Created by hand and not adopted: exactly as it was.
		got, ok := w.sink.User(before.Key)
		require.True(t, ok, "user %s created by hand is gone", before.Key)
		require.Equal(t, comparable([]usersync.Record{before}), comparable([]usersync.Record{got}), "user %s created by hand changed", before.Key)
		if p.sink == manualOtherEmail || !p.inFeed || p.rejected || p.duplicated {
			return
		}
		require.Fail(t, "a row with the email of a user created by hand did not adopt it", "person %s", p.key)
	case p.rejected || p.duplicated:
		if p.sink != notInSink && p.sink != managedOldKey {
			got, ok := w.sink.User(before.Key)
			require.True(t, ok, "user %s with a rejected row is gone", p.key)
			require.Equal(t, comparable([]usersync.Record{before}), comparable([]usersync.Record{got}), "user %s with a rejected row changed", p.key)
		}
	case p.inFeed && p.row.Inactive && p.sink == notInSink:
		require.False(t, found, "an inactive row created %s", p.key)
	case p.inFeed:
		require.True(t, found, "%s is in the feed but not in the Sink", p.key)
		w.checkFeedUser(t, p, after)
	case p.sink != notInSink:
		w.checkAbsent(t, p)
	}
}

// adopted reports whether the plan adopts p's user created by hand.
func (w *world) adopted(p *person, plan *usersync.Plan) bool {
	for c := range plan.Changes.All() {
		if c.Kind == usersync.AdoptUser && c.User.Key == p.key {
			return true
		}
	}
	return false
}

// checkFeedUser checks a user the feed lists, after the plan.
func (w *world) checkFeedUser(t *rapid.T, p *person, u usersync.Record) {
	require.True(t, u.Managed, "%s is not managed", p.key)
	require.Equal(t, p.row.Inactive, u.Inactive, "%s inactive", p.key)
	require.False(t, u.Missing(), "%s is still marked missing", p.key)
	require.Equal(t, p.row.Attrs.Value("name"), u.Attrs.Value("name"), "%s name", p.key)
	require.Equal(t, p.row.Attrs.Value("email"), u.Attrs.Value("email"), "%s email", p.key)
	if p.sink != notInSink {
		require.Equal(t, "+46 70 123", u.Attrs.Value("phone"), "%s lost an attribute the feed does not map", p.key)
	}
	require.Equal(t, w.wantTitle(p), u.Attrs.Value("title"), "%s title under rule %q", p.key, w.titleRule)
	require.Equal(t, w.wantGroups(p), nonNil(u.Groups), "%s groups", p.key)
}

func (w *world) wantTitle(p *person) string {
	feed, old := p.row.Attrs.Value("title"), p.before.Attrs.Value("title")
	wasManaged := p.sink != notInSink && p.sink < manualSameEmail
	switch {
	case w.titleRule == titleNever && p.sink == notInSink:
		return ""
	case w.titleRule == titleNever, w.titleRule == titleOnCreate && wasManaged, w.titleRule == titleKeepEmpty && feed == "":
		return old
	}
	return feed
}

func (w *world) wantGroups(p *person) []string {
	if !w.feedGroups {
		return nonNil(p.before.Groups)
	}
	want := []string{}
	for _, g := range p.row.Groups {
		if !w.policy.NoCreateGroups || slices.ContainsFunc(w.sinkGroups, func(sg usersync.Group) bool { return sg.ID == g }) {
			want = append(want, g)
		}
	}
	return want
}

// checkAbsent checks a managed user missing from the feed, after the plan.
func (w *world) checkAbsent(t *rapid.T, p *person) {
	before := p.before
	u, ok := w.sink.User(before.Key)
	graceOver := w.policy.Grace.For == 0 || p.sink == managedMissing
	switch {
	case w.policy.Absent == reconcile.Ignore:
		require.True(t, ok)
		require.Equal(t, comparable([]usersync.Record{before}), comparable([]usersync.Record{u}), "ignored %s changed", before.Key)
	case !graceOver:
		require.True(t, ok, "%s is gone within the grace period", before.Key)
		require.Equal(t, before.Inactive, u.Inactive)
		require.Equal(t, uint16(1), u.MissingRuns, "%s is not marked missing", before.Key)
		require.Equal(t, now.Unix(), u.MissingSince)
	case w.policy.Absent == reconcile.Delete:
		require.False(t, ok, "%s is not deleted", before.Key)
	default:
		require.True(t, ok)
		require.True(t, u.Inactive, "%s is not deactivated", before.Key)
		require.Equal(t, before.MissingRuns, u.MissingRuns, "the marker stays on a deactivated user")
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// comparable renders records for comparison by content.
func comparable(rs []usersync.Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s %v %v inactive=%v managed=%v missing=%d/%d",
			r.Key, r.Attrs.Map(), nonNil(r.Groups), r.Inactive, r.Managed, r.MissingRuns, r.MissingSince))
	}
	return out
}

// listing is a Lister over fixed slices, in the order given.
type listing struct {
	users  []usersync.Record
	groups []usersync.Group
}

func (l *listing) Users(context.Context) iter.Seq2[usersync.Record, error] {
	return func(yield func(usersync.Record, error) bool) {
		for _, u := range l.users {
			if !yield(u, nil) {
				return
			}
		}
	}
}

func (l *listing) Groups(context.Context) iter.Seq2[usersync.Group, error] {
	return func(yield func(usersync.Group, error) bool) {
		for _, g := range slices.Backward(l.groups) {
			if !yield(g, nil) {
				return
			}
		}
	}
}

func TestProperty_AccountsFiles(t *testing.T) {
	accounts := []string{"akron", "scranton", "stamford"}
	rapid.Check(t, func(t *rapid.T) {
		policy := reconcile.Policy{RemoveGuard: reconcile.Guard{Disabled: true}, UpdateGuard: reconcile.Guard{Disabled: true}}
		arrived := map[string]bool{}
		feed := &usersync.Feed{Time: now}
		sink := memsink.New()
		sink.PutGroup(usersync.Group{ID: "night"}) // not an account
		for _, a := range accounts {
			policy.Accounts = append(policy.Accounts, reconcile.Account{File: a + ".csv", Group: a})
			sink.PutGroup(usersync.Group{ID: a})
			if arrived[a] = rapid.Bool().Draw(t, "arrived "+a); arrived[a] {
				feed.Files = append(feed.Files, usersync.FileResult{FileInfo: usersync.FileInfo{Name: a + ".csv"}})
			}
		}
		if len(feed.Files) == 0 {
			return // no file: no run
		}
		type member struct {
			key    string
			files  map[string]bool
			before *usersync.Record
		}
		var people []member
		for i := range rapid.IntRange(0, 10).Draw(t, "people") {
			m := member{key: fmt.Sprintf("E%02d", i), files: map[string]bool{}}
			for _, a := range accounts {
				m.files[a] = arrived[a] && rapid.Bool().Draw(t, "listed in "+a)
			}
			if rapid.Bool().Draw(t, "in the sink") {
				u := managed(m.key, "N "+m.key, m.key+"@x", drawSubset(t, append(accounts, "night"))...)
				sink.PutUser(u)
				m.before = &u
			}
			people = append(people, m)
		}
		for _, a := range accounts {
			for line, m := range people {
				if m.files[a] {
					feed.Records = append(feed.Records, accountRow(a+".csv", m.key, line+2))
				}
			}
		}
		p, err := reconcile.New(&policy).Reconcile(context.Background(), feed, sink)
		require.NoError(t, err)
		apply(t, sink, p)
		for _, m := range people {
			u, ok := sink.User(m.key)
			listed := slices.ContainsFunc(accounts, func(a string) bool { return m.files[a] })
			silentMember := m.before != nil && slices.ContainsFunc(m.before.Groups, func(g string) bool {
				return slices.Contains(accounts, g) && !arrived[g]
			})
			switch {
			case listed:
				require.True(t, ok && !u.Inactive, "%s is listed but not active", m.key)
				for _, a := range accounts {
					want := m.files[a]
					if !arrived[a] {
						want = m.before != nil && m.before.HasGroup(a)
					}
					require.Equal(t, want, u.HasGroup(a), "%s in account %s", m.key, a)
				}
				require.Equal(t, m.before != nil && m.before.HasGroup("night"), u.HasGroup("night"), "%s night", m.key)
			case m.before == nil:
				require.False(t, ok)
			case silentMember:
				require.Equal(t, comparable([]usersync.Record{*m.before}), comparable([]usersync.Record{u}), "%s in an account without a file", m.key)
			default:
				require.True(t, u.Inactive, "%s is in no file but active", m.key)
			}
		}
		again, err := reconcile.New(&policy).Reconcile(context.Background(), feed, sink)
		require.NoError(t, err)
		require.Empty(t, synctest.Changes(t, again), "re-planning after the plan applied")
	})
}

func drawSubset(t *rapid.T, of []string) []string {
	var out []string
	for _, s := range of {
		if rapid.Bool().Draw(t, "has "+s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// digestListing is a listing that is also a DigestLister, as a Sink that
// keeps digests is: the Reconciler then plans from a merge.
type digestListing struct{ listing }

func (l *digestListing) Digests(context.Context) iter.Seq2[usersync.UserDigest, error] {
	return func(yield func(usersync.UserDigest, error) bool) {
		users := slices.Clone(l.users)
		slices.SortFunc(users, func(a, b usersync.Record) int { return strings.Compare(a.Key, b.Key) })
		for i := range users {
			if !yield(usersync.DigestUser(&users[i]), nil) {
				return
			}
		}
	}
}

func (l *digestListing) LookupUsers(_ context.Context, keys []string) iter.Seq2[usersync.Record, error] {
	return func(yield func(usersync.Record, error) bool) {
		for _, k := range keys {
			for _, u := range l.users {
				if u.Key == k && !yield(u, nil) {
					return
				}
			}
		}
	}
}

func TestProperty_MergedPlanIsTheFullPlan(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := drawWorld(t)
		samePlans(t, w.plan(t, &listing{w.sinkRecords, w.sinkGroups}), w.plan(t, &digestListing{listing{w.sinkRecords, w.sinkGroups}}))
	})
}

// A merge that may hold one row that differs defers the others and plans
// them after the merge, from the feed read again and their users looked
// up then: the plan must be the one planned from every row.
func TestProperty_DeferredPlanIsTheFullPlan(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := drawWorld(t)
		full := w.plan(t, &listing{w.sinkRecords, w.sinkGroups})
		merged, err := reconcile.WithRowLimit(reconcile.New(&w.policy), 1).Reconcile(context.Background(), w.feed, &digestListing{listing{w.sinkRecords, w.sinkGroups}})
		require.NoError(t, err)
		samePlans(t, full, merged)
	})
}

// A Sink with no user takes the merge's path that plans creates as it
// reads the rows: the plan must be the one planned from every row.
func TestProperty_FirstLoadPlanIsTheFullPlan(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := drawWorld(t)
		samePlans(t, w.plan(t, &listing{nil, w.sinkGroups}), w.plan(t, &digestListing{listing{nil, w.sinkGroups}}))
	})
}

// samePlans requires the plan made from digests to be the full one.
func samePlans(t *rapid.T, full, merged *usersync.Plan) {
	want, err := json.Marshal(full)
	require.NoError(t, err)
	got, err := json.Marshal(merged)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "the plan made from digests")
	require.Equal(t, full.Rejected, merged.Rejected)
	require.Equal(t, full.Warnings, merged.Warnings)
	require.Equal(t, full.Hold, merged.Hold)
}

// With accounts, the plan made from a merge with the Sink's digests must
// be the one made from every row and user: users in one file or several,
// with or without a groups column, in sync or not, found by their key or
// by email, in accounts whose files arrived or not, in full or delta
// mode, with or without NoCreateGroups.
func TestProperty_AccountsMergedPlanIsTheFullPlan(t *testing.T) {
	accounts := []string{"akron", "scranton", "stamford"}
	rapid.Check(t, func(t *rapid.T) {
		policy := reconcile.Policy{
			NoCreateGroups: rapid.Bool().Draw(t, "no create groups"),
			Mode:           rapid.SampledFrom([]reconcile.Mode{reconcile.Snapshot, reconcile.Delta}).Draw(t, "mode"),
			Absent:         rapid.SampledFrom([]reconcile.Absent{reconcile.Deactivate, reconcile.Delete, reconcile.Ignore}).Draw(t, "absent"),
			RemoveGuard:    reconcile.Guard{Disabled: true},
			UpdateGuard:    reconcile.Guard{Disabled: true},
		}
		feed := &usersync.Feed{Time: now}
		sinkGroups := []usersync.Group{{ID: "night"}}
		for _, a := range accounts {
			policy.Accounts = append(policy.Accounts, reconcile.Account{File: a + ".csv", Group: a})
			if rapid.Bool().Draw(t, "sink holds "+a) {
				sinkGroups = append(sinkGroups, usersync.Group{ID: a})
			}
			if rapid.Bool().Draw(t, "arrived "+a) {
				feed.Files = append(feed.Files, usersync.FileResult{FileInfo: usersync.FileInfo{Name: a + ".csv"}})
			}
		}
		if len(feed.Files) == 0 {
			return // no file: no run
		}
		groupsColumn := rapid.Bool().Draw(t, "groups column")
		rows := make([][]usersync.Record, len(feed.Files))
		var users []usersync.Record
		for i := range rapid.IntRange(0, 12).Draw(t, "people") {
			key := fmt.Sprintf("E%02d", i)
			if rapid.Bool().Draw(t, "in the sink") {
				u := managed(key, "N "+key, key+"@x", drawSubset(t, append(slices.Clone(accounts), "day", "night"))...)
				u.Inactive = rapid.Bool().Draw(t, "inactive")
				if rapid.Bool().Draw(t, "under another key") { // found by email, or not adopted
					u.Key, u.Managed = "X"+key, rapid.Bool().Draw(t, "managed")
				}
				users = append(users, u)
			}
			for f := range feed.Files {
				if !rapid.Bool().Draw(t, "listed") {
					continue
				}
				var r usersync.Record
				if groupsColumn {
					r = accountRow(feed.Files[f].Name, key, len(rows[f])+2, append([]string{}, drawSubset(t, []string{"day", "night"})...)...)
				} else {
					r = accountRow(feed.Files[f].Name, key, len(rows[f])+2)
				}
				if rapid.Bool().Draw(t, "renamed") {
					r.Attrs = usersync.NewAttrs("name", "M "+key, "email", key+"@x")
				}
				rows[f] = append(rows[f], r)
			}
		}
		for _, rs := range rows {
			feed.Records = append(feed.Records, rs...)
		}
		w := &world{policy: policy, feed: feed}
		full := w.plan(t, &listing{users, sinkGroups})
		samePlans(t, full, w.plan(t, &digestListing{listing{users, sinkGroups}}))
		deferred, err := reconcile.WithRowLimit(reconcile.New(&w.policy), 1).Reconcile(context.Background(), w.feed, &digestListing{listing{users, sinkGroups}})
		require.NoError(t, err)
		samePlans(t, full, deferred)
	})
}

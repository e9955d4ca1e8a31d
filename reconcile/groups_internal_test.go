package reconcile

import (
	"errors"
	"fmt"
	"iter"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/usersync/usersync"
)

func groupSeq(gs []usersync.Group, err error) iter.Seq2[usersync.Group, error] {
	return func(yield func(usersync.Group, error) bool) {
		for _, g := range gs {
			if !yield(g, nil) {
				return
			}
		}
		if err != nil {
			yield(usersync.Group{}, err)
		}
	}
}

// TestGroupSetLikeMap checks that a groupSet answers as the map of the
// Sink's groups it replaced: the last group listed of each ID.
func TestGroupSetLikeMap(t *testing.T) {
	var listed []usersync.Group
	want := make(map[string]usersync.Group)
	for i := range 500 {
		g := usersync.Group{ID: fmt.Sprintf("g%d", (i*37)%211), Name: fmt.Sprintf("Group %d", i)}
		if i%3 == 0 {
			g.Parent = "p"
		}
		if i%5 == 0 {
			g.Account = "acct é"
		}
		if i == 7 {
			g.ID = "" // a Sink lists none, but a map would hold it
		}
		listed = append(listed, g)
		want[g.ID] = g
	}
	s, err := collectGroups(groupSeq(listed, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ents) != len(want) {
		t.Errorf("%d groups, want %d", len(s.ents), len(want))
	}
	for _, id := range append(slices.Collect(maps.Keys(want)), "g", "g1000", "h", "", "g10 ") {
		var g usersync.Group
		i, ok := s.search(id)
		if ok {
			f := s.fields(i)
			g = usersync.Group{ID: f[0], Name: f[1], Parent: f[2], Account: f[3]}
		}
		w, wok := want[id]
		if g != w || ok != wok || s.has(id) != wok {
			t.Errorf("group %q = %+v, %v; want %+v, %v", id, g, ok, w, wok)
		}
	}
	boom := errors.New("boom")
	if _, err := collectGroups(groupSeq(listed[:3], boom)); !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
	var empty groupSet
	if empty.has("g1") {
		t.Error("an empty set has g1")
	}
}

// TestFeedGroupsLikeMaps checks feedGroups against the maps planGroups
// used to build: the first entry of each ID, the first name a file gives
// unless an Account names the group, and every ID once, in order.
func TestFeedGroupsLikeMaps(t *testing.T) {
	var groups []usersync.Group
	for i := range 300 {
		g := usersync.Group{ID: fmt.Sprintf("c%03d", (i*7)%101), Parent: fmt.Sprintf("s%d", i%4)}
		if i%4 != 0 {
			g.Name = fmt.Sprintf("Class %d", i)
		}
		if i%50 == 0 {
			g.ID = ""
		}
		groups = append(groups, g)
	}
	accounts := []Account{{Group: "a-first", Name: "First"}, {Group: "c005", Name: "Five"}, {Group: "c005", Name: "Five again"},
		{Group: "zz", Name: "Last"}, {Group: "c010"}}
	names := make(map[string]string)
	listed := make(map[string]usersync.Group)
	for _, g := range groups {
		if _, ok := names[g.ID]; !ok && g.ID != "" && g.Name != "" {
			names[g.ID] = g.Name
		}
		if _, ok := listed[g.ID]; !ok && g.ID != "" {
			listed[g.ID] = g
		}
	}
	for _, a := range accounts {
		if a.Name != "" {
			names[a.Group] = a.Name
		}
	}
	fg := newFeedGroups(groups, accounts)
	for _, id := range []string{"", "a-first", "c005", "c010", "c000", "c100", "c101", "zz", "nope"} {
		if got := fg.name(id); got != names[id] {
			t.Errorf("name(%q) = %q, want %q", id, got, names[id])
		}
		g, ok := fg.find(id)
		w, wok := listed[id]
		if g != w || ok != wok || fg.listed(id) != w {
			t.Errorf("find(%q) = %+v, %v; want %+v, %v", id, g, ok, w, wok)
		}
	}
	var want []string
	for id := range names {
		want = append(want, id)
	}
	for id := range listed {
		want = append(want, id)
	}
	slices.Sort(want)
	want = slices.Compact(want)
	if got := slices.Collect(fg.ids()); !slices.Equal(got, want) {
		t.Errorf("ids() = %q\nwant %q", got, want)
	}
}

// TestGroupSetHasAllocates nothing: a plan asks once per group joined.
func TestGroupSetHasAllocates(t *testing.T) {
	s, _ := collectGroups(groupSeq([]usersync.Group{{ID: "a"}, {ID: "b", Name: "B"}, {ID: "c"}}, nil))
	id := string([]byte("b"))
	if n := testing.AllocsPerRun(100, func() { s.has(id) }); n != 0 {
		t.Errorf("has allocates %v times a call", n)
	}
}

// planGroupsWithMaps is planGroups as it was, with maps of the feed's and
// the Sink's groups: the model the compact one must agree with.
func planGroupsWithMaps(pl *planner, sink map[string]usersync.Group) []usersync.Change {
	names := make(map[string]string)
	for _, g := range pl.feed.Groups {
		if _, ok := names[g.ID]; !ok && g.ID != "" && g.Name != "" {
			names[g.ID] = g.Name
		}
	}
	for _, a := range pl.policy.Accounts {
		if a.Name != "" {
			names[a.Group] = a.Name
		}
	}
	listed := make(map[string]usersync.Group)
	for _, g := range pl.feed.Groups {
		if _, ok := listed[g.ID]; !ok && g.ID != "" {
			listed[g.ID] = g
		}
	}
	wanted := maps.Clone(pl.joined)
	if wanted == nil {
		wanted = make(map[string]struct{})
	}
	for _, cs := range [][]usersync.Change{pl.rekeys, pl.creates} {
		for i := range cs {
			for _, g := range cs[i].Join {
				wanted[g] = struct{}{}
			}
		}
	}
	if pl.links {
		for _, id := range slices.Collect(maps.Keys(wanted)) {
			for p := listed[id].Parent; p != ""; p = listed[p].Parent {
				_, held := sink[p]
				if _, ok := wanted[p]; ok || held {
					break
				}
				wanted[p] = struct{}{}
			}
		}
	}
	var out []usersync.Change
	for _, id := range slices.Sorted(maps.Keys(wanted)) {
		if _, ok := sink[id]; !ok {
			g := usersync.Group{ID: id, Name: names[id]}
			if g.Name == "" {
				g.Name = id
			}
			if pl.links {
				g.Parent, g.Account = listed[id].Parent, listed[id].Account
			}
			out = append(out, usersync.Change{Kind: usersync.CreateGroup, Group: g})
		}
	}
	ids := slices.Collect(maps.Keys(names))
	if pl.links {
		ids = append(ids, slices.Collect(maps.Keys(listed))...)
	}
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		cur, ok := sink[id]
		if !ok {
			continue
		}
		g := cur
		if n := names[id]; n != "" {
			g.Name = n
		}
		if f, ok := listed[id]; ok && pl.links {
			g.Parent, g.Account = f.Parent, f.Account
		}
		if g != cur {
			out = append(out, usersync.Change{Kind: usersync.RenameGroup, Group: g})
		}
	}
	return out
}

// TestPlanGroupsAgreesWithMaps plans the groups of random feeds and Sinks
// both ways.
func TestPlanGroupsAgreesWithMaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 18))
	id := func() string { return fmt.Sprintf("g%d", rng.IntN(40)) }
	opt := func(s string) string {
		if rng.IntN(3) == 0 {
			return ""
		}
		return s
	}
	kinds := make(map[usersync.ChangeKind]int)
	for round := range 300 {
		var feed, sinkList []usersync.Group
		for range rng.IntN(30) {
			feed = append(feed, usersync.Group{ID: opt(id()), Name: opt(fmt.Sprintf("Name %d", rng.IntN(5))), Parent: opt(id()), Account: opt("a" + id())})
		}
		sink := make(map[string]usersync.Group)
		for range rng.IntN(30) {
			g := usersync.Group{ID: id(), Name: fmt.Sprintf("Name %d", rng.IntN(5)), Parent: opt(id()), Account: opt("a" + id())}
			sinkList = append(sinkList, g)
			sink[g.ID] = g
		}
		var accounts []Account
		for range rng.IntN(3) {
			accounts = append(accounts, Account{Group: id(), Name: opt(fmt.Sprintf("Account %d", rng.IntN(3)))})
		}
		var joins []string
		for range rng.IntN(8) {
			joins = append(joins, id())
		}
		set, err := collectGroups(groupSeq(sinkList, nil))
		if err != nil {
			t.Fatal(err)
		}
		pl := &planner{policy: &Policy{Accounts: accounts}, feed: &usersync.Feed{Groups: feed}, links: rng.IntN(2) == 0,
			sinkGroups: set, creates: []usersync.Change{{Kind: usersync.CreateUser, Join: joins}}}
		want := planGroupsWithMaps(pl, sink)
		pl.planGroups()
		if !slices.EqualFunc(pl.groupChanges, want, func(a, b usersync.Change) bool { return a.Kind == b.Kind && a.Group == b.Group }) {
			t.Fatalf("round %d, links %v:\n got %+v\nwant %+v", round, pl.links, pl.groupChanges, want)
		}
		for _, c := range want {
			kinds[c.Kind]++
		}
	}
	if kinds[usersync.CreateGroup] == 0 || kinds[usersync.RenameGroup] == 0 {
		t.Errorf("the rounds planned %v: want creates and renames", kinds)
	}
}

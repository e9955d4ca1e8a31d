package reconcile

import (
	"cmp"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/usersync/usersync"
)

// planGroups plans a CreateGroup for each group that a planned change joins
// and the Sink does not hold, and for the parents of those the feed lists
// (on a Sink that stores them), and a RenameGroup for each group the Sink
// holds under another name than the feed or the policy gives it, or, on a
// Sink that stores them (see usersync.GroupLinker), with another Parent or
// Account than the feed's Groups give it.
//
// It holds no map of the feed's groups: a school district's bundle lists
// hundreds of thousands of classes, and the plan is made when the run
// holds the most. The feed's groups are looked up in an index of 4 bytes
// a group (see feedGroups).
func (pl *planner) planGroups() {
	fg := newFeedGroups(pl.feed.Groups, pl.policy.Accounts)
	wanted := make(map[string]struct{}, len(pl.newJoins)+len(pl.joined))
	for g := range pl.newJoins {
		wanted[g] = struct{}{}
	}
	maps.Copy(wanted, pl.joined)
	for _, cs := range [][]usersync.Change{pl.rekeys, pl.creates} {
		for i := range cs {
			for _, g := range cs[i].Join {
				wanted[g] = struct{}{}
			}
		}
	}
	if pl.links {
		// The parents of a new group, up to one the Sink holds or that
		// is wanted already (which stops a loop too).
		for _, id := range slices.Collect(maps.Keys(wanted)) {
			for p := fg.listed(id).Parent; p != ""; p = fg.listed(p).Parent {
				held := pl.sinkGroups.has(p)
				if _, ok := wanted[p]; ok || held {
					break
				}
				wanted[p] = struct{}{}
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(wanted)) {
		if !pl.sinkGroups.has(id) {
			g := usersync.Group{ID: id, Name: fg.name(id)}
			if g.Name == "" {
				g.Name = id
			}
			if pl.links {
				l := fg.listed(id)
				g.Parent, g.Account = l.Parent, l.Account
			}
			pl.groupChanges = append(pl.groupChanges, usersync.Change{Kind: usersync.CreateGroup, Group: g})
		}
	}
	for id := range fg.ids() {
		i, ok := pl.sinkGroups.search(id)
		if !ok {
			continue
		}
		// Compared where the set holds them: the Group is made only for
		// the few that changed.
		cur := pl.sinkGroups.fields(i)
		name, parent, account := cur[1], cur[2], cur[3]
		if n := fg.name(id); n != "" {
			name = n
		}
		if pl.links {
			if f, ok := fg.find(id); ok {
				parent, account = f.Parent, f.Account
			}
		}
		if name == cur[1] && parent == cur[2] && account == cur[3] {
			continue
		}
		g := usersync.Group{ID: id, Name: strings.Clone(name), Parent: strings.Clone(parent), Account: strings.Clone(account)}
		pl.groupChanges = append(pl.groupChanges, usersync.Change{Kind: usersync.RenameGroup, Group: g})
	}
}

// feedGroups indexes a feed's Groups by ID without a map: order holds the
// places of the groups that have an ID, sorted by ID, the entries of one
// ID in file order. accounts holds the names Policy.Accounts gives groups,
// which win over the feed's.
type feedGroups struct {
	groups   []usersync.Group
	order    []int32
	accounts map[string]string
	acctIDs  []string // accounts' keys, sorted
}

func newFeedGroups(groups []usersync.Group, accounts []Account) feedGroups {
	fg := feedGroups{groups: groups, order: make([]int32, 0, len(groups))}
	for i := range groups {
		if groups[i].ID != "" {
			fg.order = append(fg.order, int32(i))
		}
	}
	slices.SortFunc(fg.order, func(a, b int32) int {
		return cmp.Or(strings.Compare(groups[a].ID, groups[b].ID), cmp.Compare(a, b))
	})
	for _, a := range accounts {
		if a.Name != "" {
			if fg.accounts == nil {
				fg.accounts = make(map[string]string)
			}
			fg.accounts[a.Group] = a.Name // the last account of a group names it
		}
	}
	fg.acctIDs = slices.Sorted(maps.Keys(fg.accounts))
	return fg
}

// entries returns the places of the groups with the ID, in file order.
func (fg *feedGroups) entries(id string) []int32 {
	i, _ := slices.BinarySearchFunc(fg.order, id, func(p int32, id string) int { return strings.Compare(fg.groups[p].ID, id) })
	j := i
	for j < len(fg.order) && fg.groups[fg.order[j]].ID == id {
		j++
	}
	return fg.order[i:j]
}

// find returns the first group the feed lists with the ID.
func (fg *feedGroups) find(id string) (usersync.Group, bool) {
	if e := fg.entries(id); len(e) > 0 {
		return fg.groups[e[0]], true
	}
	return usersync.Group{}, false
}

// listed returns the first group the feed lists with the ID, or a zero
// Group.
func (fg *feedGroups) listed(id string) usersync.Group {
	g, _ := fg.find(id)
	return g
}

// name returns the display name the run gives a group: the one its
// Account gives, else the first a file gives (Feed.Groups); "" if none.
func (fg *feedGroups) name(id string) string {
	if n, ok := fg.accounts[id]; ok {
		return n
	}
	if id == "" {
		return ""
	}
	for _, p := range fg.entries(id) {
		if n := fg.groups[p].Name; n != "" {
			return n
		}
	}
	return ""
}

// ids yields, in order and once each, the IDs of the groups the feed lists
// and of those an Account names.
func (fg *feedGroups) ids() iter.Seq[string] {
	return func(yield func(string) bool) {
		accts := fg.acctIDs
		prev := ""
		for k, p := range fg.order {
			id := fg.groups[p].ID
			if k > 0 && id == prev {
				continue
			}
			prev = id
			for len(accts) > 0 && accts[0] <= id {
				if accts[0] < id && !yield(accts[0]) {
					return
				}
				accts = accts[1:]
			}
			if !yield(id) {
				return
			}
		}
		for _, id := range accts {
			if !yield(id) {
				return
			}
		}
	}
}

// A groupSet holds the Sink's groups in little memory: the text of each
// (ID, Name, Parent, Account) in one string, and an entry of 24 bytes a
// group, sorted by ID. A map of Groups costs about five times as much, and
// a Sink may hold hundreds of thousands of groups (the classes of a school
// district).
type groupSet struct {
	text string
	ents []groupEnt
}

// A groupEnt locates one group: its fields are text[off:] one after the
// other, n long each.
type groupEnt struct {
	off int
	n   [4]uint32
}

// collectGroups reads a Sink's groups into a groupSet. A group listed
// twice is the last one listed.
func collectGroups(seq iter.Seq2[usersync.Group, error]) (groupSet, error) {
	var buf []byte
	var ents []groupEnt
	for g, err := range seq {
		if err != nil {
			return groupSet{}, err
		}
		e := groupEnt{off: len(buf)}
		for i, f := range [4]string{g.ID, g.Name, g.Parent, g.Account} {
			e.n[i] = uint32(len(f))
			buf = append(buf, f...)
		}
		ents = append(ents, e)
	}
	s := groupSet{text: string(buf), ents: ents}
	slices.SortStableFunc(s.ents, func(a, b groupEnt) int { return strings.Compare(s.id(a), s.id(b)) })
	// Keep the last of each ID.
	out := s.ents[:0]
	for i, e := range s.ents {
		if i+1 < len(s.ents) && s.id(e) == s.id(s.ents[i+1]) {
			continue
		}
		out = append(out, e)
	}
	// The set is kept to the end of the plan: give back what growing the
	// slice left over.
	s.ents = fit(out)
	return s, nil
}

// fit returns s, or a copy of it without spare capacity when s has much.
func fit[E any](s []E) []E {
	if cap(s)-len(s) > len(s)/8 {
		return slices.Clone(s)
	}
	return s
}

func (s *groupSet) id(e groupEnt) string { return s.text[e.off : e.off+int(e.n[0])] }

// search returns the place of the group with the ID.
func (s *groupSet) search(id string) (int, bool) {
	return slices.BinarySearchFunc(s.ents, id, func(e groupEnt, id string) int { return strings.Compare(s.id(e), id) })
}

// has reports whether the Sink holds a group with the ID.
func (s *groupSet) has(id string) bool {
	_, ok := s.search(id)
	return ok
}

// fields returns the ID, Name, Parent and Account of the group at i:
// parts of the set's text, which they keep whole.
func (s *groupSet) fields(i int) [4]string {
	e := s.ents[i]
	var f [4]string
	off := e.off
	for k, n := range e.n {
		f[k] = s.text[off : off+int(n)]
		off += int(n)
	}
	return f
}

// groupLinks renders a group's Parent and Account for a plan's diff; ""
// for a group without them.
func groupLinks(g usersync.Group) string {
	s := ""
	if g.Parent != "" {
		s += fmt.Sprintf(" parent=%q", g.Parent)
	}
	if g.Account != "" {
		s += fmt.Sprintf(" account=%q", g.Account)
	}
	return s
}

package reconcile

import (
	"bytes"
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
	wanted := make(map[string]struct{})
	for _, cs := range [][]usersync.Change{pl.rekeys, pl.creates, pl.restores, pl.updates, pl.deactivates} {
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
		cur, ok := pl.sinkGroups.get(id)
		if !ok {
			continue
		}
		g := cur
		if n := fg.name(id); n != "" {
			g.Name = n
		}
		if pl.links {
			if f, ok := fg.find(id); ok {
				g.Parent, g.Account = f.Parent, f.Account
			}
		}
		if g != cur {
			pl.groupChanges = append(pl.groupChanges, usersync.Change{Kind: usersync.RenameGroup, Group: g})
		}
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
// (ID, Name, Parent, Account) in one buffer, and an entry of 24 bytes a
// group, sorted by ID. A map of Groups costs about five times as much, and
// a Sink may hold hundreds of thousands of groups (the classes of a school
// district).
type groupSet struct {
	text []byte
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
	var s groupSet
	for g, err := range seq {
		if err != nil {
			return groupSet{}, err
		}
		e := groupEnt{off: len(s.text)}
		for i, f := range [4]string{g.ID, g.Name, g.Parent, g.Account} {
			e.n[i] = uint32(len(f))
			s.text = append(s.text, f...)
		}
		s.ents = append(s.ents, e)
	}
	slices.SortStableFunc(s.ents, func(a, b groupEnt) int { return bytes.Compare(s.id(a), s.id(b)) })
	// Keep the last of each ID.
	out := s.ents[:0]
	for i, e := range s.ents {
		if i+1 < len(s.ents) && bytes.Equal(s.id(e), s.id(s.ents[i+1])) {
			continue
		}
		out = append(out, e)
	}
	// The set is kept to the end of the plan: give back what growing the
	// slices left over.
	s.ents, s.text = fit(out), fit(s.text)
	return s, nil
}

// fit returns s, or a copy of it without spare capacity when s has much.
func fit[E any](s []E) []E {
	if cap(s)-len(s) > len(s)/8 {
		return slices.Clone(s)
	}
	return s
}

func (s *groupSet) id(e groupEnt) []byte { return s.text[e.off : e.off+int(e.n[0])] }

func (s *groupSet) search(id string) (int, bool) {
	return slices.BinarySearchFunc(s.ents, id, func(e groupEnt, id string) int { return compareText(s.id(e), id) })
}

// compareText compares b and s as strings do, without copying b: the
// compiler converts no bytes for a comparison.
func compareText(b []byte, s string) int {
	switch {
	case string(b) == s:
		return 0
	case string(b) < s:
		return -1
	}
	return 1
}

// has reports whether the Sink holds a group with the ID.
func (s *groupSet) has(id string) bool {
	_, ok := s.search(id)
	return ok
}

// get returns the Sink's group with the ID.
func (s *groupSet) get(id string) (usersync.Group, bool) {
	i, ok := s.search(id)
	if !ok {
		return usersync.Group{}, false
	}
	e := s.ents[i]
	var f [4]string
	off := e.off
	for k, n := range e.n {
		f[k] = string(s.text[off : off+int(n)])
		off += int(n)
	}
	return usersync.Group{ID: f[0], Name: f[1], Parent: f[2], Account: f[3]}, true
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

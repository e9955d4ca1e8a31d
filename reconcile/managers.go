package reconcile

import (
	"slices"
	"strings"

	"github.com/usersync/usersync"
)

// managers resolves the manager references of Policy.Manager.
type managers struct {
	attr string
	by   MatchKey
	// unresolved holds the references that no user matched so far, as
	// MatchKey.value gives them: every reference in the feed, less those
	// the feed's users match, less those the Sink's users match.
	unresolved map[string]struct{}
}

// resolveManagers collects the feed's manager references and resolves
// those that a user in the feed matches. Users whose rows were rejected are
// in the file too: they match by key.
func (pl *planner) resolveManagers() {
	m := &pl.managers
	if m.attr, m.by = pl.policy.Manager.Attr, pl.policy.Manager.By; m.attr == "" {
		return
	}
	refs := make(map[string]struct{})
	for i := range pl.recs {
		if v := m.ref(&pl.recs[i]); v != "" {
			refs[v] = struct{}{}
		}
	}
	for i := range pl.recs {
		delete(refs, m.by.value(&pl.recs[i]))
	}
	if m.by.Attr == "" {
		for k := range pl.present {
			delete(refs, m.by.value(&usersync.Record{Key: k}))
		}
	}
	m.unresolved = refs
}

// ref returns r's manager reference, as the key it refers by compares.
func (m *managers) ref(r *usersync.Record) string {
	v := r.Attrs.Value(m.attr)
	if m.by.IgnoreCase {
		v = strings.ToLower(v)
	}
	return v
}

// seeSinkUser resolves the references u matches.
func (m *managers) seeSinkUser(u *usersync.Record) {
	if len(m.unresolved) > 0 {
		delete(m.unresolved, m.by.value(u))
	}
}

// resolved reports whether r's manager reference, if any, matches a user.
func (m *managers) resolved(r *usersync.Record) bool {
	if len(m.unresolved) == 0 {
		return true
	}
	_, missing := m.unresolved[m.ref(r)]
	return !missing
}

// warnUnresolved puts a warning on each row whose manager reference
// matches nobody: the reference is not written.
func (pl *planner) warnUnresolved() {
	m := &pl.managers
	if len(m.unresolved) == 0 {
		return
	}
	for i := range pl.recs {
		if pl.state[i] == rejected || pl.state[i] == merged {
			continue
		}
		if r := &pl.recs[i]; !m.resolved(r) {
			pl.warn(int32(i), m.attr, r.Attrs.Value(m.attr), ErrManagerNotFound)
		}
	}
}

// orderCreates puts each created manager before the created users who
// report to them, keeping key order otherwise. A user whose manager is
// created only after them (in a cycle of references, or reporting to
// themselves), and a re-keyed or adopted user whose manager is created in
// this plan, get their manager from an UpdateUser once every user is
// created.
func (pl *planner) orderCreates() {
	m := &pl.managers
	if m.attr == "" || len(pl.creates) == 0 {
		return
	}
	byRef := make(map[string]int, len(pl.creates))
	for c := range pl.creates {
		if v := m.by.value(&pl.creates[c].User); v != "" {
			byRef[v] = c
		}
	}
	manager := func(r *usersync.Record) (int, bool) {
		c, ok := byRef[m.ref(r)]
		return c, ok && m.ref(r) != ""
	}
	order, late := chainOrder(len(pl.creates), func(c int) int {
		if j, ok := manager(&pl.creates[c].User); ok {
			return j
		}
		return -1
	})
	for _, c := range late {
		pl.setManagerLater(&pl.creates[c])
	}
	sorted := make([]usersync.Change, len(order))
	for k, c := range order {
		sorted[k] = pl.creates[c]
	}
	pl.creates = sorted
	for k := range pl.rekeys {
		if _, ok := manager(&pl.rekeys[k].User); ok {
			pl.setManagerLater(&pl.rekeys[k])
		}
	}
}

// chainOrder orders n nodes, each pointing to at most one other (dep
// returns -1 for none), so that a node comes after the one it points to,
// keeping the nodes' order otherwise. late lists the nodes whose pointer
// had to be ignored to break a cycle.
func chainOrder(n int, dep func(int) int) (order, late []int) {
	const (
		fresh = iota
		onChain
		placed
	)
	state := make([]uint8, n)
	order = make([]int, 0, n)
	var chain []int
	for s := range n {
		chain = chain[:0]
		x := s
		for x >= 0 && state[x] == fresh {
			state[x] = onChain
			chain = append(chain, x)
			x = dep(x)
		}
		if x >= 0 && state[x] == onChain { // the chain's end points back into it
			late = append(late, chain[len(chain)-1])
		}
		for k := len(chain) - 1; k >= 0; k-- {
			order = append(order, chain[k])
			state[chain[k]] = placed
		}
	}
	return order, late
}

// setManagerLater takes the manager out of c and plans an UpdateUser that
// sets it once every user is created.
func (pl *planner) setManagerLater(c *usersync.Change) {
	m := &pl.managers
	later := usersync.Change{Kind: usersync.UpdateUser, User: c.User, Attrs: []string{m.attr}}
	switch c.Kind {
	case usersync.CreateUser:
		names := c.User.Attrs.Layout().Names()
		i := slices.Index(names, m.attr)
		if i < 0 {
			return
		}
		c.User.Attrs = pl.layouts.project(c.User.Attrs, slices.Delete(names, i, i+1))
	default:
		i := slices.Index(c.Attrs, m.attr)
		if i < 0 {
			return
		}
		old := usersync.Record{Attrs: c.Before}
		later.Before = pl.before(&old, later.Attrs)
		c.Attrs = slices.Delete(slices.Clone(c.Attrs), i, i+1)
		c.Before = pl.before(&old, c.Attrs)
		if len(c.Attrs) == 0 {
			c.Attrs = nil
		}
	}
	pl.updates = append(pl.updates, later)
}

package reconcile

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/usersync/usersync"
)

// pair plans the change, if any, from Sink user u to held feed row i,
// which the match key of index k matched.
func (pl *planner) pair(i int32, u *usersync.Record, k int) { pl.pairRow(&pl.recs[i], i, u, k) }

// pairRow plans the change, if any, from Sink user u to feed row d, held
// as row i or, when i is -1, not held (see pairDeferred), which the match
// key of index k matched.
func (pl *planner) pairRow(d *usersync.Record, i int32, u *usersync.Record, k int) {
	if !u.Managed {
		if pl.adoptable(d, u, k) {
			pl.adopt(d, i, u)
		} else {
			pl.plan.Manual++
		}
		return
	}
	attrs := d.Attrs.Diff(u.Attrs)
	if attrs != nil {
		attrs = pl.writable(d, attrs, false)
	}
	join, leave := pl.memberships(d, i, u.Groups)
	if attrs == nil && join == nil && leave == nil && d.Inactive == u.Inactive && d.Key == u.Key && !u.Missing() {
		pl.plan.Unchanged++ // the hot path: most users did not change
		return
	}
	pl.change(d, u, attrs, join, leave)
}

// change plans what a managed user u that differs from feed row d needs.
func (pl *planner) change(d *usersync.Record, u *usersync.Record, attrs, join, leave []string) {
	if d.Inactive && pl.policy.Mode == Delta && pl.policy.Absent == Delete {
		// In a delta file an inactive row is a leaver.
		gone := *u
		gone.Origin = d.Origin // for the record: Sinks ignore it
		pl.add(pl.deletes, usersync.Change{Kind: usersync.DeleteUser, User: gone})
		return
	}
	c := usersync.Change{User: *d, Attrs: attrs, Join: join, Leave: leave, Before: pl.before(u, attrs)}
	if d.Key != u.Key {
		c.OldKey = u.Key
	}
	var list *usersync.ChangeSorter
	switch {
	case !d.Inactive && (u.Inactive || u.Missing()):
		c.Kind, list = usersync.RestoreUser, pl.restores // which clears the marker
	case d.Inactive && !u.Inactive:
		c.Kind, list = usersync.DeactivateUser, pl.deactivates
	case attrs != nil || join != nil || leave != nil || c.OldKey != "":
		c.Kind, list = usersync.UpdateUser, pl.updates
	}
	switch {
	case c.OldKey != "":
		// Re-keys apply before anything else: later changes, such as a
		// manager reference, know the user by the new key.
		pl.rekeys = append(pl.rekeys, c)
	case list != nil:
		pl.add(list, c)
	}
	if u.Missing() && c.Kind != usersync.RestoreUser {
		// In the feed again, though inactive: not missing any more.
		pl.add(pl.marks, usersync.Change{Kind: usersync.MarkMissing, User: usersync.Record{Key: d.Key}})
	}
}

// adoptable reports whether feed row d may take over u, a user created by
// hand that the match key of index k matched: the two agree on a key that
// adopts.
func (pl *planner) adoptable(d, u *usersync.Record, k int) bool {
	if pl.keys[k].Adopt {
		return true
	}
	for j := range pl.keys {
		key := &pl.keys[j]
		if key.Adopt {
			if v := key.value(d); v != "" && v == key.value(u) {
				return true
			}
		}
	}
	return false
}

// adopt plans the take-over of u, created by hand, by feed row d (held as
// row i, or -1): the row's attributes are written as for a create, and the
// user becomes managed.
func (pl *planner) adopt(d *usersync.Record, i int32, u *usersync.Record) {
	attrs := pl.writable(d, d.Attrs.Layout().Names(), true)
	join, leave := pl.memberships(d, i, u.Groups)
	c := usersync.Change{
		Kind: usersync.AdoptUser, Invite: pl.policy.Invite, User: *d, Attrs: attrs,
		Join: join, Leave: leave, Before: pl.before(u, attrs),
	}
	if d.Key != u.Key {
		c.OldKey = u.Key
	}
	pl.rekeys = append(pl.rekeys, c)
}

// create plans the creation of feed row i.
func (pl *planner) create(i int32) { pl.createRow(&pl.recs[i], i) }

// createRow plans the creation of feed row d, held as row i, or not (-1).
func (pl *planner) createRow(d *usersync.Record, i int32) {
	u := *d
	u.Attrs = pl.createAttrs(d)
	if pl.acct != nil || pl.policy.NoCreateGroups {
		u.Groups, _ = pl.memberships(d, i, nil)
		if u.Groups == nil && d.Groups != nil {
			u.Groups = []string{} // in no group, rather than saying nothing
		}
	}
	pl.creates = append(pl.creates, usersync.Change{Kind: usersync.CreateUser, Invite: pl.policy.Invite, User: u, Join: u.Groups})
}

// createNow plans the creation of feed row r as the merge meets it (see
// createsAsRead): all of it, as create would. An inactive row creates
// nobody, but a later match key may still find it a user to deactivate.
func (pl *planner) createNow(r *usersync.FeedRecord) error {
	pl.laterValues(&r.Record, func(h uint64) { pl.newRows = append(pl.newRows, newRow{h, int32(r.Index)}) })
	if r.Inactive {
		pl.managers.noteIdle(&r.Record)
		return nil
	}
	join := pl.newJoinsOf(&r.Record)
	c := usersync.Change{Kind: usersync.CreateUser, Invite: pl.policy.Invite, User: r.Record, Join: join}
	if pl.acct != nil || (len(join) > 0 && pl.policy.NoCreateGroups) {
		if len(join) > 0 && pl.policy.NoCreateGroups {
			join = pl.knownGroups(&r.Record, join)
		}
		if join == nil && r.Groups != nil {
			join = []string{} // in no group, rather than saying nothing
		}
		c.Join, c.User.Groups = join, join
	}
	for _, g := range c.Join {
		pl.newJoins[g]++
	}
	c.User.Attrs = pl.createAttrs(&r.Record)
	pl.managers.note(&r.Record)
	return pl.newUsers.Write(&c)
}

// newJoinsOf returns the groups a new user of the single row r joins,
// before NoCreateGroups drops those the Sink lacks: the row's groups, and
// with accounts, its file's account too (see accounts.memberships).
func (pl *planner) newJoinsOf(r *usersync.Record) []string {
	if pl.acct != nil {
		return pl.acct.want(nil, r)
	}
	return r.Groups
}

// undoCreate takes back what createNow did for r, which takeBack gives
// back to the planner: its joins, and its warnings of unknown groups.
func (pl *planner) undoCreate(r *usersync.FeedRecord) {
	if r.Inactive {
		return // createNow planned nothing for it
	}
	unknown := 0
	for _, g := range pl.newJoinsOf(&r.Record) {
		if pl.policy.NoCreateGroups && !pl.sinkGroups.has(g) {
			unknown++
			continue
		}
		if pl.newJoins[g]--; pl.newJoins[g] == 0 {
			delete(pl.newJoins, g)
		}
	}
	pl.warnings.drop(r.Origin, unknown)
}

// absent plans what Policy.Absent and Policy.Grace say for a managed user
// missing from the feed.
func (pl *planner) absent(u *usersync.Record) {
	p := pl.policy
	if p.Mode == Delta || p.Absent == Ignore {
		return
	}
	if p.Grace.on() && !pl.graceOver(u) {
		pl.markMissing(u)
		return
	}
	switch p.Absent {
	case Deactivate:
		if !u.Inactive {
			pl.add(pl.deactivates, usersync.Change{Kind: usersync.DeactivateUser, User: *u, Reason: pl.outOfScope(u)})
		}
	case Delete:
		pl.add(pl.deletes, usersync.Change{Kind: usersync.DeleteUser, User: *u, Reason: pl.outOfScope(u)})
	}
}

// graceOver reports whether u, missing again in this run, has used up the
// grace period.
func (pl *planner) graceOver(u *usersync.Record) bool {
	g := pl.policy.Grace
	if !u.Missing() {
		return false
	}
	runs := g.Runs == 0 || int(u.MissingRuns) >= g.Runs
	long := g.For == 0 || pl.now.Sub(time.Unix(u.MissingSince, 0)) >= g.For
	return runs && long
}

// markMissing plans the marker of a user missing within the grace period:
// set on the first run, counted on each later one when the grace period
// counts runs, and deactivated at once if the policy says so.
func (pl *planner) markMissing(u *usersync.Record) {
	m := *u
	switch {
	case !u.Missing():
		m.MissingRuns, m.MissingSince = 1, pl.now.Unix()
	case pl.policy.Grace.Runs > 0 && u.MissingRuns < math.MaxUint16:
		m.MissingRuns++
	default:
		m.MissingRuns = 0 // nothing to mark
	}
	if m.MissingRuns != 0 {
		pl.add(pl.marks, usersync.Change{Kind: usersync.MarkMissing, User: m, Reason: pl.outOfScope(u)})
	}
	if pl.policy.Grace.Deactivate && !u.Inactive {
		pl.add(pl.deactivates, usersync.Change{Kind: usersync.DeactivateUser, User: *u, Reason: pl.outOfScope(u)})
	}
}

// add plans c in s, noting the groups it joins for planGroups. A sorter
// that fails to write its changes to disk keeps the error, which list
// returns.
func (pl *planner) add(s *usersync.ChangeSorter, c usersync.Change) {
	for _, g := range c.Join {
		pl.joined[g] = struct{}{}
	}
	_ = s.Add(&c) // see above
}

// writable returns the names the sync may write of those given for feed
// row d, in their order: attribute rules apply, and a manager reference
// that matches nobody is left out. creating says the user is being created
// or adopted. It returns nil when none is left.
func (pl *planner) writable(d *usersync.Record, names []string, creating bool) []string {
	p := pl.policy
	if len(p.Attrs) == 0 && p.Manager.Attr == "" {
		return names
	}
	out := names[:0:0]
	for _, n := range names {
		r := p.Attrs[n]
		switch {
		case r.Write == Never, r.Write == OnCreate && !creating:
		case r.KeepEmpty && d.Attrs.Value(n) == "":
		case n == p.Manager.Attr && !pl.managers.resolved(d):
		default:
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// createAttrs returns the attributes of feed row d that a create writes:
// all of them, but those the policy keeps out.
func (pl *planner) createAttrs(d *usersync.Record) usersync.Attrs {
	a := d.Attrs
	if len(pl.policy.Attrs) == 0 && pl.policy.Manager.Attr == "" {
		return a // a first sync creates a million users: no copy of each
	}
	names := a.Layout().Names()
	keep := pl.writable(d, names, true)
	if len(keep) == len(names) {
		return a
	}
	return pl.layouts.project(a, keep)
}

// before returns u's values of those of the named attributes it has, for a
// person reviewing the plan.
func (pl *planner) before(u *usersync.Record, names []string) usersync.Attrs {
	had := make([]string, 0, len(names))
	for _, n := range names {
		if _, ok := u.Attrs.Get(n); ok {
			had = append(had, n)
		}
	}
	if len(had) == 0 {
		return usersync.Attrs{}
	}
	return pl.layouts.project(u.Attrs, had)
}

// memberships returns the groups feed row d (held as row i, or -1) makes
// its user join and leave, given the user's current groups. A feed without
// a groups column says nothing about them; with accounts, a user is in the
// account of each file that lists them, and its rows are held.
func (pl *planner) memberships(d *usersync.Record, i int32, have []string) (join, leave []string) {
	if pl.acct != nil {
		join, leave = pl.acct.memberships(pl, d, i, have)
	} else if want := d.Groups; want != nil {
		join, leave = diffSorted(want, have)
	}
	if join != nil && pl.policy.NoCreateGroups {
		join = pl.knownGroups(d, join)
	}
	return join, leave
}

// knownGroups drops from join the groups the Sink does not hold, with a
// warning for each on row r.
func (pl *planner) knownGroups(r *usersync.Record, join []string) []string {
	out := join[:0:0]
	for _, g := range join {
		if pl.sinkGroups.has(g) {
			out = append(out, g)
			continue
		}
		pl.warnings.add(r, "groups", g, ErrUnknownGroup)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// layoutCache gives projected attributes with the same names one Layout.
type layoutCache map[string]*usersync.Layout

// project returns a's values of the named attributes (missing ones empty).
func (c *layoutCache) project(a usersync.Attrs, names []string) usersync.Attrs {
	if *c == nil {
		*c = make(layoutCache)
	}
	id := strings.Join(names, "\x00")
	l, ok := (*c)[id]
	if !ok {
		l = usersync.NewLayout(slices.Clone(names)...)
		(*c)[id] = l
	}
	values := make([]string, len(names))
	for j, n := range names {
		values[j] = a.Value(n)
	}
	return l.Make(values)
}

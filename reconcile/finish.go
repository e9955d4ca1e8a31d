package reconcile

import (
	"cmp"
	"errors"
	"slices"

	"github.com/usersync/usersync"
)

// finish orders the changes, checks the guards and hands over the
// warnings.
func (pl *planner) finish() {
	pl.warnUnresolved()
	pl.orderCreates()
	byKey := func(a, b usersync.Change) int { return cmp.Compare(a.User.Key, b.User.Key) }
	for _, cs := range [][]usersync.Change{pl.rekeys, pl.restores, pl.updates, pl.marks, pl.deactivates, pl.deletes} {
		slices.SortStableFunc(cs, byKey)
	}
	p := pl.plan
	p.Changes = pl.concat()
	p.Warnings, p.WarningsTotal = pl.warnings.rowErrors(pl.recs), pl.warnings.total
	p.Hold = pl.guards(p.Counts())
}

// guards checks the plan against the policy's guards, and returns the
// GuardErrors of those that trip, joined.
func (pl *planner) guards(c usersync.Counts) error {
	pop := pl.plan.Population
	var errs []error
	for _, g := range []struct {
		guard Guard
		what  string
		count int
		def   guardDefaults
	}{
		{pl.policy.RemoveGuard, "deactivations and deletions", c.Deactivated + c.Deleted, removeDefaults},
		{pl.policy.UpdateGuard, "updates and restores", c.Updated + c.Restored, updateDefaults},
		{pl.policy.CreateGuard, "creations and adoptions", c.Created + c.Adopted, createDefaults},
	} {
		if ge := g.guard.check(g.what, g.count, pop, g.def); ge != nil {
			errs = append(errs, ge)
		}
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// concat joins the changes of each kind in apply order. A first load is all
// creates: they are moved along in their own array, which createMissingUsers
// made with room for the rest, rather than copied to a new one as large.
func (pl *planner) concat() []usersync.Change {
	head := slices.Concat(pl.groupChanges, pl.rekeys)
	tail := [][]usersync.Change{pl.restores, pl.updates, pl.marks, pl.deactivates, pl.deletes}
	n := len(head) + len(pl.creates)
	for _, t := range tail {
		n += len(t)
	}
	cs := pl.creates
	if cap(cs) < n || len(cs) < n/2 {
		return slices.Concat(append([][]usersync.Change{head, pl.creates}, tail...)...)
	}
	cs = slices.Insert(cs, 0, head...) // in place: there is room
	for _, t := range tail {
		cs = append(cs, t...)
	}
	return cs
}

package reconcile

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/usersync/usersync"
)

// finish orders the changes, lists them in the plan, checks the guards and
// hands over the warnings.
func (pl *planner) finish() error {
	pl.warnUnresolved()
	byKey := func(a, b usersync.Change) int { return cmp.Compare(a.User.Key, b.User.Key) }
	slices.SortStableFunc(pl.creates, byKey)
	pl.orderCreates()
	for _, cs := range [][]usersync.Change{pl.rekeys, pl.restores, pl.updates, pl.marks, pl.deactivates, pl.deletes} {
		slices.SortStableFunc(cs, byKey)
	}
	p := pl.plan
	var err error
	if p.Changes, err = pl.list(); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	p.Warnings, p.WarningsTotal = pl.warnings.rowErrors(), pl.warnings.total
	p.Hold = pl.guards(p.Counts())
	return nil
}

// list joins the changes of each kind in apply order, in a list that keeps
// them within the run's memory budget. Each kind's slice goes into the
// list as it is, as far as the budget allows, so that memory holds each
// change once.
func (pl *planner) list() (usersync.ChangeList, error) {
	w := pl.feed.ChangeWriter()
	write := func(cs *[]usersync.Change) error {
		err := w.WriteSlice(*cs)
		*cs = nil
		return err
	}
	for _, cs := range []*[]usersync.Change{&pl.groupChanges, &pl.rekeys} {
		if err := write(cs); err != nil {
			return usersync.ChangeList{}, err
		}
	}
	if err := pl.listCreates(w); err != nil {
		return usersync.ChangeList{}, err
	}
	pl.creates = nil
	for _, cs := range []*[]usersync.Change{&pl.restores, &pl.updates, &pl.marks, &pl.deactivates, &pl.deletes} {
		if err := write(cs); err != nil {
			return usersync.ChangeList{}, err
		}
	}
	return w.List()
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

// listCreates writes the creates: those planned as the merge read their
// rows, less those taken back, merged in key order with those planned from
// the rows held. When there are only the former, their list is kept as it
// is, in memory or on disk.
func (pl *planner) listCreates(w *usersync.ChangeWriter) error {
	held := pl.creates
	if pl.newUsers == nil {
		return w.WriteSlice(held)
	}
	read, err := pl.newUsers.List()
	if err != nil {
		return err
	}
	if len(held) == 0 && len(pl.takenBack) == 0 {
		return w.WriteList(read)
	}
	for c, err := range read.All() {
		if err != nil {
			return err
		}
		if _, ok := pl.takenBack[c.User.Key]; ok {
			continue
		}
		n := 0
		for n < len(held) && held[n].User.Key < c.User.Key {
			n++
		}
		if err := w.WriteSlice(held[:n]); err != nil {
			return err
		}
		held = held[n:]
		if err := w.Write(&c); err != nil {
			return err
		}
	}
	return w.WriteSlice(held)
}

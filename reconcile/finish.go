package reconcile

import (
	"cmp"
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/usersync/usersync"
)

// finish orders the changes, lists them in the plan, checks the guards and
// hands over the warnings. The kinds kept by ChangeSorters are ordered as
// they are listed.
func (pl *planner) finish() error {
	pl.warnUnresolved()
	pl.dropRows()
	slices.SortStableFunc(pl.creates, byKey)
	slices.SortStableFunc(pl.rekeys, byKey)
	p := pl.plan
	var err error
	if p.Changes, err = pl.list(); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	p.Warnings, p.WarningsTotal = pl.warnings.rowErrors(), pl.warnings.total
	p.Hold = pl.guards(p.Counts())
	return nil
}

// dropRows lets go of the feed's rows and what indexes them, once every
// row is planned: the changes hold what they need of them, and the
// collector can take the rest while the list of changes is built, the
// moment a nightly sync of millions of users holds the most.
func (pl *planner) dropRows() {
	pl.recs, pl.byKey, pl.keyOrder, pl.state = nil, nil, nil, nil
	pl.leftovers, pl.newRows = nil, nil
}

// list joins the changes of each kind in apply order, in a list that keeps
// them within the run's memory budget. Each kind's changes held in memory
// go into the list as they are, as far as the budget allows, so that
// memory holds each change once; a kind's sorted runs on disk are merged
// into it.
func (pl *planner) list() (usersync.ChangeList, error) {
	var read usersync.ChangeList
	if pl.newUsers != nil {
		var err error
		if read, err = pl.newUsers.List(); err != nil {
			return usersync.ChangeList{}, err
		}
	}
	var lv *levels
	if pl.managers.attr != "" && len(pl.creates)+read.Len() > 0 {
		var err error
		if lv, err = pl.orderCreates(read); err != nil {
			return usersync.ChangeList{}, err
		}
	}
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
	var err error
	if lv != nil {
		err = pl.listOrdered(w, read, lv) // which may plan more updates
	} else {
		err = pl.listCreates(w, read)
	}
	if err != nil {
		return usersync.ChangeList{}, err
	}
	pl.creates = nil
	for _, s := range []*usersync.ChangeSorter{pl.restores, pl.updates, pl.marks, pl.deactivates, pl.deletes} {
		if err := w.WriteSorted(s); err != nil {
			return usersync.ChangeList{}, err
		}
	}
	return w.List()
}

// byKey orders changes by their user's key.
func byKey(a, b usersync.Change) int { return cmp.Compare(a.User.Key, b.User.Key) }

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

// listCreates writes the creates in key order (see allCreates). When
// there are only those planned as the merge read their rows, their list
// is kept as it is, in memory or on disk; when there are only those planned
// from the rows held (every create, on the path that holds the feed),
// their slice is kept as it is.
func (pl *planner) listCreates(w *usersync.ChangeWriter, read usersync.ChangeList) error {
	switch {
	case read.Len() == 0:
		return w.WriteSlice(pl.creates)
	case len(pl.creates) == 0 && len(pl.takenBack) == 0:
		return w.WriteList(read)
	}
	for c, err := range pl.allCreates(read) {
		if err != nil {
			return err
		}
		if err := w.Write(&c); err != nil {
			return err
		}
	}
	return nil
}

// allCreates yields the creates in key order: those planned as the merge
// read their rows (read), less those taken back, and those planned from
// the rows held.
func (pl *planner) allCreates(read usersync.ChangeList) iter.Seq2[usersync.Change, error] {
	return func(yield func(usersync.Change, error) bool) {
		held := pl.creates
		for c, err := range read.All() {
			if err != nil {
				yield(usersync.Change{}, err)
				return
			}
			if _, ok := pl.takenBack[c.User.Key]; ok {
				continue
			}
			for len(held) > 0 && held[0].User.Key < c.User.Key {
				if !yield(held[0], nil) {
					return
				}
				held = held[1:]
			}
			if !yield(c, nil) {
				return
			}
		}
		for _, c := range held {
			if !yield(c, nil) {
				return
			}
		}
	}
}

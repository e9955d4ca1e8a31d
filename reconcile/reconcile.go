// Package reconcile is usersync's default Reconciler: a keyed diff between
// the feed and the Sink under a safety [Policy].
//
// It matches feed records and Sink users by [usersync.Record.Key] and plans:
//
//   - CreateUser for feed users the Sink does not hold (unless the feed marks
//     them inactive: there is nobody to deactivate);
//   - UpdateUser for managed users whose mapped attributes or memberships
//     differ; only attributes the feed holds are compared and written;
//   - RestoreUser and DeactivateUser when the feed's status column changes a
//     user's state;
//   - DeactivateUser, DeleteUser or nothing for managed users missing from
//     the feed, as Policy.Absent says;
//   - CreateGroup for group IDs the feed uses that the Sink lacks.
//
// It never touches users created by hand ([usersync.Record.Managed] false),
// even when a feed row has their key, and never treats a user whose row was
// rejected as missing. Rows that share a key are all rejected. The removal
// guard holds the plan ([usersync.Plan.Hold]) when it would deactivate or
// delete too many users.
//
// The feed is indexed in memory; the Sink's users are streamed past the index
// once, so a directory of a million users is not held twice.
package reconcile

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/usersync/usersync"
)

// A Reconciler plans changes with a keyed diff under a Policy.
type Reconciler struct {
	policy Policy
}

var _ usersync.Reconciler = (*Reconciler)(nil)

// New returns a Reconciler. A nil policy means the zero Policy: the safe
// defaults.
func New(p *Policy) *Reconciler {
	r := &Reconciler{}
	if p != nil {
		r.policy = *p
	}
	return r
}

// row states while planning.
const (
	unseen   uint8 = iota
	seen           // the Sink holds the user
	rejected       // the key is shared with another row
)

// ctxCheckEvery is how many Sink users are compared between two looks at ctx.
const ctxCheckEvery = 4096

// Reconcile plans the changes that bring current in line with feed.
func (r *Reconciler) Reconcile(ctx context.Context, feed *usersync.Feed, current usersync.Lister) (*usersync.Plan, error) {
	pl := &planner{policy: &r.policy, feed: feed, plan: &usersync.Plan{}}
	pl.index()
	if err := pl.compareUsers(ctx, current); err != nil {
		return nil, err
	}
	pl.createMissingUsers()
	if err := pl.createMissingGroups(ctx, current); err != nil {
		return nil, err
	}
	pl.finish()
	return pl.plan, nil
}

// planner is the state of one Reconcile call.
type planner struct {
	policy *Policy
	feed   *usersync.Feed
	plan   *usersync.Plan

	byKey map[string]int32 // feed key -> index in feed.Records
	state []uint8          // per feed record: unseen, seen, rejected
	// present holds keys of users who are in the feed although none of
	// their rows can be used (rejected by the Mapper or for duplicates).
	present map[string]struct{}

	// changes by kind, merged in apply order by finish.
	groups, creates, restores, updates, deactivates, deletes []usersync.Change
}

// index builds the key index and rejects rows that share a key.
func (pl *planner) index() {
	recs := pl.feed.Records
	pl.byKey = make(map[string]int32, len(recs))
	pl.state = make([]uint8, len(recs))
	pl.present = make(map[string]struct{})
	for _, re := range pl.feed.Rejected {
		if re.Key != "" {
			pl.present[re.Key] = struct{}{}
		}
	}
	var dups map[string][]int32
	for i := range recs {
		k := recs[i].Key
		if first, dup := pl.byKey[k]; dup {
			if dups == nil {
				dups = make(map[string][]int32)
			}
			if dups[k] == nil {
				dups[k] = []int32{first}
			}
			dups[k] = append(dups[k], int32(i))
			continue
		}
		pl.byKey[k] = int32(i)
	}
	for k, idx := range dups {
		pl.rejectDuplicates(k, idx)
	}
	slices.SortFunc(pl.plan.Rejected, func(a, b *usersync.RowError) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
}

// rejectDuplicates rejects every row with key k, naming the others in each
// message, and keeps the user as present so nobody is deactivated for it.
func (pl *planner) rejectDuplicates(k string, idx []int32) {
	delete(pl.byKey, k)
	pl.present[k] = struct{}{}
	recs := pl.feed.Records
	for _, i := range idx {
		pl.state[i] = rejected
		var others []string
		for _, j := range idx {
			if j != i {
				others = append(others, recs[j].Origin.String())
			}
		}
		pl.plan.Rejected = append(pl.plan.Rejected, &usersync.RowError{
			File: recs[i].Origin.File, Line: recs[i].Origin.Line, Value: k, Key: k,
			Err: fmt.Errorf("%w: also on %s", usersync.ErrDuplicateKey, strings.Join(others, ", ")),
		})
	}
}

// compareUsers streams the Sink's users past the index.
func (pl *planner) compareUsers(ctx context.Context, current usersync.Lister) error {
	n := 0
	for u, err := range current.Users(ctx) {
		if err != nil {
			return fmt.Errorf("list users: %w", err)
		}
		if n++; n%ctxCheckEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if u.Managed && !u.Inactive {
			pl.plan.Population++
		}
		i, inFeed := pl.byKey[u.Key]
		switch {
		case inFeed:
			pl.state[i] = seen
			if !u.Managed {
				pl.plan.Manual++
				continue
			}
			pl.diff(&pl.feed.Records[i], &u)
		case !u.Managed:
			// Created by hand and not in the feed: not ours.
		default:
			if _, ok := pl.present[u.Key]; !ok {
				pl.absent(&u)
			}
		}
	}
	return nil
}

// diff plans the change, if any, from a managed user u to feed record d.
func (pl *planner) diff(d, u *usersync.Record) {
	c := usersync.Change{User: *d, Attrs: d.Attrs.Diff(u.Attrs)}
	if d.Groups != nil { // nil: the feed says nothing about groups
		c.Join, c.Leave = diffSorted(d.Groups, u.Groups)
	}
	switch {
	case !d.Inactive && u.Inactive:
		c.Kind = usersync.RestoreUser
		pl.restores = append(pl.restores, c)
	case d.Inactive && !u.Inactive:
		c.Kind = usersync.DeactivateUser
		pl.deactivates = append(pl.deactivates, c)
	case c.Attrs != nil || c.Join != nil || c.Leave != nil:
		c.Kind = usersync.UpdateUser
		pl.updates = append(pl.updates, c)
	default:
		pl.plan.Unchanged++
	}
}

// absent plans what Policy.Absent says for a managed user missing from the feed.
func (pl *planner) absent(u *usersync.Record) {
	switch pl.policy.Absent {
	case Deactivate:
		if !u.Inactive {
			pl.deactivates = append(pl.deactivates, usersync.Change{Kind: usersync.DeactivateUser, User: *u})
		}
	case Delete:
		pl.deletes = append(pl.deletes, usersync.Change{Kind: usersync.DeleteUser, User: *u})
	}
}

// createMissingUsers plans a create for each active feed user the Sink lacks,
// in feed order.
func (pl *planner) createMissingUsers() {
	recs := pl.feed.Records
	for i := range recs {
		if pl.state[i] != unseen || recs[i].Inactive {
			continue
		}
		pl.creates = append(pl.creates, usersync.Change{Kind: usersync.CreateUser, User: recs[i], Join: recs[i].Groups})
	}
}

// createMissingGroups plans a CreateGroup for each group ID that a planned
// change joins and the Sink does not hold.
func (pl *planner) createMissingGroups(ctx context.Context, current usersync.Lister) error {
	wanted := make(map[string]struct{})
	for _, cs := range [][]usersync.Change{pl.creates, pl.restores, pl.updates, pl.deactivates} {
		for i := range cs {
			for _, g := range cs[i].Join {
				wanted[g] = struct{}{}
			}
		}
	}
	if len(wanted) == 0 {
		return nil
	}
	for g, err := range current.Groups(ctx) {
		if err != nil {
			return fmt.Errorf("list groups: %w", err)
		}
		delete(wanted, g.ID)
	}
	for id := range wanted {
		pl.groups = append(pl.groups, usersync.Change{Kind: usersync.CreateGroup, Group: usersync.Group{ID: id, Name: id}})
	}
	slices.SortFunc(pl.groups, func(a, b usersync.Change) int { return cmp.Compare(a.Group.ID, b.Group.ID) })
	return nil
}

// finish orders the changes and checks the guards.
func (pl *planner) finish() {
	byKey := func(a, b usersync.Change) int { return cmp.Compare(a.User.Key, b.User.Key) }
	for _, cs := range [][]usersync.Change{pl.restores, pl.updates, pl.deactivates, pl.deletes} {
		slices.SortFunc(cs, byKey)
	}
	pl.plan.Changes = slices.Concat(pl.groups, pl.creates, pl.restores, pl.updates, pl.deactivates, pl.deletes)
	removals := len(pl.deactivates) + len(pl.deletes)
	if g := pl.policy.RemoveGuard.check("deactivations and deletions", removals, pl.plan.Population); g != nil {
		pl.plan.Hold = g
	}
}

// diffSorted returns the elements only in want and only in have, both sorted.
func diffSorted(want, have []string) (add, remove []string) {
	i, j := 0, 0
	for i < len(want) || j < len(have) {
		switch {
		case j == len(have) || i < len(want) && want[i] < have[j]:
			add = append(add, want[i])
			i++
		case i == len(want) || have[j] < want[i]:
			remove = append(remove, have[j])
			j++
		default:
			i++
			j++
		}
	}
	return add, remove
}

package reconcile

import (
	"maps"
	"slices"

	"github.com/usersync/usersync"
)

// planGroups plans a CreateGroup for each group that a planned change joins
// and the Sink does not hold, and for the parents of those the feed lists
// (on a Sink that stores them), and a RenameGroup for each group the Sink
// holds under another name than the feed or the policy gives it, or, on a
// Sink that stores them (see usersync.GroupLinker), with another Parent or
// Account than the feed's Groups give it.
func (pl *planner) planGroups() {
	names := pl.groupNames()
	listed := pl.listedGroups()
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
			for p := listed[id].Parent; p != ""; p = listed[p].Parent {
				_, held := pl.sinkGroups[p]
				if _, ok := wanted[p]; ok || held {
					break
				}
				wanted[p] = struct{}{}
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(wanted)) {
		if _, ok := pl.sinkGroups[id]; !ok {
			g := usersync.Group{ID: id, Name: names[id]}
			if g.Name == "" {
				g.Name = id
			}
			if pl.links {
				g.Parent, g.Account = listed[id].Parent, listed[id].Account
			}
			pl.groupChanges = append(pl.groupChanges, usersync.Change{Kind: usersync.CreateGroup, Group: g})
		}
	}
	ids := slices.Collect(maps.Keys(names))
	if pl.links {
		ids = append(ids, slices.Collect(maps.Keys(listed))...)
	}
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		cur, ok := pl.sinkGroups[id]
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
			pl.groupChanges = append(pl.groupChanges, usersync.Change{Kind: usersync.RenameGroup, Group: g})
		}
	}
}

// groupNames returns the display names the run gives groups: the first a
// file gives (Feed.Groups), unless an Account names its group.
func (pl *planner) groupNames() map[string]string {
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
	return names
}

// listedGroups returns the groups Feed.Groups lists, the first entry of
// each ID.
func (pl *planner) listedGroups() map[string]usersync.Group {
	listed := make(map[string]usersync.Group, len(pl.feed.Groups))
	for _, g := range pl.feed.Groups {
		if _, ok := listed[g.ID]; !ok && g.ID != "" {
			listed[g.ID] = g
		}
	}
	return listed
}

package reconcile

import (
	"maps"
	"slices"

	"github.com/usersync/usersync"
)

// planGroups plans a CreateGroup for each group that a planned change joins
// and the Sink does not hold, and a RenameGroup for each group the Sink
// holds under another name than the feed or the policy gives it.
func (pl *planner) planGroups() {
	names := pl.groupNames()
	wanted := make(map[string]struct{})
	for _, cs := range [][]usersync.Change{pl.rekeys, pl.creates, pl.restores, pl.updates, pl.deactivates} {
		for i := range cs {
			for _, g := range cs[i].Join {
				wanted[g] = struct{}{}
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(wanted)) {
		if _, ok := pl.sinkGroups[id]; !ok {
			name := names[id]
			if name == "" {
				name = id
			}
			pl.groupChanges = append(pl.groupChanges, usersync.Change{Kind: usersync.CreateGroup, Group: usersync.Group{ID: id, Name: name}})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(names)) {
		if cur, ok := pl.sinkGroups[id]; ok && cur != names[id] {
			pl.groupChanges = append(pl.groupChanges, usersync.Change{Kind: usersync.RenameGroup, Group: usersync.Group{ID: id, Name: names[id]}})
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

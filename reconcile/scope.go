package reconcile

import (
	"slices"
	"strings"

	"github.com/usersync/usersync"
)

// outOfScope returns why the managed user u, absent from the feed, is
// absent when a filter of the Mapper left its row out of the sync's scope
// (see usersync.Feed.OutOfScope): "out of scope: rule contractors". It
// returns "" for a user whose row is simply gone. The absent-user policy
// applies either way; the reason is for the person reading the plan.
func (pl *planner) outOfScope(u *usersync.Record) string {
	if len(pl.feed.OutOfScope) == 0 {
		return ""
	}
	if pl.scope == nil {
		// The Pipeline sorts them; a feed built by hand may not be.
		pl.scope = pl.feed.OutOfScope
		if !slices.IsSortedFunc(pl.scope, compareScope) {
			pl.scope = slices.Clone(pl.scope)
			slices.SortStableFunc(pl.scope, compareScope)
		}
	}
	s := pl.scope
	i, ok := slices.BinarySearchFunc(s, u.Key, func(o usersync.OutOfScope, k string) int { return strings.Compare(o.Key, k) })
	if !ok {
		return ""
	}
	return "out of scope: rule " + s[i].Rule
}

func compareScope(a, b usersync.OutOfScope) int { return strings.Compare(a.Key, b.Key) }

package reconcile

import (
	"maps"
	"slices"

	"github.com/usersync/usersync"
)

// matchLeftovers matches the rows and Sink users that the first key left
// over by the later keys, in order of precedence, then deals with the users
// still unmatched: a managed one is absent, one created by hand is not the
// feed's business.
func (pl *planner) matchLeftovers() {
	left := pl.leftovers
	done := make([]bool, len(left))
	for k := 1; k < len(pl.keys) && len(left) > 0; k++ {
		pl.matchBy(k, left, done)
	}
	for j := range left {
		if !done[j] && left[j].Managed {
			pl.absent(&left[j])
		}
	}
	pl.leftovers = nil
}

// matchBy matches the rows and users not matched yet by the key of index
// k, marking the users it matches (or leaves alone) in done.
func (pl *planner) matchBy(k int, left []usersync.Record, done []bool) {
	key := &pl.keys[k]
	rows := make(map[string][]int32)
	for i := range pl.recs {
		if pl.state[i] != unseen {
			continue
		}
		if v := key.value(&pl.recs[i]); v != "" {
			rows[v] = append(rows[v], int32(i))
		}
	}
	if len(rows) == 0 {
		return
	}
	users := make(map[string][]int)
	for j := range left {
		if done[j] {
			continue
		}
		if v := key.value(&left[j]); v != "" && rows[v] != nil {
			users[v] = append(users[v], j)
		}
	}
	for _, v := range slices.Sorted(maps.Keys(users)) {
		pl.matchValue(k, left, done, rows[v], users[v])
	}
}

// matchValue pairs the rows and users that share one value of the key of
// index k. One row and one user (or one managed user among several) are a
// match. Anything else is ambiguous: the rows are held back with a warning,
// and the users are left as they are rather than taken for leavers.
func (pl *planner) matchValue(k int, left []usersync.Record, done []bool, rows []int32, users []int) {
	for _, j := range users {
		done[j] = true
	}
	if j, ok := pick(left, users); ok && len(rows) == 1 {
		pl.state[rows[0]] = seen
		pl.pair(rows[0], &left[j], k)
		return
	}
	for _, i := range rows {
		pl.state[i] = ambiguous
		pl.warnings.add(&pl.recs[i], pl.keys[k].String(), pl.keys[k].value(&pl.recs[i]), ErrAmbiguousMatch)
	}
}

// pick chooses the user a value finds among several: the only one, or the
// only managed one.
func pick(left []usersync.Record, users []int) (int, bool) {
	if len(users) == 1 {
		return users[0], true
	}
	found, n := 0, 0
	for _, j := range users {
		if left[j].Managed {
			found, n = j, n+1
		}
	}
	return found, n == 1
}

package reconcile

import (
	"fmt"

	"github.com/usersync/usersync"
)

// Absent says what happens to a managed user who is missing from the feed.
type Absent uint8

// What to do with managed users missing from the feed. The zero value,
// Deactivate, is the safe default: a user dropped by mistake keeps their
// data and comes back with RestoreUser when the next file lists them again.
const (
	Deactivate Absent = iota // deactivate, keep the user
	Delete                   // delete the user
	Ignore                   // leave the user as they are
)

// String returns "deactivate", "delete" or "ignore".
func (a Absent) String() string {
	switch a {
	case Deactivate:
		return "deactivate"
	case Delete:
		return "delete"
	case Ignore:
		return "ignore"
	}
	return fmt.Sprintf("Absent(%d)", uint8(a))
}

// Policy is what a Reconciler may do. It is plain data: a host builds it from
// its own settings. The zero Policy is the safe default: absent users are
// deactivated, and the removal guard holds a plan that would deactivate or
// delete more than 10% (with at least 50 managed users) or more than 500 of
// them.
type Policy struct {
	// Absent is what happens to managed users missing from the feed.
	Absent Absent
	// RemoveGuard limits deactivations plus deletions in one plan.
	RemoveGuard Guard
}

// A Guard holds a plan for an administrator's approval when it would change
// too many users at once: more than Max of them, or more than Percent of the
// managed population when that population is at least MinPopulation.
//
// Each zero field takes the default below; a negative Percent or Max turns
// that limit off, and Disabled turns the whole guard off.
type Guard struct {
	Percent       float64 // default 10
	Max           int     // default 500
	MinPopulation int     // default 50: below it only Max applies
	Disabled      bool
}

// Defaults of the removal guard, after Clever's 10% and Entra Connect's 500.
const (
	DefaultGuardPercent       = 10
	DefaultGuardMax           = 500
	DefaultGuardMinPopulation = 50
)

// check returns a GuardError if count changes out of population break the guard.
func (g Guard) check(what string, count, population int) *usersync.GuardError {
	if g.Disabled || count == 0 {
		return nil
	}
	trip := func(limit string) *usersync.GuardError {
		return &usersync.GuardError{Guard: what, Count: count, Population: population, Limit: limit}
	}
	if max := orDefault(g.Max, DefaultGuardMax); max >= 0 && count > max {
		return trip(fmt.Sprint(max))
	}
	pct := g.Percent
	if pct == 0 {
		pct = DefaultGuardPercent
	}
	minPop := orDefault(g.MinPopulation, DefaultGuardMinPopulation)
	if pct >= 0 && population >= minPop {
		if limit := pct / 100 * float64(population); float64(count) > limit {
			return trip(fmt.Sprintf("%g%% of %d (%d)", pct, population, int(limit)))
		}
	}
	return nil
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

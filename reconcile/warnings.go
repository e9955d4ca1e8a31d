package reconcile

import (
	"cmp"
	"errors"
	"slices"

	"github.com/usersync/usersync"
)

// The reasons of the warnings a plan gives on rows it used in part
// (Plan.Warnings), for errors.Is.
var (
	// ErrManagerNotFound: the row's manager reference matches no user in
	// the feed or the Sink, so it is not written.
	ErrManagerNotFound = errors.New("manager not found: the reference is not saved")
	// ErrUnknownGroup: the row names a group the Sink does not hold, and
	// the policy does not create groups, so the user does not join it.
	ErrUnknownGroup = errors.New("no such group, and the policy creates none: the user does not join it")
	// ErrAmbiguousMatch: a later match key's value of the row finds
	// several users, or other rows have it too, so the row is not applied
	// and the users are left as they are.
	ErrAmbiguousMatch = errors.New("ambiguous match: the row is not applied")
	// ErrRowsDiffer: a user in several accounts' files has different
	// attributes in this file than in the first one, whose are used.
	ErrRowsDiffer = errors.New("the user's row differs in another account's file")
)

// warnings collects the warnings of a plan, keeping the first max rows by
// file order whatever order they come in, so that a plan is the same
// however the Sink lists its users.
type warnings struct {
	max   int
	total int
	list  []warning
}

// A warning is on a row: the row's place in file order (FeedRecord.Index),
// and what the RowError tells of it.
type warning struct {
	place int
	re    usersync.RowError
}

// add warns of row r, whose place in file order is place.
func (w *warnings) add(place int, r *usersync.Record, column, value string, err error) {
	w.total++
	w.list = append(w.list, warning{place, usersync.RowError{
		File: r.Origin.File, Line: r.Origin.Line, Column: column, Value: value, Key: r.Key, Err: err,
	}})
	if len(w.list) >= 2*w.max {
		w.trim()
	}
}

// drop takes back the n warnings added on the row at place, whether kept
// or already trimmed away.
func (w *warnings) drop(place, n int) {
	if n == 0 {
		return
	}
	w.total -= n
	w.list = slices.DeleteFunc(w.list, func(x warning) bool { return x.place == place })
}

// trim keeps the first max warnings by row.
func (w *warnings) trim() {
	slices.SortStableFunc(w.list, func(a, b warning) int { return cmp.Compare(a.place, b.place) })
	w.list = w.list[:min(len(w.list), w.max)]
}

// rowErrors returns the warnings kept, as RowErrors on their rows.
func (w *warnings) rowErrors() []*usersync.RowError {
	if len(w.list) == 0 {
		return nil
	}
	w.trim()
	out := make([]*usersync.RowError, len(w.list))
	for i := range w.list {
		out[i] = &w.list[i].re
	}
	return out
}

// warn warns of held row i.
func (pl *planner) warn(i int32, column, value string, err error) {
	pl.warnings.add(pl.place(i), &pl.recs[i], column, value, err)
}

// place returns held row i's place in file order.
func (pl *planner) place(i int32) int {
	if pl.places != nil {
		return int(pl.places[i])
	}
	return int(i)
}

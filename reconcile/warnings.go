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

type warning struct {
	row           int32
	column, value string
	err           error
}

func (w *warnings) add(row int32, column, value string, err error) {
	w.total++
	w.list = append(w.list, warning{row, column, value, err})
	if len(w.list) >= 2*w.max {
		w.trim()
	}
}

// trim keeps the first max warnings by row.
func (w *warnings) trim() {
	slices.SortStableFunc(w.list, func(a, b warning) int { return cmp.Compare(a.row, b.row) })
	w.list = w.list[:min(len(w.list), w.max)]
}

// rowErrors returns the warnings kept, as RowErrors on their rows.
func (w *warnings) rowErrors(recs []usersync.Record) []*usersync.RowError {
	if len(w.list) == 0 {
		return nil
	}
	w.trim()
	out := make([]*usersync.RowError, 0, len(w.list))
	for _, x := range w.list {
		r := &recs[x.row]
		out = append(out, &usersync.RowError{
			File: r.Origin.File, Line: r.Origin.Line, Column: x.column, Value: x.value, Key: r.Key, Err: x.err,
		})
	}
	return out
}

package reconcile

import (
	"cmp"
	"errors"
	"slices"
	"strings"

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
	files map[string]int // the feed's files, in the order they were read
}

// A warning is a RowError on a row, and the place of its file among the
// feed's.
type warning struct {
	file int
	re   usersync.RowError
}

func newWarnings(max int, files []usersync.FileResult) warnings {
	w := warnings{max: max, files: make(map[string]int, len(files))}
	for i, f := range files {
		w.files[f.Name] = i
	}
	return w
}

// add warns of row r.
func (w *warnings) add(r *usersync.Record, column, value string, err error) {
	w.total++
	file, ok := w.files[r.Origin.File]
	if !ok {
		file = len(w.files)
	}
	w.list = append(w.list, warning{file, usersync.RowError{
		File: r.Origin.File, Line: r.Origin.Line, Column: column, Value: value, Key: r.Key, Err: err,
	}})
	if len(w.list) >= 2*w.max {
		w.trim()
	}
}

// drop takes back the n warnings added on the row at origin, whether kept
// or already trimmed away.
func (w *warnings) drop(origin usersync.Position, n int) {
	if n == 0 {
		return
	}
	w.total -= n
	w.list = slices.DeleteFunc(w.list, func(x warning) bool {
		return x.re.File == origin.File && x.re.Line == origin.Line
	})
}

// trim keeps the first max warnings in file order.
func (w *warnings) trim() {
	slices.SortStableFunc(w.list, func(a, b warning) int {
		return cmp.Or(cmp.Compare(a.file, b.file), strings.Compare(a.re.File, b.re.File), cmp.Compare(a.re.Line, b.re.Line))
	})
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

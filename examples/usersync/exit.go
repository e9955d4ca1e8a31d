package main

import (
	"errors"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/sink/sqlsink"
)

// Exit codes, for scripts and schedulers. They are stated once, here, and
// the usage text lists them.
const (
	exitOK      = 0 // the sync succeeded, or found nothing to do; the check passed
	exitFailed  = 1 // the sync failed: nothing was applied
	exitUsage   = 2 // the command line or the config file is wrong
	exitHeld    = 3 // a safety guard held the plan: nothing was applied; the plan waits for approval
	exitPartial = 4 // some changes failed; the others were applied
	exitCheck   = 5 // check found a problem
	exitStale   = 6 // apply: the plan no longer matches the files or the directory
	exitBusy    = 7 // another sync of the same directory is running
	// exitRejected: the sync applied every change, but rows of the file
	// were rejected (a bad email address, a missing ID): those people were
	// not synced until the file is fixed. A code of its own, not 0, so
	// that a scheduler or script that alerts on anything but 0 brings it
	// to someone without parsing --json; not 4 (partial), which says the
	// directory refused changes, a problem on this side.
	exitRejected = 8
)

// exitCodes describes the codes for the usage text.
const exitCodes = `Exit codes:
  0  success: the sync applied every change, found nothing to do, or planned
  1  failed: nothing was applied (a file, the connection or the plan failed)
  2  usage: the command line or the config file is wrong
  3  held: a safety guard held the plan; nothing was applied, the plan was saved for approval
  4  partial: some changes failed, the others were applied
  5  check: check found a problem
  6  stale: the plan to apply no longer matches the files or the database; plan again
  7  busy: another sync of the same database is running; try again later
  8  rejected: the sync applied every change, but rows of the file were rejected
     (the output lists them, by file and line); those people wait for a fixed file
`

// resultCode maps the outcome of a run to an exit code.
func resultCode(res *usersync.Result, err error) int {
	switch res.Status {
	case usersync.Succeeded:
		if res.RejectedTotal > 0 || len(res.Rejected) > 0 {
			return exitRejected
		}
		return exitOK
	case usersync.NothingToDo, usersync.Planned:
		return exitOK
	case usersync.Held:
		return exitHeld
	case usersync.PartlyFailed:
		return exitPartial
	}
	return errorCode(err)
}

// errorCode maps an error that ended a command to an exit code.
func errorCode(err error) int {
	var usage *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage):
		return exitUsage
	case errors.Is(err, usersync.ErrStalePlan):
		return exitStale
	case errors.Is(err, sqlsink.ErrLocked):
		return exitBusy
	case errors.Is(err, usersync.ErrGuardTripped):
		return exitHeld
	}
	return exitFailed
}

// A usageError is a mistake on the command line or in the config file:
// exit code 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(err error) error { return &usageError{err} }

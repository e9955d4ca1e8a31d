package usersync

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, for errors.Is.
var (
	// ErrIntegrity means a file could not be verified: its stream ended
	// early, delivered more or fewer bytes than announced, or failed a
	// decryption integrity or signature check. Nothing is applied from a
	// run in which any file failed to verify.
	ErrIntegrity = errors.New("integrity check failed")
	// ErrNoRecords means a file held no usable record: it was empty, had only
	// a header, or every row was rejected. Such a file never deletes anyone:
	// the run applies nothing. A groups file, whose reader is a
	// [GroupReader] that lists groups and returns no records, is not
	// empty.
	ErrNoRecords = errors.New("no records in file")
	// ErrGuardTripped is wrapped by every [GuardError].
	ErrGuardTripped = errors.New("safety guard tripped")
	// ErrDuplicateKey rejects rows that share a match key.
	ErrDuplicateKey = errors.New("duplicate key")
	// ErrNotFound is returned by a Sink asked to update a user, or to add a
	// member to a group, that it does not hold.
	ErrNotFound = errors.New("not found")
	// ErrChangesFailed means some changes of a plan failed to apply while the
	// others applied; [Result.Failed] lists them.
	ErrChangesFailed = errors.New("some changes failed")
	// ErrMemberName refuses an archive holding a file whose name is not a
	// plain relative one ("../x", "/etc/passwd", a NUL), or two files of
	// the same name. Names in archives are never used as paths.
	ErrMemberName = errors.New("unsafe or duplicate name in archive")
	// ErrStalePlan is wrapped by every [StalePlanError].
	ErrStalePlan = errors.New("plan is stale")
)

// A RowError rejects one row of a file. The other rows still count.
type RowError struct {
	File   string // file name as the Source lists it
	Line   int    // 1-based line where the row starts
	Column string // header of the offending column; empty if the whole row is at fault
	Value  string // the offending value, truncated for display
	// Cell names the offending cell of a spreadsheet as it is written
	// there, such as "Sheet1!C17"; empty for text files. When set, the
	// message names it in place of the line.
	Cell string
	// Key is the row's match key, when it could be read. A user whose row
	// was rejected is still in the file: reconcilers leave such a user as it
	// is instead of treating it as missing.
	Key string
	Err error
}

// maxValueShown bounds the value quoted in a RowError message.
const maxValueShown = 64

// Error formats the error as file:line: column: "value": reason, or
// file: cell: column: "value": reason when it names a spreadsheet's cell.
func (e *RowError) Error() string {
	var b strings.Builder
	if e.Cell != "" {
		b.WriteString(Position{File: e.File}.String())
		b.WriteString(": ")
		b.WriteString(e.Cell)
	} else {
		b.WriteString(Position{e.File, e.Line}.String())
	}
	if e.Column != "" {
		fmt.Fprintf(&b, ": column %s", e.Column)
	}
	if e.Value != "" {
		v := e.Value
		if len(v) > maxValueShown {
			v = truncateUTF8(v, maxValueShown) + "…"
		}
		fmt.Fprintf(&b, ": %q", v)
	}
	b.WriteString(": ")
	b.WriteString(errString(e.Err))
	return b.String()
}

// Unwrap returns the reason, for errors.Is and errors.As.
func (e *RowError) Unwrap() error { return e.Err }

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// A FileError is a failure of a whole file, such as a transport error, a
// failed integrity check or a missing required column. Like fs.PathError, it
// names the operation and the file.
type FileError struct {
	Op   string // "list", "open", "decrypt", "unpack", "read", "map", "verify"
	File string
	Err  error
}

// Error formats the error as "op file: reason". The file is named once: a
// reason that names it already, as an fs.PathError ("open users.csv: ...")
// or a Source's own error ("users.csv: transfer broke ...") does, is not
// prefixed with it again.
func (e *FileError) Error() string {
	reason := errString(e.Err)
	if e.File == "" {
		if strings.HasPrefix(reason, e.Op+" ") || strings.HasPrefix(reason, e.Op+": ") {
			return reason // "list /upload: ...", from an fs.PathError
		}
		return e.Op + ": " + reason
	}
	prefix := e.Op + " " + e.File + ": "
	switch {
	case strings.HasPrefix(reason, prefix):
		return reason
	case strings.HasPrefix(reason, e.File+": "):
		reason = reason[len(e.File)+2:]
	default:
		// Another operation on the same file: "read users.csv: open: ...".
		if op, rest, ok := strings.Cut(reason, " "+e.File+": "); ok && op != "" && !strings.ContainsAny(op, " :") {
			reason = op + ": " + rest
		}
	}
	return prefix + reason
}

// Unwrap returns the reason.
func (e *FileError) Unwrap() error { return e.Err }

// A GuardError says which safety guard held a plan and why. It wraps
// [ErrGuardTripped].
type GuardError struct {
	Guard      string // what was limited: "deletes and deactivations", "updates", ...
	Count      int    // how many the plan holds
	Population int    // active managed users before the plan
	Limit      string // the limit that tripped, e.g. "10% of 2000 (200)"
}

// Error says what the plan holds, the limit and what to do.
func (e *GuardError) Error() string {
	return fmt.Sprintf("%s: plan has %d %s of %d managed users, over the limit of %s; approve the plan to apply it",
		ErrGuardTripped, e.Count, e.Guard, e.Population, e.Limit)
}

// Unwrap returns ErrGuardTripped.
func (e *GuardError) Unwrap() error { return ErrGuardTripped }

// A StalePlanError refuses to apply an approved plan because what it was
// computed from has changed since: a file (gone, new, or with other content),
// or the Sink's state. Nothing is applied: plan again, and have the new plan
// approved. It wraps [ErrStalePlan].
type StalePlanError struct {
	// File names the file that changed, and Reason says how: "gone",
	// "new" or "changed". Both are empty when the Sink changed.
	File, Reason string
	// Want is the plan's Fingerprint and Got the Sink's now, when the Sink
	// changed.
	Want, Got Fingerprint
}

// Error says what changed and what to do.
func (e *StalePlanError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("%s: file %s is %s since the plan was computed; plan again", ErrStalePlan, e.File, e.Reason)
	}
	return fmt.Sprintf("%s: the sink changed since the plan was computed (fingerprint %s, now %s); plan again",
		ErrStalePlan, e.Want, e.Got)
}

// Unwrap returns ErrStalePlan.
func (e *StalePlanError) Unwrap() error { return ErrStalePlan }

// A ChangeError is a change the Sink failed to apply.
type ChangeError struct {
	Change Change
	Err    error
}

// Error formats the error as "kind key: reason".
func (e *ChangeError) Error() string { return e.Change.String() + ": " + errString(e.Err) }

// errString formats a wrapped error that a hand-made error value may lack.
func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// Unwrap returns the Sink's error.
func (e *ChangeError) Unwrap() error { return e.Err }

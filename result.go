package usersync

import (
	"encoding/hex"
	"fmt"
	"time"
)

// Status is the outcome of a run.
type Status uint8

// The outcomes of a run.
const (
	Succeeded    Status = iota + 1 // every change applied
	PartlyFailed                   // some changes failed; the others applied
	Held                           // a guard held the plan; nothing applied
	Failed                         // a file or the plan failed (Plan is nil), or every change failed
	NothingToDo                    // no file to read
	Planned                        // dry run: planned, nothing applied
)

var statusNames = [...]string{
	Succeeded:    "succeeded",
	PartlyFailed: "partly failed",
	Held:         "held",
	Failed:       "failed",
	NothingToDo:  "nothing to do",
	Planned:      "planned",
}

// String returns the status as words: "succeeded", "partly failed", ...
func (s Status) String() string {
	if int(s) < len(statusNames) && statusNames[s] != "" {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// MarshalText encodes the status by name.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// A FileResult says how one file of a run was read.
type FileResult struct {
	FileInfo
	Bytes    int64    // bytes read from the Source (before decryption)
	SHA256   [32]byte // of the bytes read from the Source; valid when Err is nil
	Format   Format   // how the Mapper read it, if it says (see FormatReader)
	Records  int      // good records
	Rejected int      // rows rejected with a RowError
	// Fragments counts the good records that are fragments (see
	// [Record.Fragment]), the rows of a memberships file; Records counts
	// them too. Groups counts the groups the file listed, as its
	// [GroupReader] reported them. A file whose records are all fragments,
	// or that lists groups and has no records, gives no users.
	Fragments, Groups int
	// DecryptedBy names the key that decrypted the file; "" if it was not
	// decrypted (see DecryptedReader).
	DecryptedBy string
	// Members are the files of an archive (see [Unpacker]), each read as
	// a file of the run and named "archive/member", such as
	// "bundle.zip/users.csv"; nil for other files. The archive's Records
	// and Rejected count those of its members. A member's Bytes are those
	// it held, uncompressed, and its SHA256 is zero: the delivered file's
	// is the archive's.
	Members []FileResult
	// Skipped names the files of an archive its Unpacker left out (see
	// [Unpacked].Skipped), "archive/member" as Members are; nil for other
	// files.
	Skipped []string
	// AlreadyApplied is set when an earlier run applied this same content
	// (see Deduplicator).
	AlreadyApplied bool
	Err            error // why the file failed; nil if it was read to a clean end
	// FinishErr is the Source's error archiving, removing or setting the
	// file aside after the run (see Finisher).
	FinishErr error

	// part is set when the file may give no records and still count: a
	// groups file, or a part of a bundle (see PartReader).
	part bool
}

// Hash returns the file's SHA-256 in hex.
func (f *FileResult) Hash() string { return hex.EncodeToString(f.SHA256[:]) }

// A Result says what a run did. Run returns one even when it fails.
type Result struct {
	Status   Status
	Started  time.Time
	Finished time.Time
	Files    []FileResult
	// Rejected lists rejected rows, in file and line order, up to
	// Pipeline.MaxRowErrors; RejectedTotal counts all of them.
	Rejected      []*RowError
	RejectedTotal int
	// Plan is the plan computed, nil if the run failed before planning.
	Plan *Plan
	// Applied counts the changes that applied, and the users found already
	// in sync (Unchanged); all zero for a run that applied nothing: held,
	// dry run, or failed before applying.
	Applied Counts
	// Failed lists the changes the Sink refused.
	Failed []*ChangeError
	// ReportErrors are the errors Reporters returned; they never fail a run.
	ReportErrors []error
	// Err is the error Run returned.
	Err error
}

// OutOfScope returns how many rows the Mapper's filters left out of the
// sync's scope.
func (r *Result) OutOfScope() int {
	n := 0
	for i := range r.Files {
		n += r.Files[i].Format.OutOfScope
	}
	return n
}

// Skipped returns how many rows the Mapper left out on purpose.
func (r *Result) Skipped() int {
	n := 0
	for i := range r.Files {
		n += r.Files[i].Format.Skipped
		for j := range r.Files[i].Members {
			n += r.Files[i].Members[j].Format.Skipped
		}
	}
	return n
}

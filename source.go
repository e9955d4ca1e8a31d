package usersync

import (
	"context"
	"io"
	"time"
)

// FileInfo describes one file a [Source] offers.
type FileInfo struct {
	// Name is slash-separated, relative to the Source's folder, and
	// satisfies fs.ValidPath. It is never used as a local path unchecked.
	Name string
	// Size in bytes, or -1 if the Source cannot tell. When it is known, the
	// Pipeline requires the stream to deliver exactly that many bytes.
	Size int64
	// ModTime is the last modification time, or zero if unknown.
	ModTime time.Time
}

// A Source lists and streams the files a customer delivers: a local folder,
// an SFTP or FTP server, or anything else. Methods are safe for concurrent
// use unless an implementation says otherwise.
//
// Canceling the ctx of List or Open, also while the opened file is being
// read, makes them fail with an error wrapping context.Canceled (or
// context.DeadlineExceeded). Sources may also implement [Remover],
// [Renamer] and [Checker]; the conformance suite source/sourcetest checks
// all of this.
type Source interface {
	// List returns the files of the Source's folder (not of its
	// subfolders, where archives live), sorted by Name.
	List(ctx context.Context) ([]FileInfo, error)
	// Open streams the named file; the caller must Close it, and must treat
	// an error from Close as a failed read (some protocols report a broken
	// transfer only there). A missing file yields an error for which
	// errors.Is(err, fs.ErrNotExist) is true. A name that source.ValidName
	// refuses (not fs.ValidPath, a backslash, a control character) is
	// rejected with an error wrapping fs.ErrInvalid before anything is
	// touched.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// Close releases the Source's connections. Calls after Close return an
	// error wrapping fs.ErrClosed; Close itself may be called again and
	// then returns nil.
	Close() error
}

// A Remover is a Source that can delete a file, to clean up after success.
// Removing a missing file fails with an error wrapping fs.ErrNotExist.
type Remover interface {
	Remove(ctx context.Context, name string) error
}

// A Renamer is a Source that can move a file within its folder, to archive
// it after success or set it aside after a failure. The move is atomic where
// the storage allows; it creates the new name's folders and replaces a file
// already there. A missing oldname fails with an error wrapping
// fs.ErrNotExist.
type Renamer interface {
	Rename(ctx context.Context, oldname, newname string) error
}

// A Checker is a Source (or any other part) that can check its setup for an
// administrator, like a "Check connection" button: can it connect, log in,
// trust the server, see the folder and the expected file. Each step is
// reported on its own; Check never changes anything.
type Checker interface {
	Check(ctx context.Context) []CheckResult
}

// A Finisher is a Source that acts on its files once a run is over: it
// archives or deletes them after success, sets them aside after a failure,
// and remembers the content it applied (see [Deduplicator]).
//
// The Pipeline calls Finish once for each file it read, after the run's
// outcome is known and before the RunFinished event, unless the run was a
// dry run. outcome is nil when the file's content is now in effect (the run
// succeeded, or found it already applied); otherwise it is the file's own
// error, or the run's (a held plan, changes that failed), and the file
// should stay where the next run finds it. An error from Finish is recorded
// in FileResult.FinishErr; it does not change the run's outcome.
type Finisher interface {
	Finish(ctx context.Context, f FileResult, outcome error) error
}

// A Deduplicator is a Source that remembers which file contents earlier runs
// applied. When every file of a run is one it has seen (same name and
// SHA-256 as an applied one), the run does nothing, says so
// (FileResult.AlreadyApplied, status NothingToDo), and finishes the files.
// A run with any new file processes all of them, since together they make
// the snapshot.
type Deduplicator interface {
	Applied(ctx context.Context, f FileResult) (bool, error)
}

// A SizeDeduplicator is a Deduplicator that can tell from a file's listing
// alone that its content is new: a file no earlier run applied under its
// name, or of another size than the content applied. The Pipeline asks it
// before the read that learns a file's SHA-256, and reads a new file once
// rather than twice (a nightly delivery is new, and usually of another
// size).
type SizeDeduplicator interface {
	Deduplicator
	// MaybeApplied reports false when f, as the Source lists it, cannot
	// hold content already applied; true when only its SHA-256 can tell.
	// A Size of -1 (unknown) can never rule a file out.
	MaybeApplied(ctx context.Context, f FileInfo) (bool, error)
}

// A LocalSource is a Source whose files are on a local disk (or in memory),
// so that reading one twice costs no transfer. When the Source is also a
// [Deduplicator], the Pipeline reads each file once to learn its SHA-256
// before it decrypts or maps anything, and a second time only if the
// content is new; the files of other Sources are copied to a temporary
// file on that first read instead. Wrappers such as source.Pickup pass the
// answer of the Source they wrap on.
type LocalSource interface {
	Source
	// IsLocal reports whether the files are local.
	IsLocal() bool
}

// CheckResult is the outcome of one step of a [Checker].
type CheckResult struct {
	Name   string // what was checked, e.g. "folder /imports"
	Err    error  // nil if the check passed
	Detail string // what was found, e.g. "3 files"; never a secret
	// Warning, on a check that passed, says what to fix before it fails or
	// while it is unsafe, such as a key that expires in ten days, or a
	// server reached without encryption because the setup chose so; empty
	// if nothing.
	Warning string
}

// OK reports whether the check passed (perhaps with a Warning).
func (c CheckResult) OK() bool { return c.Err == nil }

package usersync

import (
	"io"
	"slices"
	"strings"
)

// A Mapper turns a plaintext file into Records: it reads the header, maps
// columns to attributes and validates values.
type Mapper interface {
	// NewReader returns a reader of the records in r. f is the file the
	// data came from, so that a Mapper can choose a schema by name and
	// errors can name the file. An error here (such as a missing required
	// column) fails the whole file.
	NewReader(r io.Reader, f FileInfo) (RecordReader, error)
}

// A RecordReader reads records one at a time, like encoding/csv.Reader.
// The Pipeline closes one that is also an [io.Closer] once its file is
// read to its end, or has failed; when it stops reading early, it closes
// the reader before it looks at the stream below, which a reader reading
// ahead in a goroutine (csvmap's) must leave alone by then.
type RecordReader interface {
	// Read returns the next record, or io.EOF after the last one. An error
	// for which errors.As finds a *[RowError] rejects one row; the caller
	// may keep reading. Any other error ends the file, which then fails.
	Read() (Record, error)
}

// A FormatReader is a RecordReader that can say how it read the file. The
// Pipeline copies the format into the run's [FileResult] at the end of the
// file.
type FormatReader interface {
	RecordReader
	Format() Format
}

// Format describes how a file was read.
type Format struct {
	Encoding  string   // "UTF-8", "UTF-8 with BOM", "UTF-16LE", ...
	Delimiter rune     // ',', ';', '\t', ...
	Columns   []string // header names as they appear in the file
	Skipped   int      // rows left out on purpose (such as Skip=1): not errors
	Warnings  []string // things an administrator should know, such as unknown columns
	// OutOfScope counts the rows a filter of the Mapper left out of the
	// sync's scope (see [ScopeReader]): neither errors nor leavers.
	OutOfScope int
}

// A ScopeReader is a RecordReader whose filters leave some rows out of the
// sync's scope, such as contractors or another company's staff. Such rows
// are not records and not errors. Their users are not in the feed, so a
// user who moves out of scope is handled like one who left (a reconciler's
// absent-user policy), and a reconciler can say why: the Pipeline adds
// them to [Feed.OutOfScope] once the file is read to its end.
type ScopeReader interface {
	RecordReader
	// OutOfScope lists the rows left out of scope so far whose key could
	// be read, in file order.
	OutOfScope() []OutOfScope
}

// OutOfScope is a row that a filter left out of the sync's scope: the key
// of its user, and the filter's name. It holds no more, so that a file of a
// million contractors costs little.
type OutOfScope struct {
	Key  string
	Rule string
}

// sortOutOfScope sorts a feed's out-of-scope rows by key, rows of the same
// key in file order.
func sortOutOfScope(s []OutOfScope) {
	slices.SortStableFunc(s, func(a, b OutOfScope) int { return strings.Compare(a.Key, b.Key) })
}

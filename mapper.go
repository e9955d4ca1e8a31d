package usersync

import "io"

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
}

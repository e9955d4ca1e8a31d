package csvmap

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/usersync/usersync"
)

// NewReader detects the encoding and the delimiter of r, reads its header
// line and returns a reader of its records, which is a
// usersync.FormatReader: its Format says which encoding and delimiter were
// used, the header, the rows skipped on purpose and warnings such as
// unknown columns. f names the file in errors.
//
// Headers match a column's Header (or Name) or one of its Aliases as the
// schema's HeaderRule says; by default ignoring case, white space,
// underscores and hyphens. A first line "#TYPE ...", which Windows
// PowerShell's Export-Csv writes, is passed over with a warning.
//
// The error fails the file when the file is empty (ErrNoHeader, wrapping
// usersync.ErrNoRecords too), when the header lacks the Key column or a
// Required one (ErrMissingColumn), when two of its columns map to the same
// schema column (ErrDuplicateColumn), when a Strict schema does not know a
// column (ErrUnknownColumn), when a header breaks the HeaderRule
// (ErrHeaderSpelling), or when the header line cannot be read. A file
// holding only a header yields a reader that returns io.EOF at once.
//
// The reader splits the next rows of r in a goroutine of its own while
// Read maps the rows before them. It is an io.Closer: a caller that stops
// reading before Read returned an error calls Close before it closes r or
// looks at it. [usersync.Pipeline] does.
func (m *Mapper) NewReader(r io.Reader, f usersync.FileInfo) (usersync.RecordReader, error) {
	in, err := m.open(r)
	if err != nil {
		return nil, m.streamError(err)
	}
	comma := m.comma
	if comma == 0 {
		comma = m.detectComma(in)
	}
	rd := &reader{
		m:      m,
		file:   f.Name,
		in:     in,
		sc:     newScanner(in.buf, comma),
		intern: make(map[string]string),
	}
	rd.sc.blank = in.recordDone
	rd.norm = newNormalizer(m, &rd.mapped)
	rd.tx = &transformer{m: m, a: &rd.mapped}
	rd.format.Encoding = in.encoding
	rd.format.Delimiter = rune(comma)
	if err := rd.readHeader(); err != nil {
		return nil, err
	}
	if err := m.bind(rd); err != nil {
		if errors.Is(err, ErrMissingColumn) && m.comma != 0 {
			err = m.delimiterHint(err, rd.header)
		}
		return nil, err
	}
	return m.ready(rd)
}

// ready sets up what reading the rows of rd, whose header is bound, needs
// beyond the columns: the transforms' values, the filters, and the reader
// of the file's kind.
func (m *Mapper) ready(rd *reader) (usersync.FormatReader, error) {
	rd.tx.vals = rd.vals
	if err := m.bindFilters(rd); err != nil {
		return nil, err
	}
	return m.related(rd), nil
}

// A reader maps the rows of one file. It implements usersync.FormatReader.
type reader struct {
	m      *Mapper
	file   string
	in     *input
	sc     *scanner
	ahead  *scanAhead // reads the rows of in ahead; nil until the first Read
	header []string   // as written in the file
	// src, when set, yields the rows in place of in and sc (see
	// NewRowReader); padded holds a row shorter than the header.
	src    RowSource
	padded []string
	norm   *normalizer

	// The columns bound to the file: fields are read from it, in schema
	// order; derived ones are made From others or by Default, after them.
	// vals holds the values that others are made from or made later.
	fields  []field
	derived []field
	key     *field // in fields or derived
	skip    *field // looked at before the others; nil without a Skip column
	sep     string // Groups separator
	vals    []string
	tx      *transformer // runs Transforms and Filters
	scope   *scope       // nil without Filters

	// Attribute values of the current row go to values, in Layout order,
	// then Layout.Make packs them into one string.
	layout *usersync.Layout
	values []string
	// Keys live as long as the records: they come from an arena of their
	// own, not from the rows'. The values the mapping makes (normalized,
	// transformed, joined) come from mapped: the scanner's arena is the
	// scanner's goroutine's (see scanAhead).
	keys   arena
	mapped arena
	// A group ID is stored once per file, however many rows list it.
	intern    map[string]string
	groups    []string // scratch for splitting
	slab      []string // where Groups slices are cut from (see idSlice)
	lastValue string   // the last Groups value split, in the row arena
	lastIDs   []string // and its IDs

	line     int // where the last record started, for errors after it
	rows     int // records read, rejected and skipped ones included
	rejected int
	held     error // the hold policy tripped: the next Read returns it
	format   usersync.Format
	err      error // sticky: io.EOF or the error that failed the file
}

var _ usersync.FormatReader = (*reader)(nil)

// A field is a schema column bound to a file.
type field struct {
	col    *column
	ci     int    // index of col in the schema
	index  int    // position in the file's rows, or -1 if made From others or by Default
	header string // as written in the file, for messages
	slot   int    // position in the Layout for Attribute columns, else -1
}

// required reports whether the column's value may not be empty.
func (f *field) required() bool { return f.col.Required || f.col.Role == Key }

// Format says how the file was read; Skipped is complete after the last Read.
func (r *reader) Format() usersync.Format {
	f := r.format
	f.Columns = slices.Clone(f.Columns)
	f.Warnings = slices.Clone(f.Warnings)
	return f
}

// Read returns the next record, io.EOF after the last one, a
// *usersync.RowError for a row it rejects (reading may go on), or an error
// that fails the file (and that every later Read returns too).
//
// Rows whose Skip column says so are passed over and counted in
// Format.Skipped.
func (r *reader) Read() (usersync.Record, error) {
	if r.held != nil && r.err == nil {
		r.err = r.held
	}
	if r.src != nil {
		return r.readSource()
	}
	if r.ahead == nil && r.err == nil {
		r.ahead = newScanAhead(r.sc, r.in)
	}
	for r.err == nil {
		row, sr := r.ahead.row()
		if sr.err != nil {
			err := r.readError(sr, row)
			if err == r.err {
				break
			}
			return usersync.Record{}, r.reject(err)
		}
		r.line = sr.start
		if r.rows++; r.rows > r.m.maxRows {
			r.err = fmt.Errorf("%w: line %d is past the limit of %d rows", ErrTooManyRows, r.line, r.m.maxRows)
			break
		}
		if rec, ok, err := r.take(row, sr.kind); ok {
			return rec, err
		}
	}
	r.Close() // the file is failed or read: nothing reads it any more
	return usersync.Record{}, r.err
}

// Close waits until nothing reads the file ahead of Read any more, so that
// the stream below may be closed, or looked at, once it returns. A reader
// read until Read returns an error needs no Close; Close leaves the reader
// usable, and never fails.
func (r *reader) Close() error {
	if r.ahead != nil {
		r.ahead.wait()
	}
	return nil
}

// take makes a record of a row read, through the filters and the
// mapping, and counts the row out of scope, skipped or rejected. ok is
// false for a row that gives neither a record nor an error: the caller
// reads on.
func (r *reader) take(row []string, kind textKind) (rec usersync.Record, ok bool, err error) {
	if r.scope != nil {
		out, err := r.filterRow(row, kind)
		if err != nil {
			err.(*usersync.RowError).Key = r.rowKey(row)
			return rec, true, r.reject(err)
		}
		if out {
			return rec, false, nil
		}
	}
	rec, skipped, err := r.mapRow(row, kind)
	if skipped {
		r.format.Skipped++
		return rec, false, nil
	}
	if err != nil {
		err.(*usersync.RowError).Key = r.rowKey(row)
		return rec, true, r.reject(err)
	}
	return rec, true, nil
}

// reject counts a rejected row and applies the hold policy.
func (r *reader) reject(err error) error {
	r.rejected++
	if h := r.m.hold; h != nil && h.Rows >= 0 && r.rejected > h.Rows {
		r.held = fmt.Errorf("%w: more than %d rows rejected, the last on line %d; the file is held and nothing from it is applied",
			ErrTooManyRejected, h.Rows, r.line)
	}
	return err
}

// atEnd checks the hold policy's percentage once the file is read.
func (r *reader) atEnd() error {
	h := r.m.hold
	read := r.rows - r.format.Skipped - r.format.OutOfScope
	if h == nil || h.Percent < 0 || read == 0 {
		return io.EOF
	}
	if pct := 100 * float64(r.rejected) / float64(read); pct > h.Percent {
		return fmt.Errorf("%w: %d of %d rows (%.1f%%), more than %g%%; the file is held and nothing from it is applied",
			ErrTooManyRejected, r.rejected, read, pct, h.Percent)
	}
	return io.EOF
}

// readError turns an error of the scanner into a RowError when only the
// row is at fault, and otherwise records it as the file's failure.
func (r *reader) readError(sr *scannedRow, row []string) error {
	err := sr.err
	var pe *csv.ParseError
	switch {
	case err == io.EOF:
		r.err = r.atEnd()
	case errors.Is(err, errRecordTooLong):
		r.err = fmt.Errorf("%w: the record after line %d is over %d bytes; is a line break missing or a quote left open?",
			ErrRecordTooLong, r.line, r.in.bounded.max)
	case errors.As(err, &pe):
		r.line = pe.StartLine
		r.rows++
		return r.parseError(pe, row, sr.atEOF)
	default:
		r.err = r.m.streamError(err)
	}
	return r.err
}

// streamError says which limit a stream error is, or returns it as it is,
// so that a transport error keeps its identity.
func (m *Mapper) streamError(err error) error {
	if errors.Is(err, errFileTooLarge) {
		return fmt.Errorf("%w: over %d bytes", ErrFileTooLarge, m.maxFile)
	}
	return err
}

func (r *reader) parseError(pe *csv.ParseError, row []string, atEOF bool) error {
	re := &usersync.RowError{File: r.file, Line: pe.StartLine, Key: r.rowKey(row), Err: pe}
	switch {
	case pe.Err == csv.ErrFieldCount && len(row) < len(r.header):
		re.Column = r.header[len(row)]
		re.Err = fmt.Errorf("%w: %d, the header has %d", ErrFieldCount, len(row), len(r.header))
	case pe.Err == csv.ErrFieldCount:
		re.Value = clip(row[len(r.header)])
		re.Err = fmt.Errorf("%w: %d, the header has %d; is a value holding %q not quoted?", ErrFieldCount, len(row), len(r.header), r.sc.comma)
	case pe.Err == csv.ErrQuote && atEOF:
		// The quote swallowed every line after it: fail the file rather
		// than lose those rows as one rejected row. (A stray quote in a
		// last row that runs to the end of the file fails it too: the
		// two look the same from here, and failing is the safe guess.)
		r.err = fmt.Errorf("%w: the record on line %d opens a quote that is still open at the end of the file",
			ErrUnterminatedQuote, pe.StartLine)
		return r.err
	default:
		// A bare or stray quote: the row holds the fields before it, so
		// the next one is at fault.
		if n := len(row); n < len(r.header) {
			re.Column = r.header[n]
		}
	}
	return re
}

// rowKey returns the key of a rejected row, if it can be read, so that the
// user is known to be in the file (see usersync.RowError.Key). A row with a
// wrong field count may have its columns shifted; the key it yields then at
// worst keeps some other user from being deactivated tonight.
func (r *reader) rowKey(row []string) string {
	k := r.key
	r.tx.ascii = false // not known for this row: see mapRow
	if k.col.late {
		return strings.Clone(r.lateKey(row))
	}
	v := r.direct(k, row)
	if v == "" {
		var parts []string
		for _, j := range k.col.from {
			for i := range r.fields {
				if r.fields[i].ci == j {
					parts = append(parts, r.direct(&r.fields[i], row))
				}
			}
		}
		if v = joinNonEmpty(parts); v != "" {
			v, _ = r.norm.normalize(k.col, v)
		}
	}
	return strings.Clone(v)
}

// direct returns the value of f in row, normalized, or "" if there is none
// or it is invalid.
func (r *reader) direct(f *field, row []string) string {
	if f.index < 0 || f.index >= len(row) {
		return ""
	}
	v, ok := r.clean(row[f.index], otherText)
	if !ok || v == "" || !f.col.rules {
		return v
	}
	if f.col.steps != nil {
		if f.col.late {
			return v // as the file has it: see lateKey
		}
		var err error
		if v, err = r.transform(f, v); err != nil || v == "" || !f.col.checks {
			return v
		}
	}
	v, err := r.norm.normalize(f.col, v)
	if err != nil {
		return ""
	}
	return v
}

// rowError rejects the current row for its value v of f.
func (r *reader) rowError(f *field, v string, err error) error {
	return &usersync.RowError{File: r.file, Line: r.line, Column: f.header, Value: clip(v), Cell: r.cell(f.index), Err: err}
}

// maxValueKept bounds RowError.Value: a run keeps thousands of RowErrors,
// and a value may be a megabyte.
const maxValueKept = 256

// clip returns a copy of at most maxValueKept bytes of v, so that an error
// does not pin the row's memory.
func clip(v string) string {
	return strings.Clone(cut(v, maxValueKept))
}

// cut returns at most n bytes of s, not splitting a UTF-8 character.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

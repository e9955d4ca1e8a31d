package csvmap

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/usersync/usersync"
)

// NewReader reads the header line of r and returns a reader of its records,
// which is a usersync.FormatReader. f names the file in errors.
//
// A UTF-8 byte order mark at the start is dropped. Headers match a column's
// Header (or Name) or one of its Aliases ignoring case, white space,
// underscores and hyphens, so "UniqueID", "unique_id" and " Unique ID " are
// the same. Other columns are ignored, and listed in Format.Warnings.
//
// The error fails the file when the file is empty (ErrNoHeader, wrapping
// usersync.ErrNoRecords too), when the header lacks the Key column or a
// Required one (ErrMissingColumn), when two of its columns map to the same
// schema column (ErrDuplicateColumn), or when the header line cannot be
// read. A file holding only a header yields a reader that returns io.EOF at
// once.
func (m *Mapper) NewReader(r io.Reader, f usersync.FileInfo) (usersync.RecordReader, error) {
	in, err := open(r, m.maxRecord)
	if err != nil {
		return nil, err
	}
	rd := &reader{
		file:     f.Name,
		in:       in,
		csv:      m.newCSVReader(in.buf),
		maxField: m.maxField,
		intern:   make(map[string]string),
	}
	rd.format.Encoding = in.encoding
	rd.format.Delimiter = m.comma
	if err := rd.readHeader(); err != nil {
		return nil, err
	}
	if err := m.bind(rd); err != nil {
		return nil, err
	}
	return rd, nil
}

// newCSVReader returns the encoding/csv reader a file is read with: strict
// quotes, so that a stray quote is an error rather than silently merged
// fields; a field count fixed by the header, so that columns never shift;
// and a reused record slice, since every row is copied out.
func (m *Mapper) newCSVReader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.Comma = m.comma
	cr.ReuseRecord = true
	cr.LazyQuotes = false
	cr.FieldsPerRecord = 0 // the header sets it
	return cr
}

// A reader maps the rows of one file. It implements usersync.FormatReader.
type reader struct {
	file     string
	in       *input
	csv      *csv.Reader
	header   []string // as written in the file
	maxField int

	key    field
	skip   *field  // the Skip column, or nil; looked at before the others
	fields []field // the other columns found in the file, in schema order
	sep    string  // Groups separator

	// Attribute values of the current row go to values, in Layout order,
	// then Layout.Make packs them into one string.
	layout *usersync.Layout
	values []string
	// A group ID is stored once per file, however many rows list it.
	intern map[string]string
	groups []string // scratch for splitting

	line   int // where the last record started, for errors after it
	format usersync.Format
	err    error // sticky: io.EOF or the error that failed the file
}

var _ usersync.FormatReader = (*reader)(nil)

// A field is a schema column found in the file.
type field struct {
	index    int    // position in the file's rows
	header   string // as written in the file, for messages
	role     Role
	kind     Kind
	required bool
	slot     int // position in the Layout, for Attribute columns
}

// Format says how the file was read; Skipped is complete after the last Read.
func (r *reader) Format() usersync.Format {
	f := r.format
	f.Columns = slices.Clone(f.Columns)
	f.Warnings = slices.Clone(f.Warnings)
	return f
}

func (r *reader) readHeader() error {
	header, err := r.csv.Read()
	var pe *csv.ParseError
	switch {
	case err == io.EOF:
		return fmt.Errorf("%w: the file is empty (%w)", ErrNoHeader, usersync.ErrNoRecords)
	case errors.Is(err, errRecordTooLong):
		return fmt.Errorf("%w: the header line is over %d bytes", ErrRecordTooLong, r.in.bounded.max)
	case errors.As(err, &pe):
		return fmt.Errorf("header: %w", pe)
	case err != nil:
		return err
	}
	r.header = slices.Clone(header)
	r.format.Columns = r.header
	r.line, _ = r.csv.FieldPos(0)
	r.in.recordDone(r.csv.InputOffset())
	return nil
}

// bind finds the schema's columns in the reader's header and sets up the
// reader to map them.
func (m *Mapper) bind(r *reader) error {
	at := make([]int, len(m.columns)) // file position of each column, or -1
	for i := range at {
		at[i] = -1
	}
	var unknown []string
	for i, h := range r.header {
		ci, ok := m.byHeader[normalizeHeader(h)]
		switch {
		case !ok:
			unknown = append(unknown, describeHeader(h, i))
		case at[ci] >= 0:
			j := at[ci]
			return fmt.Errorf("%w: %s and %s both map to column %s",
				ErrDuplicateColumn, describeHeader(r.header[j], j), describeHeader(h, i), m.columns[ci].Name)
		default:
			at[ci] = i
		}
	}
	if err := m.checkRequired(at, r.header); err != nil {
		return err
	}
	if len(unknown) > 0 {
		r.format.Warnings = append(r.format.Warnings, "ignored columns not in the schema: "+listHeaders(unknown))
	}
	m.bindFields(r, at)
	return nil
}

// checkRequired fails a file that lacks the Key column or a Required one:
// read anyway, it would look like a file in which every user lost that
// value, or every user left.
func (m *Mapper) checkRequired(at []int, header []string) error {
	var missing []string
	for i := range m.columns {
		c := &m.columns[i]
		if at[i] >= 0 || !(c.Required || c.Role == Key) {
			continue
		}
		s := quote(c.header())
		if len(c.Aliases) > 0 {
			s += " (or " + listHeaders(quoteAll(c.Aliases)) + ")"
		}
		missing = append(missing, s)
	}
	if missing == nil {
		return nil
	}
	return fmt.Errorf("%w %s; the header has %s",
		ErrMissingColumn, strings.Join(missing, ", "), listHeaders(quoteAll(header)))
}

// bindFields sets up the fields of r from the file position of each schema
// column, and builds the file's Layout from the Attribute columns present.
func (m *Mapper) bindFields(r *reader, at []int) {
	var names []string
	for i := range m.columns {
		c := &m.columns[i]
		if at[i] < 0 {
			continue
		}
		f := field{index: at[i], header: r.header[at[i]], role: c.Role, kind: c.Kind, required: c.Required || c.Role == Key}
		switch c.Role {
		case Key:
			r.key = f
			continue
		case Skip:
			r.skip = &f
			continue
		case Groups:
			r.sep = c.Separator
		case Attribute:
			f.slot = len(names)
			names = append(names, c.Name)
		}
		r.fields = append(r.fields, f)
	}
	r.layout = usersync.NewLayout(names...)
	r.values = make([]string, len(names))
}

// describeHeader names the i-th column of a header for a message.
func describeHeader(h string, i int) string {
	if strings.TrimSpace(h) == "" {
		return "unnamed column " + strconv.Itoa(i+1)
	}
	return quote(h) + " (column " + strconv.Itoa(i+1) + ")"
}

// maxHeaderShown bounds a header quoted in a message: a file that is not
// CSV at all may have a "header" of a megabyte.
const maxHeaderShown = 64

// quote quotes a header for a message, cut to maxHeaderShown bytes.
func quote(h string) string {
	if len(h) > maxHeaderShown {
		return strconv.Quote(cut(h, maxHeaderShown)) + "…"
	}
	return strconv.Quote(h)
}

// maxListed bounds the headers a message lists: a file may have thousands.
const maxListed = 30

// listHeaders joins already quoted or described headers for a message.
func listHeaders(hs []string) string {
	if len(hs) <= maxListed {
		return strings.Join(hs, ", ")
	}
	return strings.Join(hs[:maxListed], ", ") + fmt.Sprintf(" and %d more", len(hs)-maxListed)
}

func quoteAll(ss []string) []string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = quote(s)
	}
	return q
}

// Read returns the next record, io.EOF after the last one, a
// *usersync.RowError for a row it rejects (reading may go on), or an error
// that fails the file (and that every later Read returns too).
//
// Rows whose Skip column says so are passed over and counted in
// Format.Skipped.
func (r *reader) Read() (usersync.Record, error) {
	for r.err == nil {
		row, err := r.csv.Read()
		r.in.recordDone(r.csv.InputOffset())
		if err != nil {
			return usersync.Record{}, r.readError(err, row)
		}
		r.line, _ = r.csv.FieldPos(0)
		rec, skipped, err := r.mapRow(row)
		if skipped {
			r.format.Skipped++
			continue
		}
		if re, ok := err.(*usersync.RowError); ok {
			re.Key = r.rowKey(row)
		}
		return rec, err
	}
	return usersync.Record{}, r.err
}

// readError turns an error of the csv.Reader into a RowError when only the
// row is at fault, and otherwise records it as the file's failure.
func (r *reader) readError(err error, row []string) error {
	var pe *csv.ParseError
	switch {
	case err == io.EOF:
		r.err = io.EOF
	case errors.Is(err, errRecordTooLong):
		r.err = fmt.Errorf("%w: the record after line %d is over %d bytes; is a line break missing or a quote left open?",
			ErrRecordTooLong, r.line, r.in.bounded.max)
	case errors.As(err, &pe):
		r.line = pe.StartLine
		return r.parseError(pe, row)
	default:
		r.err = err // a transport error keeps its identity
	}
	return r.err
}

func (r *reader) parseError(pe *csv.ParseError, row []string) error {
	re := &usersync.RowError{File: r.file, Line: pe.StartLine, Key: r.rowKey(row), Err: pe}
	switch {
	case pe.Err == csv.ErrFieldCount:
		re.Err = fmt.Errorf("%w: %d, the header has %d", ErrFieldCount, len(row), len(r.header))
	case pe.Err == csv.ErrQuote && r.in.atEOF():
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
	if r.key.index >= len(row) {
		return ""
	}
	v, ok := clean(row[r.key.index], r.maxField)
	if !ok || v == "" {
		return ""
	}
	if v, err := r.normalize(&r.key, v); err == nil {
		return strings.Clone(v)
	}
	return ""
}

// rowError rejects the current row for its value v of f.
func (r *reader) rowError(f *field, v string, err error) error {
	return &usersync.RowError{File: r.file, Line: r.line, Column: f.header, Value: clip(v), Err: err}
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

package csvmap

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/usersync/usersync"
)

// commaCandidates are the delimiters Options.Comma 0 chooses from, in order
// of preference when the header cannot tell.
const commaCandidates = ",;\t|"

// typeLine starts the first line Windows PowerShell's Export-Csv writes
// without -NoTypeInformation, as Active Directory scripts often do.
const typeLine = "#TYPE "

// detectComma chooses the delimiter of a file from its header line: the
// candidate that splits it into the most columns the schema knows, then
// into the most columns, then the first candidate. A semicolon file's
// header read with commas is one unknown column; read with semicolons, it
// is the schema's columns.
func (m *Mapper) detectComma(in *input) byte {
	head, _ := in.buf.Peek(min(in.buf.Size(), int(m.maxRecord-in.skipped)))
	line := headerLine(head)
	best, bestKnown, bestFields := byte(commaCandidates[0]), -1, -1
	for i := range len(commaCandidates) {
		c := commaCandidates[i]
		fields, err := newScanner(bufio.NewReader(bytes.NewReader(line)), c).read()
		if err != nil && err != io.EOF {
			continue
		}
		known := m.knownColumns(fields)
		if known > bestKnown || known == bestKnown && len(fields) > bestFields {
			best, bestKnown, bestFields = c, known, len(fields)
		}
	}
	return best
}

// headerLine returns the first line of head that is neither blank nor
// PowerShell's #TYPE line, or as much of it as head holds.
func headerLine(head []byte) []byte {
	for len(head) > 0 {
		line, rest, _ := bytes.Cut(head, []byte("\n"))
		head = rest
		if len(bytes.TrimRight(line, "\r")) > 0 && !bytes.HasPrefix(line, []byte(typeLine)) {
			return line
		}
	}
	return nil
}

// delimiterHint adds to err, which says the header lacks columns, the
// delimiter that would find more of them than the one Options.Comma forces.
func (m *Mapper) delimiterHint(err error, header []string) error {
	line := strings.Join(header, string(m.comma))
	best, most := byte(0), m.knownColumns(header)
	for i := range len(commaCandidates) {
		c := commaCandidates[i]
		if k := m.knownColumns(strings.Split(line, string(c))); c != m.comma && k > most {
			best, most = c, k
		}
	}
	if best == 0 {
		return err
	}
	return fmt.Errorf("%w; is the delimiter %q rather than %q (Options.Comma)?", err, best, m.comma)
}

// knownColumns counts the schema columns a header names.
func (m *Mapper) knownColumns(header []string) int {
	seen := make(map[int]bool, len(header))
	for _, h := range header {
		if i, ok := m.byHeader[normalizeHeader(h)]; ok {
			seen[i] = true
		}
	}
	return len(seen)
}

// readHeader reads the header line, passing over PowerShell's #TYPE line.
func (r *reader) readHeader() error {
	for {
		header, err := r.sc.read()
		var pe *csv.ParseError
		switch {
		case err == io.EOF:
			return fmt.Errorf("%w: the file is empty (%w)", ErrNoHeader, usersync.ErrNoRecords)
		case errors.Is(err, errRecordTooLong):
			return fmt.Errorf("%w: the header line is over %d bytes", ErrRecordTooLong, r.in.bounded.max)
		case errors.As(err, &pe):
			return fmt.Errorf("header: %w", pe)
		case err != nil:
			return r.m.streamError(err)
		}
		r.in.recordDone(r.sc.offset)
		r.line = r.sc.start
		if len(header) == 1 && strings.HasPrefix(header[0], typeLine) && r.header == nil {
			r.format.Warnings = append(r.format.Warnings, fmt.Sprintf("line %d: passed over PowerShell's type line %s (Export-Csv -NoTypeInformation leaves it out)", r.line, quote(header[0])))
			r.sc.nfields = 0
			r.header = []string{}
			continue
		}
		r.header = make([]string, len(header))
		for i, h := range header {
			r.header[i] = strings.Clone(h)
		}
		r.format.Columns = r.header
		return nil
	}
}

// bind finds the schema's columns in the reader's header and sets up the
// reader to map them.
func (m *Mapper) bind(r *reader) error {
	if err := m.checkSpelling(r.header); err != nil {
		return err
	}
	at := make([]int, len(m.cols)) // file position of each column, or -1
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
				ErrDuplicateColumn, describeHeader(r.header[j], j), describeHeader(h, i), m.cols[ci].Name)
		default:
			at[ci] = i
		}
	}
	if err := m.checkRequired(at, r.header); err != nil {
		return err
	}
	if len(unknown) > 0 {
		if m.strict {
			return fmt.Errorf("%w: the schema does not know %s", ErrUnknownColumn, listHeaders(unknown))
		}
		r.format.Warnings = append(r.format.Warnings, "ignored columns not in the schema: "+listHeaders(unknown))
	}
	m.bindFields(r, at)
	return nil
}

// checkSpelling applies the schema's HeaderRule to every header.
func (m *Mapper) checkSpelling(header []string) error {
	if m.headers != LowerSnake {
		return nil
	}
	var bad []string
	for i, h := range header {
		if h = strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")); !isLowerSnake(h) {
			bad = append(bad, fmt.Sprintf("%s (write %s)", describeHeader(h, i), quote(lowerSnake(h))))
		}
	}
	if bad == nil {
		return nil
	}
	return fmt.Errorf("%w: headers must be lower case without spaces, with underscores instead: %s", ErrHeaderSpelling, listHeaders(bad))
}

// available reports whether column i gets values from a file whose columns
// are at at: it is in the file, or made From columns that all are, or has
// a Default.
func (m *Mapper) available(i int, at []int) bool {
	c := &m.cols[i]
	if at[i] >= 0 || c.def != "" {
		return true
	}
	if c.makes && !slices.ContainsFunc(c.refs, func(j int) bool { return !m.available(j, at) }) {
		return true // its Transforms make it
	}
	return c.from != nil && !slices.ContainsFunc(c.from, func(j int) bool { return at[j] < 0 })
}

// checkRequired fails a file that lacks the Key column or a Required one:
// read anyway, it would look like a file in which every user lost that
// value, or every user left.
func (m *Mapper) checkRequired(at []int, header []string) error {
	var missing []string
	for i := range m.cols {
		c := &m.cols[i]
		if !(c.Required || c.Role == Key) || m.available(i, at) {
			continue
		}
		s := quote(c.header())
		if len(c.Aliases) > 0 {
			s += " (or " + listHeaders(quoteAll(c.Aliases)) + ")"
		}
		if c.from != nil {
			s += " (or all of " + listHeaders(quoteAll(m.headersOf(c.from))) + ")"
		}
		missing = append(missing, s)
	}
	if missing == nil {
		return nil
	}
	return fmt.Errorf("%w %s; the header has %s",
		ErrMissingColumn, strings.Join(missing, ", "), listHeaders(quoteAll(header)))
}

// headersOf returns the declared headers of columns idx.
func (m *Mapper) headersOf(idx []int) []string {
	hs := make([]string, len(idx))
	for k, j := range idx {
		hs[k] = m.cols[j].header()
	}
	return hs
}

// bindFields sets up the fields of r from the file position of each schema
// column, and builds the file's Layout from the Attribute columns it has
// values for.
func (m *Mapper) bindFields(r *reader, at []int) {
	var names []string
	for i := range m.cols {
		c := &m.cols[i]
		if c.Role == Ignore || !m.available(i, at) {
			continue
		}
		f := field{col: c, ci: i, index: at[i], slot: -1}
		if f.index >= 0 {
			f.header = r.header[f.index]
		} else {
			f.header = m.derivedHeader(c, at, r.header)
			if !c.makes { // a column its Transforms make is not expected in the file
				r.format.Warnings = append(r.format.Warnings, "column "+quote(c.header())+" is missing: "+m.derivedFrom(i, at))
			}
		}
		if c.Role == Attribute {
			f.slot = len(names)
			names = append(names, c.Name)
		}
		switch {
		case c.Role == Skip:
			r.skip = &f
			continue
		case f.index >= 0:
			r.fields = append(r.fields, f)
		}
		if c.from != nil || c.def != "" || c.late {
			r.derived = append(r.derived, f)
		}
	}
	// Each after those it is made from (see rankColumns); Defaults first.
	slices.SortStableFunc(r.derived, func(a, b field) int { return a.col.rank - b.col.rank })
	r.layout = usersync.NewLayout(names...)
	r.values = make([]string, len(names))
	r.vals = make([]string, len(m.cols))
	for _, fs := range [][]field{r.fields, r.derived} {
		for i := range fs {
			switch fs[i].col.Role {
			case Key:
				r.key = &fs[i]
			case Groups:
				r.sep = fs[i].col.Separator
			}
		}
	}
}

// derivedHeader names a column missing from the file in messages by the
// columns it is made from.
func (m *Mapper) derivedHeader(c *column, at []int, header []string) string {
	var from []string
	for _, j := range append(c.from[:len(c.from):len(c.from)], c.refs...) {
		if at[j] >= 0 {
			from = append(from, header[at[j]])
		}
	}
	if from == nil {
		return c.header()
	}
	return c.header() + " (from " + strings.Join(from, " and ") + ")"
}

// derivedFrom says where the values of column i, missing from the file, come
// from, for a warning.
func (m *Mapper) derivedFrom(i int, at []int) string {
	c := &m.cols[i]
	if c.from != nil && !slices.ContainsFunc(c.from, func(j int) bool { return at[j] < 0 }) {
		s := "made from " + listHeaders(quoteAll(m.headersOf(c.from)))
		if c.def != "" {
			s += ", or " + quote(c.def) + " when they are empty"
		}
		return s
	}
	return "every user gets the default " + quote(c.def)
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

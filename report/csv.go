package report

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// CSVOptions tune the CSV attachments. A nil *CSVOptions means the
// defaults: commas, no byte order mark, every row.
type CSVOptions struct {
	// BOM starts the file with a UTF-8 byte order mark, without which
	// Excel shows non-ASCII names as mojibake.
	BOM bool
	// Comma is the field delimiter; 0 means ','. Excel in many European
	// locales expects ';'.
	Comma rune
	// MaxRows caps the rows after the header; a last row then says how
	// many were left out. 0 means no cap.
	MaxRows int
}

// WriteChangesCSV writes the run's changes as CSV, one per row, with the
// columns kind, key, old_key, label, attributes, joins, leaves, outcome and
// error (lists are separated by "; "). It writes every change of a Summary made
// from a Result, and the listed ones of a Summary decoded from JSON.
//
// The CSV follows RFC 4180 (CRLF line ends, quoted fields where needed),
// and is safe to open in a spreadsheet: a cell that starts with =, +, -, @,
// a tab, a carriage return or a NUL, which a spreadsheet could run as a
// formula, is prefixed with a single quote (OWASP, CWE-1236).
func WriteChangesCSV(w io.Writer, s *Summary, opts *CSVOptions) error {
	if s == nil {
		return errors.New("report: WriteChangesCSV: nil Summary")
	}
	cw := newCSVWriter(w, opts, "kind", "key", "old_key", "label", "attributes", "joins", "leaves", "outcome", "error")
	for c := range s.eachChange() {
		if !cw.row(c.Kind.String(), c.Key, c.OldKey, c.Label, strings.Join(c.Attrs, "; "), strings.Join(c.Join, "; "),
			strings.Join(c.Leave, "; "), string(c.Outcome), c.Error) {
			break
		}
	}
	if s.all != nil && s.all.err != nil {
		return fmt.Errorf("report: WriteChangesCSV: %w", s.all.err)
	}
	return cw.close(s.changeTotal(), "changes")
}

// WriteRejectedCSV writes the run's rejected rows as CSV, with the columns
// file, line, column, value, key and reason: what an administrator needs to
// fix the file. It writes the rows the Result kept (Pipeline.MaxRowErrors),
// or the listed ones of a Summary decoded from JSON. Cells are neutralised
// as [WriteChangesCSV] says.
func WriteRejectedCSV(w io.Writer, s *Summary, opts *CSVOptions) error {
	if s == nil {
		return errors.New("report: WriteRejectedCSV: nil Summary")
	}
	cw := newCSVWriter(w, opts, "file", "line", "column", "value", "key", "reason")
	for r := range s.eachRow() {
		if !cw.row(r.File, strconv.Itoa(r.Line), r.Column, r.Value, r.Key, r.Reason) {
			break
		}
	}
	return cw.close(s.Rejected.Total, "rejected rows")
}

// lineBreaks makes every line break in a cell "\n", which csv.Writer
// writes as CRLF; it would drop a lone CR.
var lineBreaks = strings.NewReplacer("\r\n", "\n", "\r", "\n")

// csvWriter writes neutralised rows, up to a cap.
type csvWriter struct {
	buf   *bufio.Writer
	w     *csv.Writer
	width int // cells per row
	max   int
	rows  int
	err   error
}

func newCSVWriter(w io.Writer, opts *CSVOptions, header ...string) *csvWriter {
	if opts == nil {
		opts = &CSVOptions{}
	}
	buf := bufio.NewWriter(w)
	cw := &csvWriter{buf: buf, w: csv.NewWriter(buf), width: len(header), max: opts.MaxRows}
	cw.w.UseCRLF = true
	if opts.Comma != 0 {
		cw.w.Comma = opts.Comma
	}
	if opts.BOM {
		_, cw.err = buf.WriteString("\uFEFF")
	}
	cw.write(header)
	return cw
}

// row writes one row, and reports whether there is room for another.
func (cw *csvWriter) row(cells ...string) bool {
	if cw.max > 0 && cw.rows >= cw.max {
		return false
	}
	for i, c := range cells {
		c = Neutralize(c)
		if strings.IndexByte(c, '\r') >= 0 {
			c = lineBreaks.Replace(c)
		}
		cells[i] = c
	}
	cw.write(cells)
	cw.rows++
	return cw.err == nil
}

func (cw *csvWriter) write(cells []string) {
	if cw.err == nil {
		cw.err = cw.w.Write(cells)
	}
}

// close says how many of total items were left out, by the cap or because
// the Summary did not keep them, and flushes.
func (cw *csvWriter) close(total int, what string) error {
	if more := total - cw.rows; more > 0 {
		note := make([]string, cw.width) // as wide as the others, per RFC 4180
		note[0] = fmt.Sprintf("and %d more %s", more, what)
		cw.write(note)
	}
	cw.w.Flush()
	if cw.err == nil {
		cw.err = cw.w.Error()
	}
	if cw.err == nil {
		cw.err = cw.buf.Flush()
	}
	return cw.err
}

// Neutralize returns a CSV cell that a spreadsheet shows as text: a cell
// starting with =, +, -, @, a tab, a carriage return or a NUL gets a
// leading single quote, so that "=HYPERLINK(...)" in a user's name is not
// run as a formula. Other cells are returned as they are.
func Neutralize(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r', 0:
		return "'" + cell
	}
	return cell
}

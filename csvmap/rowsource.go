package csvmap

import (
	"fmt"
	"io"
	"strings"

	"github.com/usersync/usersync"
)

// A RowSource yields the rows of a file that is not CSV, such as a sheet of
// a workbook, so that a Mapper maps them with the same schema, validation
// and errors as a CSV file's (see Mapper.NewRowReader). The package
// csvmap/xlsx has one for Excel workbooks.
type RowSource interface {
	// Next returns the next row's values, in column order, and the
	// 1-based number of the row (a line, for errors and Record.Origin), or
	// io.EOF after the last row. Any other error fails the file. The first
	// row that is not blank is the header. A row may be shorter than the
	// header, its missing values being empty; values past the header are
	// not read. The reader is done with the slice and its strings when it
	// calls Next again.
	Next() (row []string, line int, err error)
	// Cell names, for errors, the cell of the last row that Next returned
	// at 0-based column col, as the file's users name it, such as
	// "Sheet1!C17"; "" names the row by its line.
	Cell(col int) string
}

// NewRowReader returns a reader of the records in the rows of src, which
// works as NewReader's does from the header on: the header fails the file
// for the same reasons (a missing Key or Required column, a duplicate
// column, an unknown one in a Strict schema, a HeaderRule broken), rows are
// rejected with a *usersync.RowError that names src's cell, Skip rows are
// counted, and the limits on values and rows and the hold policy apply.
// Rows whose values are all blank are passed over, as CSV's blank lines
// are. Its Format has the header and warnings; Encoding and Delimiter are
// left for the caller to describe.
func (m *Mapper) NewRowReader(src RowSource, f usersync.FileInfo) (usersync.FormatReader, error) {
	rd := &reader{
		m:      m,
		file:   f.Name,
		src:    src,
		intern: make(map[string]string),
	}
	rd.norm = newNormalizer(m, &rd.mapped)
	rd.tx = &transformer{m: m, a: &rd.mapped}
	header, err := rd.nextRow()
	switch {
	case err == io.EOF:
		return nil, fmt.Errorf("%w: the file is empty (%w)", ErrNoHeader, usersync.ErrNoRecords)
	case err != nil:
		return nil, err
	}
	rd.header = make([]string, len(header))
	for i, h := range header {
		rd.header[i] = strings.Clone(h)
	}
	rd.format.Columns = rd.header
	if err := m.bind(rd); err != nil {
		return nil, err
	}
	return m.ready(rd)
}

// nextRow returns the next row of src that is not blank, as long as the
// header, and sets r.line.
func (r *reader) nextRow() ([]string, error) {
	for {
		row, line, err := r.src.Next()
		if err != nil {
			return nil, err
		}
		if isBlankRow(row) {
			continue
		}
		r.line = line
		if r.header == nil {
			return row, nil
		}
		switch {
		case len(row) > len(r.header):
			row = row[:len(r.header)]
		case len(row) < len(r.header):
			r.padded = append(append(r.padded[:0], row...), make([]string, len(r.header)-len(row))...)
			row = r.padded
		}
		return row, nil
	}
}

// isBlankRow reports whether every value of row is empty or white space.
func isBlankRow(row []string) bool {
	for _, v := range row {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// readSource is Read for a RowSource.
func (r *reader) readSource() (usersync.Record, error) {
	for r.err == nil {
		row, err := r.nextRow()
		switch {
		case err == io.EOF:
			r.err = r.atEnd()
			continue
		case err != nil:
			r.err = err
			continue
		}
		if r.rows++; r.rows > r.m.maxRows {
			r.err = fmt.Errorf("%w: row %d is past the limit of %d rows", ErrTooManyRows, r.line, r.m.maxRows)
			break
		}
		if rec, ok, err := r.take(row, otherText); ok {
			return rec, err
		}
	}
	return usersync.Record{}, r.err
}

// cell names the cell of column index of the current row, for a RowError:
// "" for a text file, or for a column made From others.
func (r *reader) cell(index int) string {
	if r.src == nil || index < 0 {
		return ""
	}
	return r.src.Cell(index)
}

package xlsx

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
)

// A source is a csvmap.RowSource of a sheet, read with excelize's
// streaming row reader.
type source struct {
	rows      *excelize.Rows
	sheet     *sheetInfo
	headerRow int    // Options.HeaderRow
	ref       string // "Sheet1!", to name cells
	n         int    // number of the row Next returned last
	width     int    // of the header; 0 before it

	next   int      // the next of sheet.merges to start
	active []*merge // merges that cover row n or later ones
}

var _ csvmap.RowSource = (*source)(nil)

// Next returns the next row, with its merged cells filled, and its number.
func (s *source) Next() (row []string, n int, err error) {
	defer recoverTo(&err)
	for s.rows.Next() {
		s.n++
		row, err := s.rows.Columns()
		if err != nil {
			return nil, 0, fmt.Errorf("%w: row %s%d: %w", ErrDamaged, s.ref, s.n, err)
		}
		if s.n < s.headerRow {
			s.merged(row, false) // a merge may start above the header
			continue
		}
		blank := isBlank(row)
		if s.n == s.headerRow && blank {
			return nil, 0, fmt.Errorf("%w: row %d of sheet %s, the header row (Options.HeaderRow), is empty",
				csvmap.ErrNoHeader, s.n, strings.TrimSuffix(s.ref, "!"))
		}
		// A blank row stays blank, to be passed over, even inside a merge.
		row = s.merged(row, !blank && s.width > 0)
		if s.width == 0 && !blank {
			s.width = len(row)
		}
		return row, s.n, nil
	}
	if err := s.rows.Error(); err != nil {
		return nil, 0, fmt.Errorf("%w: after row %s%d: %w", ErrDamaged, s.ref, s.n, err)
	}
	if s.n < s.sheet.lastRow {
		return nil, 0, fmt.Errorf("%w: the rows of sheet %s end at row %d, before its last row, %d",
			ErrDamaged, strings.TrimSuffix(s.ref, "!"), s.n, s.sheet.lastRow)
	}
	return nil, 0, io.EOF
}

// Cell names the cell of column col of the last row, such as "Sheet1!C17".
func (s *source) Cell(col int) string {
	name, err := excelize.ColumnNumberToName(col + 1)
	if err != nil {
		return ""
	}
	return s.ref + name + strconv.Itoa(s.n)
}

// merged notes the value of each merged range whose top left cell is in
// row, and, if fill is set, gives the empty cells of the ranges that cover
// it their range's value: Excel shows a merged range as one cell, but the
// file holds its value in the top left cell only.
func (s *source) merged(row []string, fill bool) []string {
	ms := s.sheet.merges
	for s.next < len(ms) && ms[s.next].row1 <= s.n {
		mg := &ms[s.next]
		s.next++
		if mg.col1 <= len(row) {
			mg.value = row[mg.col1-1]
		}
		s.active = append(s.active, mg)
	}
	if len(s.active) == 0 {
		return row
	}
	s.active = slices.DeleteFunc(s.active, func(mg *merge) bool { return mg.row2 < s.n })
	if !fill {
		return row
	}
	for _, mg := range s.active {
		end := min(mg.col2, s.width)
		if mg.value == "" || mg.col1 > end {
			continue
		}
		for len(row) < end {
			row = append(row, "")
		}
		for c := mg.col1; c <= end; c++ {
			if row[c-1] == "" && (c != mg.col1 || s.n != mg.row1) {
				row[c-1] = mg.value
			}
		}
	}
	return row
}

// recoverTo turns a panic of excelize, on a workbook it did not expect,
// into an error that fails the file rather than the program.
func recoverTo(err *error) {
	if v := recover(); v != nil {
		*err = fmt.Errorf("%w: excelize: panic: %v", ErrDamaged, v)
	}
}

func isBlank(row []string) bool {
	for _, v := range row {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// errClosed is what Read returns after Close.
var errClosed = errors.New("xlsx: read after Close")

// A reader reads the records of a workbook's sheet and removes the
// workbook's temporary files at its end.
type reader struct {
	rr      usersync.FormatReader
	w       *workbook
	sheet   string
	cleanup runtime.Cleanup
	err     error // sticky: io.EOF or the error that failed the file
}

var (
	_ usersync.FormatReader = (*reader)(nil)
	_ io.Closer             = (*reader)(nil)
)

// Read returns the next record as csvmap's reader does. At io.EOF, or an
// error that fails the file, it removes the workbook's temporary files.
func (r *reader) Read() (usersync.Record, error) {
	if r.err != nil {
		return usersync.Record{}, r.err
	}
	rec, err := r.rr.Read()
	if err != nil {
		var re *usersync.RowError
		if !errors.As(err, &re) {
			r.err = err
			r.cleanup.Stop()
			r.w.close()
		}
	}
	return rec, err
}

// Format says how the sheet was read; its Encoding names the sheet.
func (r *reader) Format() usersync.Format {
	f := r.rr.Format()
	f.Encoding = "xlsx, sheet " + quoteSheet(r.sheet)
	return f
}

// Close removes the workbook's temporary files. Read returns an error
// after it.
func (r *reader) Close() error {
	if r.err == nil {
		r.err = errClosed
	}
	r.cleanup.Stop()
	return r.w.close()
}

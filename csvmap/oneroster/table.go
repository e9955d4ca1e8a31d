package oneroster

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/usersync/usersync"
)

// A table reads one CSV file of a bundle: UTF-8 (a byte order mark is
// skipped), comma-separated, with a header row of the specification's
// column names, which are matched ignoring case.
type table struct {
	file   string // as the Source lists it
	cr     *csv.Reader
	header []string
	col    map[string]int // lower-cased header -> index
	exact  map[string]int // a name as the code spells it -> index, -1 if absent
	row    []string
	line   int
	rows   int // data rows read
	skip   int // rows left out on purpose
}

// openTable reads the header of r, file f, and checks that it holds the
// required columns.
func openTable(r io.Reader, f usersync.FileInfo, maxRecord int, required ...string) (*table, error) {
	br := bufio.NewReaderSize(&lineGuard{r: r, max: maxRecord}, 64<<10)
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\uFEFF")) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	t := &table{file: f.Name, cr: cr, col: make(map[string]int), exact: make(map[string]int)}
	h, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: the file is empty: a header row is required", ErrRequired)
	}
	if err != nil {
		return nil, err
	}
	t.header = make([]string, len(h))
	for i, name := range h {
		name = strings.TrimSpace(name)
		t.header[i] = name
		k := strings.ToLower(name)
		if _, dup := t.col[k]; dup {
			return nil, fmt.Errorf("%w: column %s appears twice in the header", ErrBadValue, name)
		}
		t.col[k] = i
	}
	var missing []string
	for _, c := range required {
		if !t.has(c) {
			missing = append(missing, c)
		}
	}
	if missing != nil {
		return nil, fmt.Errorf("%w: the header lacks column %s (it has %s)", ErrRequired, strings.Join(missing, ", "), strings.Join(t.header, ","))
	}
	return t, nil
}

// has reports whether the file has the column.
func (t *table) has(name string) bool {
	_, ok := t.col[strings.ToLower(name)]
	return ok
}

// next reads the next row. It returns io.EOF at the end, a *RowError for a
// row with the wrong number of fields (the next row may be read), and any
// other error for a file that cannot be read on.
func (t *table) next() error {
	row, err := t.cr.Read()
	if row != nil || err == nil {
		t.line, _ = t.cr.FieldPos(0)
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
			t.rows++
			return &usersync.RowError{File: t.file, Line: pe.StartLine,
				Err: fmt.Errorf("%w: %d fields where the header has %d", ErrBadValue, len(row), len(t.header))}
		}
		return err
	}
	t.rows++
	t.row = row
	return nil
}

// get returns the row's trimmed value of the column, "" when the file
// lacks the column.
func (t *table) get(name string) string {
	i, ok := t.exact[name]
	if !ok {
		i = -1
		if j, ok := t.col[strings.ToLower(name)]; ok {
			i = j
		}
		t.exact[name] = i
	}
	if i < 0 {
		return ""
	}
	return strings.TrimSpace(t.row[i])
}

// rowError rejects the current row.
func (t *table) rowError(col, value, key string, err error) *usersync.RowError {
	return &usersync.RowError{File: t.file, Line: t.line, Column: col, Value: value, Key: key, Err: err}
}

// require returns a row error for the first of the columns whose value is
// empty, or nil.
func (t *table) require(key string, cols ...string) *usersync.RowError {
	for _, c := range cols {
		if t.get(c) == "" {
			return t.rowError(c, "", key, ErrRequired)
		}
	}
	return nil
}

// checkText rejects a value that is not valid UTF-8 or holds a NUL byte.
func (t *table) checkText(key string) *usersync.RowError {
	for i, v := range t.row {
		if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return t.rowError(t.header[i], "", key, fmt.Errorf("%w: not UTF-8 text", ErrBadValue))
		}
	}
	return nil
}

// format describes how the file was read.
func (t *table) format() usersync.Format {
	return usersync.Format{Encoding: "UTF-8", Delimiter: ',', Columns: t.header, Skipped: t.skip}
}

// sourced reads the row's sourcedId, which it requires, and its status
// (see status).
func (t *table) sourced(delta bool) (id string, deleted bool, rerr *usersync.RowError) {
	id = t.get("sourcedId")
	if rerr := t.require(id, "sourcedId"); rerr != nil {
		return id, false, rerr
	}
	deleted, rerr = t.status(id, delta)
	return id, deleted, rerr
}

// status reads the row's status: "" or "active" is active, "tobedeleted"
// (and 1.0's "inactive") deleted. In a delta file the status and
// dateLastModified are required.
func (t *table) status(key string, delta bool) (deleted bool, rerr *usersync.RowError) {
	s := t.get("status")
	if delta {
		if rerr := t.require(key, "status", "dateLastModified"); rerr != nil {
			return false, rerr
		}
	}
	switch strings.ToLower(s) {
	case "", "active":
		return false, nil
	case "tobedeleted", "inactive":
		return true, nil
	}
	return false, t.rowError("status", s, key, fmt.Errorf("%w: status is active or tobedeleted", ErrBadValue))
}

// A lineGuard fails a stream with a line longer than max bytes, before
// encoding/csv holds it in memory: a file without line breaks, or with a
// quote left open, stops there.
type lineGuard struct {
	r   io.Reader
	max int
	run int // bytes since the last line break
}

// ErrRecordTooLong fails a file with a row longer than
// Options.MaxRecordBytes.
var ErrRecordTooLong = errors.New("row too long")

func (g *lineGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if i := bytes.LastIndexByte(p[:n], '\n'); i >= 0 {
		g.run = n - i - 1
	} else {
		g.run += n
	}
	if g.run > g.max {
		return n, fmt.Errorf("%w: more than %d bytes without a line break", ErrRecordTooLong, g.max)
	}
	return n, err
}

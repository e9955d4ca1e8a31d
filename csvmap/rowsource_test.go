package csvmap_test

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
)

// sliceSource is a RowSource over rows in memory, numbered from 1, whose
// cells are named "S!<column letter><row>".
type sliceSource struct {
	rows [][]string
	n    int
}

func (s *sliceSource) Next() ([]string, int, error) {
	if s.n >= len(s.rows) {
		return nil, 0, io.EOF
	}
	s.n++
	return s.rows[s.n-1], s.n, nil
}

func (s *sliceSource) Cell(col int) string { return fmt.Sprintf("S!%c%d", 'A'+col, s.n) }

func TestNewRowReader(t *testing.T) {
	m, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Role: csvmap.Key},
		{Name: "email", Header: "Mail", Kind: csvmap.Email, Required: true},
		{Name: "title"},
		{Name: "Skip", Role: csvmap.Skip},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := &sliceSource{rows: [][]string{
		{"", "  "},                           // 1: blank, before the header
		{"id", "Mail", "title", "Skip", "x"}, // 2: header
		{"a1", "a@example.com"},              // 3: short: title and Skip empty
		{},                                   // 4: blank
		{"a2", "not-an-email", "T"},          // 5: rejected
		{"a3", "c@example.com", "", "1"},     // 6: skipped
		{"a4", "d@example.com", "Boss", "", "extra", "more"}, // 7: longer than the header
	}}
	rr, err := m.NewRowReader(src, usersync.FileInfo{Name: "users.xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var re *usersync.RowError
			if !errors.As(err, &re) || re.Cell != "S!B5" || re.Line != 5 || re.Key != "a2" {
				t.Fatalf("Read: %#v", err)
			}
			got = append(got, err.Error())
			continue
		}
		got = append(got, fmt.Sprint(rec.Origin, " ", rec.Key, " ", rec.Attrs))
	}
	want := []string{
		`users.xlsx:3 a1 {email="a@example.com" title=""}`,
		`users.xlsx: S!B5: column Mail: "not-an-email": invalid email address`,
		`users.xlsx:7 a4 {email="d@example.com" title="Boss"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if f := rr.Format(); f.Skipped != 1 || len(f.Columns) != 5 {
		t.Errorf("Format = %+v", f)
	}
}

func TestNewRowReaderHeader(t *testing.T) {
	m, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{{Name: "id", Role: csvmap.Key}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.NewRowReader(&sliceSource{rows: [][]string{{" "}}}, usersync.FileInfo{Name: "u.xlsx"})
	if !errors.Is(err, csvmap.ErrNoHeader) || !errors.Is(err, usersync.ErrNoRecords) {
		t.Errorf("empty: %v", err)
	}
	_, err = m.NewRowReader(&sliceSource{rows: [][]string{{"Name"}, {"x"}}}, usersync.FileInfo{Name: "u.xlsx"})
	if !errors.Is(err, csvmap.ErrMissingColumn) {
		t.Errorf("no key: %v", err)
	}
	boom := errors.New("boom")
	_, err = m.NewRowReader(errSource{boom}, usersync.FileInfo{Name: "u.xlsx"})
	if !errors.Is(err, boom) {
		t.Errorf("source error: %v", err)
	}
}

type errSource struct{ err error }

func (e errSource) Next() ([]string, int, error) { return nil, 0, e.err }
func (errSource) Cell(int) string                { return "" }

// Rows from a RowSource take the schema's transforms and filters as CSV
// rows do.
func TestNewRowReaderTransformsAndFilters(t *testing.T) {
	m, err := csvmap.New(csvmap.Schema{
		Columns: []csvmap.Column{
			{Name: "id", Role: csvmap.Key},
			{Name: "name", Transforms: []csvmap.Transform{{LastFirst: true}}},
			{Name: "type"},
		},
		Filters: []csvmap.Filter{{Name: "contractors", Mode: csvmap.Exclude, Column: "type", Values: []string{"C"}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := &sliceSource{rows: [][]string{
		{"id", "name", "type"},
		{"a1", "Lee, Ann", "E"},
		{"a2", "Doe, Jo", "C"},
	}}
	rr, err := m.NewRowReader(src, usersync.FileInfo{Name: "users.xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name, _ := rec.Attrs.Get("name")
		got = append(got, rec.Key+"="+name)
	}
	if want := []string{"a1=Ann Lee"}; !slices.Equal(got, want) {
		t.Errorf("records = %q, want %q", got, want)
	}
	if n := rr.Format().OutOfScope; n != 1 {
		t.Errorf("Format().OutOfScope = %d, want 1", n)
	}
}

package xlsx_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/csvmap/xlsx"
)

func testSchema() csvmap.Schema {
	return csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Header: "UniqueID", Role: csvmap.Key},
		{Name: "name", Header: "Name", Required: true},
		{Name: "email", Header: "Mail", Kind: csvmap.Email, Required: true},
		{Name: "start", Header: "Start", Kind: csvmap.Date},
		{Name: "salary", Header: "Salary"},
		{Name: "dept", Header: "Department"},
		{Name: "groups", Header: "Groups", Role: csvmap.Groups},
	}}
}

func newMapper(t testing.TB, s csvmap.Schema, copts *csvmap.Options, opts *xlsx.Options) *xlsx.Mapper {
	t.Helper()
	cm, err := csvmap.New(s, copts)
	if err != nil {
		t.Fatal(err)
	}
	if opts == nil {
		opts = &xlsx.Options{}
	}
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	m, err := xlsx.New(cm, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// readAll reads every record and row error of a file, as lines.
func readAll(t testing.TB, rr usersync.RecordReader) []string {
	t.Helper()
	var out []string
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			return out
		}
		var re *usersync.RowError
		if errors.As(err, &re) {
			out = append(out, "rejected: "+err.Error())
			continue
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		out = append(out, fmt.Sprint(rec.Origin, " ", rec.Key, " ", rec.Attrs, " ", rec.Groups))
	}
}

// usersBook is a workbook whose first sheet is notes and whose second,
// Users, has a title row, the header on row 3, dates and numbers with
// formats, a blank row, a department merged over three rows and a bad
// email in C8.
func usersBook(t testing.TB) []byte {
	return book(t, []sheetData{
		{"Notes", [][]any{{"exported by HR"}}},
		{"Users", [][]any{
			{"Staff export"},
			nil,
			{"UniqueID", "Name", "Mail", "Start", "Salary", "Department", "Groups"},
			{1001, "Ann Lee", "ann@example.com", date(2025, 3, 9), 41000.5, "Sales", "Akron, Scranton"},
			{1002, "Bob Berg", "bob@example.com", date(2024, 12, 31), 39000, nil, "Akron"},
			nil,
			{1003, "Åsa Ström", "asa@example.com", nil, 123456789012, nil},
			{1004, "Cy", "cy(at)example.com", date(2025, 1, 2), 1},
			{"1005", "  Dan Ek ", "dan@example.com"},
		}},
	}, func(f *excelize.File) {
		iso := "yyyy-mm-dd"
		st, _ := f.NewStyle(&excelize.Style{CustomNumFmt: &iso})
		f.SetCellStyle("Users", "D4", "D8", st)
		short, _ := f.NewStyle(&excelize.Style{NumFmt: 14}) // Excel's default date format
		f.SetCellStyle("Users", "D5", "D5", short)
		money, _ := f.NewStyle(&excelize.Style{NumFmt: 4}) // #,##0.00
		f.SetCellStyle("Users", "E4", "E5", money)
		if err := f.MergeCell("Users", "F4", "F7"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestWorkbook(t *testing.T) {
	dir := t.TempDir()
	m := newMapper(t, testSchema(), nil, &xlsx.Options{Sheet: "users", HeaderRow: 3, TempDir: dir})
	rr, err := m.NewReader(bytes.NewReader(usersBook(t)), usersync.FileInfo{Name: "in/Users.XLSX"})
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, rr)
	want := []string{
		`in/Users.XLSX:4 1001 {name="Ann Lee" email="ann@example.com" start="2025-03-09" salary="41,000.50" dept="Sales"} [Akron Scranton]`,
		`in/Users.XLSX:5 1002 {name="Bob Berg" email="bob@example.com" start="2024-12-31" salary="39,000.00" dept="Sales"} [Akron]`,
		`in/Users.XLSX:7 1003 {name="Åsa Ström" email="asa@example.com" start="" salary="123456789012" dept="Sales"} []`,
		`rejected: in/Users.XLSX: Users!C8: column Mail: "cy(at)example.com": invalid email address`,
		`in/Users.XLSX:9 1005 {name="Dan Ek" email="dan@example.com" start="" salary="" dept=""} []`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	f := rr.(usersync.FormatReader).Format()
	if f.Encoding != "xlsx, sheet Users" || len(f.Columns) != 7 || f.Columns[0] != "UniqueID" {
		t.Errorf("Format = %+v", f)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left in TempDir after EOF: %v", left)
	}
}

func TestRowErrorNamesCell(t *testing.T) {
	m := newMapper(t, testSchema(), nil, &xlsx.Options{Sheet: "Users", HeaderRow: 3})
	rr, err := m.NewReader(bytes.NewReader(usersBook(t)), usersync.FileInfo{Name: "users.xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, err := rr.Read()
		if err == io.EOF {
			t.Fatal("no row error")
		}
		var re *usersync.RowError
		if errors.As(err, &re) {
			if re.File != "users.xlsx" || re.Line != 8 || re.Cell != "Users!C8" || re.Column != "Mail" || re.Key != "1004" ||
				!errors.Is(err, csvmap.ErrInvalidEmail) {
				t.Errorf("RowError = %+v", re)
			}
			break
		}
	}
	rr.(io.Closer).Close()
}

func TestFirstSheetAndHeaderRow(t *testing.T) {
	b := book(t, []sheetData{
		{"Blad 1", [][]any{{"ignored title"}, {"UniqueID", "Name", "Mail"}, {"a1", "Ann", "bad"}}},
		{"Other", [][]any{{"UniqueID"}}},
	}, nil)
	m := newMapper(t, testSchema(), nil, &xlsx.Options{HeaderRow: 2})
	rr, err := m.NewReader(bytes.NewReader(b), usersync.FileInfo{Name: "u.xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, rr)
	if want := `rejected: u.xlsx: 'Blad 1'!C3: column Mail: "bad": invalid email address`; len(got) != 1 || got[0] != want {
		t.Errorf("got %q, want %q", got, want)
	}

	// Without HeaderRow, the title row is the header, which lacks the key.
	m = newMapper(t, testSchema(), nil, nil)
	if _, err := m.NewReader(bytes.NewReader(b), usersync.FileInfo{Name: "u.xlsx"}); !errors.Is(err, csvmap.ErrMissingColumn) {
		t.Errorf("title row as header: %v", err)
	}
	// A HeaderRow that is empty.
	m = newMapper(t, testSchema(), nil, &xlsx.Options{HeaderRow: 7})
	if _, err := m.NewReader(bytes.NewReader(b), usersync.FileInfo{Name: "u.xlsx"}); !errors.Is(err, csvmap.ErrNoHeader) {
		t.Errorf("empty header row: %v", err)
	}
}

func TestNoSuchSheet(t *testing.T) {
	m := newMapper(t, testSchema(), nil, &xlsx.Options{Sheet: "Staff"})
	_, err := m.NewReader(bytes.NewReader(usersBook(t)), usersync.FileInfo{Name: "u.xlsx"})
	if !errors.Is(err, xlsx.ErrNoSheet) || !strings.Contains(err.Error(), `Notes, Users`) {
		t.Errorf("err = %v", err)
	}
}

func TestOtherFilesPassToCSV(t *testing.T) {
	m := newMapper(t, testSchema(), nil, nil)
	rr, err := m.NewReader(strings.NewReader("UniqueID,Name,Mail\na1,Ann,ann@example.com\n"), usersync.FileInfo{Name: "users.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, rr); len(got) != 1 || !strings.HasPrefix(got[0], "users.csv:2 a1") {
		t.Errorf("got %q", got)
	}
	for name, want := range map[string]bool{
		"users.xlsx": true, "USERS.XLSX.pgp": true, "in/u.xlsx.gpg": true, `in\u.xlsx`: true,
		"users.csv": false, "users.xlsx.csv": false, "users.xls": false, "xlsx": false,
	} {
		if got := xlsx.IsWorkbook(name); got != want {
			t.Errorf("IsWorkbook(%q) = %v", name, got)
		}
	}
}

func TestBlankAndEmptyWorkbooks(t *testing.T) {
	m := newMapper(t, testSchema(), nil, nil)
	b := book(t, []sheetData{{"S", nil}}, nil)
	_, err := m.NewReader(bytes.NewReader(b), usersync.FileInfo{Name: "u.xlsx"})
	if !errors.Is(err, csvmap.ErrNoHeader) || !errors.Is(err, usersync.ErrNoRecords) {
		t.Errorf("empty sheet: %v", err)
	}
	b = book(t, []sheetData{{"S", [][]any{{"UniqueID", "Name", "Mail"}, nil, {"  ", ""}}}}, nil)
	rr, err := m.NewReader(bytes.NewReader(b), usersync.FileInfo{Name: "u.xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, rr); len(got) != 0 {
		t.Errorf("header only: %q", got)
	}
}

func TestPassthroughHoldPolicy(t *testing.T) {
	// csvmap's options apply: a hold policy fails the file.
	m := newMapper(t, testSchema(), &csvmap.Options{Hold: &csvmap.HoldPolicy{}}, &xlsx.Options{Sheet: "Users", HeaderRow: 3})
	rr, err := m.NewReader(bytes.NewReader(usersBook(t)), usersync.FileInfo{Name: "u.xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, err = rr.Read()
		if err == io.EOF {
			t.Fatal("not held")
		}
		if err != nil && !errors.As(err, new(*usersync.RowError)) {
			break
		}
	}
	if !errors.Is(err, csvmap.ErrTooManyRejected) {
		t.Errorf("err = %v", err)
	}
	if _, again := rr.Read(); again != err {
		t.Errorf("not sticky: %v", again)
	}
}

package xlsx_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/csvmap/xlsx"
)

// FuzzWorkbook reads workbooks that a fuzzer makes from a good one: input
// that starts with "PK" is the whole file; any other is the XML of the
// sheet, zipped into the good workbook. Reading never panics, never leaves
// a file behind, returns only records with a key, names a cell in every
// row error it can, and fails a file only with an error that says why.
func FuzzWorkbook(f *testing.F) {
	good := smallBook(f)
	var sheet []byte
	rezip(f, good, func(name string, data []byte) []byte {
		if name == "xl/worksheets/sheet1.xml" {
			sheet = data
		}
		return data
	})
	f.Add(good)
	f.Add(usersBook(f))
	f.Add(sheet)
	f.Add([]byte(strings.Replace(string(sheet), `<row r="5"`, `<row r="3"`, 1)))
	f.Add([]byte(strings.Replace(string(sheet), `</sheetData>`, `</sheetData><mergeCells count="1"><mergeCell ref="B2:C9"/></mergeCells>`, 1)))
	f.Add([]byte(`<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>UniqueID</t></is></c></row><row r="2"><c r="A2" t="s"><v>99</v></c></row></sheetData></worksheet>`))
	f.Fuzz(func(t *testing.T, in []byte) {
		if !bytes.HasPrefix(in, []byte("PK")) {
			in = rezip(t, good, func(name string, data []byte) []byte {
				if name == "xl/worksheets/sheet1.xml" {
					return in
				}
				return data
			})
		}
		// Each input is read twice: with its shared strings as excelize
		// reads them, and rewritten inline, as a large table is. Read
		// whole both ways, it gives the same records and row errors.
		plain, okPlain := readFuzzed(t, in)
		defer xlsx.SetInlineAbove(xlsx.SetInlineAbove(0))
		inlined, okInlined := readFuzzed(t, in)
		if okPlain && okInlined && !slices.Equal(plain, inlined) {
			t.Fatalf("read as it is:\n%s\nwith its strings inline:\n%s", strings.Join(plain, "\n"), strings.Join(inlined, "\n"))
		}
	})
}

// readFuzzed reads a fuzzed workbook and checks what FuzzWorkbook says. It
// returns the records and row errors, and whether it read to the end.
func readFuzzed(t *testing.T, in []byte) (got []string, whole bool) {
	dir := t.TempDir()
	cm, err := csvmap.New(testSchema(), &csvmap.Options{MaxRows: 1000})
	if err != nil {
		t.Fatal(err)
	}
	m, err := xlsx.New(cm, &xlsx.Options{TempDir: dir, MaxUnzippedBytes: 8 << 20, MaxPartBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	rr, err := m.NewReader(bytes.NewReader(in), usersync.FileInfo{Name: "u.xlsx"})
	for err == nil {
		var rec usersync.Record
		rec, err = rr.Read()
		var re *usersync.RowError
		switch {
		case err == nil && rec.Key == "":
			t.Fatalf("a record without a key: %+v", rec)
		case err == nil:
			got = append(got, fmt.Sprint(rec.Origin, rec.Key, rec.Attrs, rec.Groups))
		case errors.As(err, &re):
			got = append(got, re.Error())
			if re.File != "u.xlsx" || re.Line < 1 || re.Column != "" && re.Cell == "" && !strings.Contains(re.Column, "(from") {
				t.Fatalf("RowError %+v", re)
			}
			err = nil
		}
	}
	if err != io.EOF && !wellFailed(err) {
		t.Fatalf("failed with %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("left in TempDir: %v", left)
	}
	return got, err == io.EOF
}

// wellFailed reports whether err says why a workbook failed.
func wellFailed(err error) bool {
	for _, want := range []error{
		xlsx.ErrNotWorkbook, xlsx.ErrDamaged, xlsx.ErrTooLarge, xlsx.ErrPasswordProtected, xlsx.ErrNoSheet,
		csvmap.ErrNoHeader, csvmap.ErrMissingColumn, csvmap.ErrDuplicateColumn, csvmap.ErrTooManyRows,
	} {
		if errors.Is(err, want) {
			return true
		}
	}
	return false
}

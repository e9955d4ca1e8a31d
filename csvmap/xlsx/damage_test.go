package xlsx_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap/xlsx"
)

// smallBook is a workbook of ten users on sheet S.
func smallBook(t testing.TB) []byte {
	rows := [][]any{{"UniqueID", "Name", "Mail"}}
	for i := range 10 {
		rows = append(rows, []any{1000 + i, "User", "u@example.com"})
	}
	return book(t, []sheetData{{"S", rows}}, nil)
}

// rezip copies the workbook b, changing each part's content with edit.
func rezip(t testing.TB, b []byte, edit func(name string, data []byte) []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(edit(f.Name, data))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// openErr opens b as u.xlsx and returns the error of NewReader or, failing
// that, the first Read error that fails the file.
func openErr(t *testing.T, m *xlsx.Mapper, b []byte) error {
	t.Helper()
	rr, err := m.NewReader(bytes.NewReader(b), usersync.FileInfo{Name: "u.xlsx"})
	if err != nil {
		return err
	}
	for {
		_, err := rr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil && !errors.As(err, new(*usersync.RowError)) {
			return err
		}
	}
}

func TestDamagedWorkbooks(t *testing.T) {
	good := smallBook(t)
	sheetXML := func(edit func(string) string) []byte {
		return rezip(t, good, func(name string, data []byte) []byte {
			if name == "xl/worksheets/sheet1.xml" {
				return []byte(edit(string(data)))
			}
			return data
		})
	}
	flip := func(part string) []byte {
		flipped := bytes.Clone(good)
		zr, _ := zip.NewReader(bytes.NewReader(good), int64(len(good)))
		for _, f := range zr.File {
			if f.Name == part {
				off, _ := f.DataOffset()
				flipped[off+int64(f.CompressedSize64/2)] ^= 0x55
			}
		}
		return flipped
	}
	var encrypted bytes.Buffer
	f, _ := excelize.OpenReader(bytes.NewReader(good))
	if err := f.Write(&encrypted, excelize.Options{Password: "secret"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"truncated", good[:len(good)/2], xlsx.ErrDamaged},
		{"corrupt sheet", flip("xl/worksheets/sheet1.xml"), xlsx.ErrDamaged},
		{"corrupt styles", flip("xl/styles.xml"), xlsx.ErrDamaged},
		{"sheet XML cut short", sheetXML(func(s string) string { return s[:len(s)/2] }), xlsx.ErrDamaged},
		{"sheet XML broken midway", sheetXML(func(s string) string { return strings.Replace(s, `<row r="5"`, `<row r="5" <<`, 1) }), xlsx.ErrDamaged},
		{"password", encrypted.Bytes(), xlsx.ErrPasswordProtected},
		{"CSV named .xlsx", []byte("UniqueID,Name\n1,Ann\n"), xlsx.ErrNotWorkbook},
		{"zip without workbook", rezip(t, good, func(name string, data []byte) []byte {
			if name == "_rels/.rels" {
				return []byte(`<Relationships/>`)
			}
			return data
		}), xlsx.ErrNotWorkbook},
		{"empty file", nil, xlsx.ErrNotWorkbook},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			m := newMapper(t, testSchema(), nil, &xlsx.Options{TempDir: dir})
			err := openErr(t, m, tc.b)
			t.Log(err)
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("left in TempDir: %v", left)
			}
		})
	}
	if err := openErr(t, newMapper(t, testSchema(), nil, nil), good); err != nil {
		t.Errorf("the good workbook: %v", err)
	}
}

func TestLimits(t *testing.T) {
	good := smallBook(t)
	// A zip bomb: a part of 64 MiB of zeros, a few KiB zipped.
	bomb := rezip(t, good, func(name string, data []byte) []byte {
		if name == "xl/styles.xml" {
			return append(data, make([]byte, 64<<20)...)
		}
		return data
	})
	if len(bomb) > 1<<20 {
		t.Fatalf("the bomb is %d bytes zipped", len(bomb))
	}
	for _, tc := range []struct {
		name string
		opts xlsx.Options
		b    []byte
	}{
		{"MaxFileBytes", xlsx.Options{MaxFileBytes: int64(len(good) - 1)}, good},
		{"MaxUnzippedBytes", xlsx.Options{MaxUnzippedBytes: 4 << 10}, good},
		{"MaxParts", xlsx.Options{MaxParts: 3}, good},
		{"bomb in a part held in memory", xlsx.Options{}, bomb},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.TempDir = t.TempDir()
			err := openErr(t, newMapper(t, testSchema(), nil, &tc.opts), tc.b)
			t.Log(err)
			if !errors.Is(err, xlsx.ErrTooLarge) {
				t.Errorf("err = %v", err)
			}
			if left, _ := os.ReadDir(tc.opts.TempDir); len(left) != 0 {
				t.Errorf("left in TempDir: %v", left)
			}
		})
	}
	if err := openErr(t, newMapper(t, testSchema(), nil, &xlsx.Options{MaxFileBytes: int64(len(good))}), good); err != nil {
		t.Errorf("at the limit: %v", err)
	}
}

func TestCloseRemovesFiles(t *testing.T) {
	dir := t.TempDir()
	m := newMapper(t, testSchema(), nil, &xlsx.Options{TempDir: dir})
	rr, err := m.NewReader(bytes.NewReader(smallBook(t)), usersync.FileInfo{Name: "u.xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rr.Read(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Errorf("TempDir while reading: %v", left)
	}
	if err := rr.(io.Closer).Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left in TempDir after Close: %v", left)
	}
	if _, err := rr.Read(); err == nil || err == io.EOF {
		t.Errorf("Read after Close: %v", err)
	}
}

func TestDroppedReaderRemovesFiles(t *testing.T) {
	dir := t.TempDir()
	m := newMapper(t, testSchema(), nil, &xlsx.Options{TempDir: dir})
	func() {
		rr, err := m.NewReader(bytes.NewReader(smallBook(t)), usersync.FileInfo{Name: "u.xlsx"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rr.Read(); err != nil {
			t.Fatal(err)
		}
	}() // dropped mid-file, as by a cancelled run
	for range 100 {
		runtime.GC()
		if left, _ := os.ReadDir(dir); len(left) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	left, _ := os.ReadDir(dir)
	t.Errorf("left in TempDir by a dropped reader: %v", left)
}

// TestLargeSharedStrings reads a workbook whose shared string table is too
// large for excelize to hold in memory, and bounds it.
func TestLargeSharedStrings(t *testing.T) {
	big := rezip(t, smallBook(t), func(name string, data []byte) []byte {
		if name != "xl/sharedStrings.xml" {
			return data
		}
		s := string(data)
		end := strings.LastIndex(s, "</sst>")
		var b strings.Builder
		b.WriteString(s[:end])
		for i := range 300_000 {
			fmt.Fprintf(&b, "<si><t>padding %07d</t></si>", i)
		}
		b.WriteString("</sst>")
		return []byte(b.String())
	})
	dir := t.TempDir()
	rr, err := newMapper(t, testSchema(), nil, &xlsx.Options{TempDir: dir}).NewReader(bytes.NewReader(big), usersync.FileInfo{Name: "u.xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, rr); len(got) != 10 || !strings.Contains(got[9], `1009 {name="User" email="u@example.com"`) {
		t.Errorf("got %q", got)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left in TempDir: %v", left)
	}
	// Rich text, escapes and phonetic guides, as Excel writes them.
	rich := rezip(t, big, func(name string, data []byte) []byte {
		if name == "xl/sharedStrings.xml" {
			return bytes.Replace(data, []byte("<si><t>User</t></si>"), []byte(
				`<si><r><rPr><b/></rPr><t xml:space="preserve">Åsa </t></r><r><t>&lt;Lee&gt; &amp; Co</t></r><rPh sb="0" eb="1"><t>ignored</t></rPh></si>`), 1)
		}
		return data
	})
	rr, err = newMapper(t, testSchema(), nil, nil).NewReader(bytes.NewReader(rich), usersync.FileInfo{Name: "u.xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, rr); len(got) != 10 || !strings.Contains(got[0], `{name="Åsa <Lee> & Co" email="u@example.com"`) {
		t.Errorf("rich text: got %q", got)
	}

	err = openErr(t, newMapper(t, testSchema(), nil, &xlsx.Options{MaxSharedStrings: 300_000}), big)
	if !errors.Is(err, xlsx.ErrTooLarge) || !strings.Contains(err.Error(), "MaxSharedStrings") {
		t.Errorf("over MaxSharedStrings: %v", err)
	}
}

// TestInlineRefusesTagsInAValue: a shared string cell whose value holds a
// tag, or that holds another cell, fails the file when its strings are
// written inline, rather than being read another way than excelize reads
// it (FuzzWorkbook found the first).
func TestInlineRefusesTagsInAValue(t *testing.T) {
	defer xlsx.SetInlineAbove(xlsx.SetInlineAbove(0))
	for _, bad := range []string{`<c r="B11" t="s"><v>3<//v>`, `<c r="B11" t="s"><c r="C11" t="s"><v>3</v>`} {
		book := rezip(t, smallBook(t), func(name string, data []byte) []byte {
			if name == "xl/worksheets/sheet1.xml" {
				if !bytes.Contains(data, []byte(`<c r="B11" t="s"><v>3</v>`)) {
					t.Fatalf("the sheet has no cell B11 as expected: %s", data)
				}
				return bytes.Replace(data, []byte(`<c r="B11" t="s"><v>3</v>`), []byte(bad), 1)
			}
			return data
		})
		err := openErr(t, newMapper(t, testSchema(), nil, nil), book)
		if !errors.Is(err, xlsx.ErrDamaged) || !strings.Contains(err.Error(), "a shared string cell holds the tag") {
			t.Errorf("%s: got %v", bad, err)
		}
	}
}

package csvmap_test

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
)

// testSchema has one column of every role.
func testSchema() csvmap.Schema {
	return csvmap.Schema{Columns: []csvmap.Column{
		{Name: "UniqueID", Role: csvmap.Key},
		{Name: "name", Header: "Name", Required: true},
		{Name: "email", Header: "Mail", Aliases: []string{"E-mail"}, Kind: csvmap.Email},
		{Name: "title", Header: "Title"},
		{Name: "Groups", Role: csvmap.Groups},
		{Name: "Active", Role: csvmap.Status},
		{Name: "Skip", Role: csvmap.Skip},
	}}
}

// row is what the test expects of one Read: a record, or a RowError.
type row struct {
	key      string
	attrs    map[string]string
	groups   []string
	inactive bool
	line     int
	// For a rejected row: the sentinel the error wraps and its column.
	err    error
	column string
	value  string
}

// rec is a record expected on line with the given attributes
// (name/value pairs).
func rec(line int, key string, attrs ...string) row {
	r := row{line: line, key: key, attrs: map[string]string{}}
	for i := 0; i < len(attrs); i += 2 {
		r.attrs[attrs[i]] = attrs[i+1]
	}
	return r
}

// rejected is a RowError expected on line.
func rejected(line int, err error, column, value string) row {
	return row{line: line, err: err, column: column, value: value}
}

// withGroups sets the groups; with none, the user is in no group (a
// non-nil, empty list), unlike a row of a file without a Groups column.
func (r row) withGroups(g ...string) row { r.groups = append([]string{}, g...); return r }
func (r row) inactiveRow() row           { r.inactive = true; return r }

func newMapper(t *testing.T, s csvmap.Schema, opts *csvmap.Options) *csvmap.Mapper {
	t.Helper()
	m, err := csvmap.New(s, opts)
	require.NoError(t, err)
	return m
}

// readAll reads every row of data, checking each against want in order, and
// returns the reader's Format.
func readAll(t *testing.T, m *csvmap.Mapper, data string, want []row) usersync.Format {
	t.Helper()
	rr, err := m.NewReader(strings.NewReader(data), usersync.FileInfo{Name: "users.csv", Size: -1})
	require.NoError(t, err)
	for i, w := range want {
		got, err := rr.Read()
		if w.err != nil {
			var re *usersync.RowError
			require.ErrorAs(t, err, &re, "row %d", i)
			assert.ErrorIs(t, err, w.err, "row %d", i)
			assert.Equal(t, "users.csv", re.File, "row %d", i)
			assert.Equal(t, w.line, re.Line, "row %d: line", i)
			assert.Equal(t, w.column, re.Column, "row %d: column", i)
			assert.Equal(t, w.value, re.Value, "row %d: value", i)
			continue
		}
		require.NoError(t, err, "row %d", i)
		assert.Equal(t, w.key, got.Key, "row %d: key", i)
		assert.Equal(t, w.attrs, got.Attrs.Map(), "row %d: attrs", i)
		assert.Equal(t, w.groups, got.Groups, "row %d: groups", i)
		assert.Equal(t, w.inactive, got.Inactive, "row %d: inactive", i)
		assert.Equal(t, usersync.Position{File: "users.csv", Line: w.line}, got.Origin, "row %d: origin", i)
	}
	_, err = rr.Read()
	require.ErrorIs(t, err, io.EOF, "after the last expected row")
	_, err = rr.Read()
	require.ErrorIs(t, err, io.EOF, "EOF is sticky")
	fr, ok := rr.(usersync.FormatReader)
	require.True(t, ok, "the reader is a FormatReader")
	return fr.Format()
}

func TestRead(t *testing.T) {
	tests := []struct {
		name    string
		opts    *csvmap.Options
		data    string
		want    []row
		skipped int
	}{{
		name: "comma LF",
		data: "UniqueID,Name,Mail\n1,Ann,ann@example.com\n2,Bob,bob@example.com\n",
		want: []row{
			rec(2, "1", "name", "Ann", "email", "ann@example.com"),
			rec(3, "2", "name", "Bob", "email", "bob@example.com"),
		},
	}, {
		name: "semicolon CRLF",
		opts: &csvmap.Options{Comma: ';'},
		data: "UniqueID;Name;Mail\r\n1;Smith, Ann;ann@example.com\r\n2;Bob;bob@example.com\r\n",
		want: []row{
			rec(2, "1", "name", "Smith, Ann", "email", "ann@example.com"),
			rec(3, "2", "name", "Bob", "email", "bob@example.com"),
		},
	}, {
		name: "tab, no final line break",
		opts: &csvmap.Options{Comma: '\t'},
		data: "UniqueID\tName\n1\tAnn\n2\tBob",
		want: []row{rec(2, "1", "name", "Ann"), rec(3, "2", "name", "Bob")},
	}, {
		name: "quoted fields with commas, quotes and line breaks",
		data: "UniqueID,Name,Title\n" +
			"1,\"Smith, Ann\",\"Head of Sales, Nordics\"\n" +
			"2,\"Bob \"\"B\"\" Jones\",\n" +
			"3,Cy,\"two\nlines\"\n" +
			"4,\"Dan\r\nDoe\",x\r\n" +
			"5,Eve,\n",
		want: []row{
			rec(2, "1", "name", "Smith, Ann", "title", "Head of Sales, Nordics"),
			rec(3, "2", "name", `Bob "B" Jones`, "title", ""),
			rec(4, "3", "name", "Cy", "title", "two\nlines"),
			rec(6, "4", "name", "Dan\nDoe", "title", "x"),
			rec(8, "5", "name", "Eve", "title", ""),
		},
	}, {
		name: "Excel CSV UTF-8: BOM and CRLF",
		data: "\uFEFFUniqueID,Name\r\n1,Åsa Ström\r\n",
		want: []row{rec(2, "1", "name", "Åsa Ström")},
	}, {
		name: "header spellings",
		data: " unique_id ,NAME,e-mail\n1,Ann,ann@example.com\n",
		want: []row{rec(2, "1", "name", "Ann", "email", "ann@example.com")},
	}, {
		name: "header with spaces",
		data: "Unique ID,name,MAIL\n1,Ann,ann@example.com\n",
		want: []row{rec(2, "1", "name", "Ann", "email", "ann@example.com")},
	}, {
		name: "columns in any order, values trimmed",
		data: "Title,Mail,Name,UniqueID\n Nurse , ann@example.com ,  Ann ,  7 \n",
		want: []row{rec(2, "7", "name", "Ann", "email", "ann@example.com", "title", "Nurse")},
	}, {
		name: "blank lines are skipped, lines still counted",
		data: "UniqueID,Name\n\n1,Ann\n\n\n2,Bob\n\n",
		want: []row{rec(3, "1", "name", "Ann"), rec(6, "2", "name", "Bob")},
	}, {
		name: "header only",
		data: "UniqueID,Name,Mail\n",
	}, {
		name: "email domain lower-cased, local part kept",
		data: "UniqueID,Name,Mail\n1,Ann,Ann.Lee@Example.COM\n2,Bob,\n3,Jörg,jörg@EXÄMPLE.de\n",
		want: []row{
			rec(2, "1", "name", "Ann", "email", "Ann.Lee@example.com"),
			rec(3, "2", "name", "Bob", "email", ""),
			rec(4, "3", "name", "Jörg", "email", "jörg@exämple.de"),
		},
	}, {
		name: "invalid email",
		data: "UniqueID,Name,Mail\n1,Ann,Ann <ann@example.com>\n2,Bob,bob@@example.com\n3,Cy,cy@example.com\n",
		want: []row{
			rejected(2, csvmap.ErrInvalidEmail, "Mail", "Ann <ann@example.com>"),
			rejected(3, csvmap.ErrInvalidEmail, "Mail", "bob@@example.com"),
			rec(4, "3", "name", "Cy", "email", "cy@example.com"),
		},
	}, {
		name: "required values",
		data: "UniqueID,Name\n,Ann\n  ,Ann\n3,\n4, \n5,Eve\n",
		want: []row{
			rejected(2, csvmap.ErrRequired, "UniqueID", ""),
			rejected(3, csvmap.ErrRequired, "UniqueID", ""),
			rejected(4, csvmap.ErrRequired, "Name", ""),
			rejected(5, csvmap.ErrRequired, "Name", ""),
			rec(6, "5", "name", "Eve"),
		},
	}, {
		name: "wrong field count",
		data: "UniqueID,Name,Mail\n1,Ann\n2,Bob,bob@example.com,extra\n3,Cy,\n",
		want: []row{
			rejected(2, csvmap.ErrFieldCount, "Mail", ""),  // the first missing column
			rejected(3, csvmap.ErrFieldCount, "", "extra"), // the first extra value
			rec(4, "3", "name", "Cy", "email", ""),
		},
	}, {
		name: "bare and stray quotes",
		data: "UniqueID,Name,Mail\n1,An\"n,a@x\n2,\"Bob\"x,b@x\n3,Cy,c@x\n",
		want: []row{
			rejected(2, csv.ErrBareQuote, "Name", ""),
			rejected(3, csv.ErrQuote, "Name", ""),
			rec(4, "3", "name", "Cy", "email", "c@x"),
		},
	}, {
		name: "invalid UTF-8 and NUL bytes",
		data: "UniqueID,Name,Mail\n1,Str\xf6m,a@x\n2,B\x00b,b@x\n\xff,Cy,c@x\n4,Dan,d@x\n",
		want: []row{
			rejected(2, csvmap.ErrInvalidEncoding, "Name", "Str\xf6m"),
			rejected(3, csvmap.ErrNULByte, "Name", "B\x00b"),
			rejected(4, csvmap.ErrInvalidEncoding, "UniqueID", "\xff"),
			rec(5, "4", "name", "Dan", "email", "d@x"),
		},
	}, {
		name: "field too long",
		opts: &csvmap.Options{MaxFieldBytes: 8},
		data: "UniqueID,Name,Title\n1,Ann,12345678\n2,Bob,123456789\n",
		want: []row{
			rec(2, "1", "name", "Ann", "title", "12345678"),
			rejected(3, csvmap.ErrFieldTooLong, "Title", "123456789"),
		},
	}, {
		name: "skipped rows",
		data: "UniqueID,Name,Mail,Skip\n1,Ann,a@x,1\n2,Bob,b@x,\n3,,not an email, X \n4,Dan,d@x,0\n5,Eve,e@x,maybe\n6,Fay,f@x,TRUE\n",
		want: []row{
			rec(3, "2", "name", "Bob", "email", "b@x"),
			rec(5, "4", "name", "Dan", "email", "d@x"),
			rejected(6, csvmap.ErrInvalidSkip, "Skip", "maybe"),
		},
		skipped: 3, // Ann, the row with a bad email, Fay
	}, {
		name: "status",
		data: "UniqueID,Name,Active\n1,Ann,\n2,Bob,0\n3,Cy,Inactive\n4,Dan,yes\n5,Eve,DISABLED\n6,Fay,gone\n7,Gus,Enabled\n",
		want: []row{
			rec(2, "1", "name", "Ann"),
			rec(3, "2", "name", "Bob").inactiveRow(),
			rec(4, "3", "name", "Cy").inactiveRow(),
			rec(5, "4", "name", "Dan"),
			rec(6, "5", "name", "Eve").inactiveRow(),
			rejected(7, csvmap.ErrInvalidStatus, "Active", "gone"),
			rec(8, "7", "name", "Gus"),
		},
	}, {
		name: "groups split, trimmed, deduplicated and sorted",
		data: "UniqueID,Name,Groups\n" +
			"1,Ann,\"Scranton branch, Akron Branch\"\n" +
			"2,Bob,\" b ,a,,b, c ,\"\n" +
			"3,Cy,\n" +
			"4,Dan,\" , \"\n" +
			"5,Eve,Akron Branch\n",
		want: []row{
			rec(2, "1", "name", "Ann").withGroups("Akron Branch", "Scranton branch"),
			rec(3, "2", "name", "Bob").withGroups("a", "b", "c"),
			rec(4, "3", "name", "Cy").withGroups(),
			rec(5, "4", "name", "Dan").withGroups(),
			rec(6, "5", "name", "Eve").withGroups("Akron Branch"),
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := readAll(t, newMapper(t, testSchema(), tt.opts), tt.data, tt.want)
			assert.Equal(t, tt.skipped, f.Skipped, "skipped")
		})
	}
}

func TestGroupSeparator(t *testing.T) {
	s := csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Role: csvmap.Key},
		{Name: "groups", Role: csvmap.Groups, Separator: "|", Required: true},
	}}
	readAll(t, newMapper(t, s, nil), "id,groups\n1,\"b|a, c|a\"\n2,|\n", []row{
		rec(2, "1").withGroups("a", "a, c", "b"),
		rejected(3, csvmap.ErrRequired, "groups", "|"),
	})
}

func TestGroupIDsShared(t *testing.T) {
	m := newMapper(t, testSchema(), nil)
	rr, err := m.NewReader(strings.NewReader("UniqueID,Name,Groups\n1,Ann,\"x,y\"\n2,Bob,\"y,x\"\n"), usersync.FileInfo{Name: "f"})
	require.NoError(t, err)
	a, err := rr.Read()
	require.NoError(t, err)
	b, err := rr.Read()
	require.NoError(t, err)
	require.Equal(t, a.Groups, b.Groups)
	assert.Same(t, unsafeData(a.Groups[0]), unsafeData(b.Groups[0]), "a group ID is stored once per file")
}

func TestFormat(t *testing.T) {
	m := newMapper(t, testSchema(), &csvmap.Options{Comma: ';'})
	f := readAll(t, m, "\uFEFFUniqueID;Name;Department;Skip;;Cost center\r\n1;Ann;HR;;;\r\n2;Bob;IT;1;;\r\n", []row{
		rec(2, "1", "name", "Ann"),
	})
	assert.Equal(t, "UTF-8 with BOM", f.Encoding)
	assert.Equal(t, ';', f.Delimiter)
	assert.Equal(t, []string{"UniqueID", "Name", "Department", "Skip", "", "Cost center"}, f.Columns)
	assert.Equal(t, 1, f.Skipped)
	require.Len(t, f.Warnings, 1)
	assert.Equal(t, `ignored columns not in the schema: "Department" (column 3), unnamed column 5, "Cost center" (column 6)`, f.Warnings[0])

	f = readAll(t, m, "UniqueID;Name\n", nil)
	assert.Equal(t, "UTF-8", f.Encoding)
	assert.Empty(t, f.Warnings)
}

// A BOM must never hide the first column: were the Key column's header
// read as "\uFEFFUniqueID", every user would go missing.
func TestBOMDoesNotHideFirstColumn(t *testing.T) {
	m := newMapper(t, testSchema(), nil)
	for _, data := range []string{
		"\uFEFFUniqueID,Name\n1,Ann\n",
		"\uFEFF\"UniqueID\",Name\n1,Ann\n",
		"\uFEFFName,UniqueID\nAnn,1\n",
	} {
		readAll(t, m, data, []row{rec(2, "1", "name", "Ann")})
	}
	// A BOM before the first column's name in a non-first line is dropped
	// by header matching too.
	readAll(t, m, "\n\uFEFFUniqueID,Name\n1,Ann\n", []row{rec(3, "1", "name", "Ann")})
}

func TestLayoutPerFile(t *testing.T) {
	m := newMapper(t, testSchema(), nil)
	rr, err := m.NewReader(strings.NewReader("Name,UniqueID,Title\nAnn,1,Nurse\nBob,2,\n"), usersync.FileInfo{Name: "f"})
	require.NoError(t, err)
	a, err := rr.Read()
	require.NoError(t, err)
	b, err := rr.Read()
	require.NoError(t, err)
	assert.Same(t, a.Attrs.Layout(), b.Attrs.Layout(), "one Layout per file")
	assert.Equal(t, []string{"name", "title"}, a.Attrs.Layout().Names(), "schema order")
	_, ok := a.Attrs.Get("email")
	assert.False(t, ok, "a column missing from the file is not in the records, so it is left alone")
	v, ok := b.Attrs.Get("title")
	assert.True(t, ok, "an empty value of a column in the file is")
	assert.Equal(t, "", v)
}

func TestFileErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		is   []error
		msg  string
	}{{
		name: "empty file",
		data: "",
		is:   []error{csvmap.ErrNoHeader, usersync.ErrNoRecords},
		msg:  "no header line: the file is empty (no records in file)",
	}, {
		name: "BOM and blank lines only",
		data: "\uFEFF\r\n\r\n",
		is:   []error{csvmap.ErrNoHeader, usersync.ErrNoRecords},
	}, {
		name: "missing key column",
		data: "Id,Name,Mail\n1,Ann,a@x\n",
		is:   []error{csvmap.ErrMissingColumn},
		msg:  `missing required column "UniqueID"; the header has "Id", "Name", "Mail"`,
	}, {
		name: "missing required columns",
		data: "E-mail\na@x\n",
		is:   []error{csvmap.ErrMissingColumn},
		msg:  `missing required column "UniqueID", "Name"; the header has "E-mail"`,
	}, {
		name: "duplicate header",
		data: "UniqueID,Name,unique_id\n1,Ann,2\n",
		is:   []error{csvmap.ErrDuplicateColumn},
		msg:  `duplicate column: "UniqueID" (column 1) and "unique_id" (column 3) both map to column UniqueID`,
	}, {
		name: "header and alias",
		data: "UniqueID,Name,Mail,E-Mail\n1,Ann,a@x,b@x\n",
		is:   []error{csvmap.ErrDuplicateColumn},
		msg:  `duplicate column: "Mail" (column 3) and "E-Mail" (column 4) both map to column email`,
	}, {
		name: "quote in header",
		data: "UniqueID,Na\"me\n1,Ann\n",
		is:   []error{csv.ErrBareQuote},
	}, {
		name: "unterminated quote in header",
		data: "UniqueID,\"Name\n1,Ann\n",
		is:   []error{csv.ErrQuote},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMapper(t, testSchema(), nil)
			rr, err := m.NewReader(strings.NewReader(tt.data), usersync.FileInfo{Name: "f.csv"})
			require.Error(t, err)
			assert.Nil(t, rr)
			var re *usersync.RowError
			assert.False(t, errors.As(err, &re), "a file error is not a RowError")
			for _, target := range tt.is {
				assert.ErrorIs(t, err, target)
			}
			if tt.msg != "" {
				assert.EqualError(t, err, tt.msg)
			}
		})
	}
}

func TestDuplicateUnknownHeadersAreOnlyWarned(t *testing.T) {
	m := newMapper(t, testSchema(), nil)
	f := readAll(t, m, "UniqueID,Name,,Note,,note\n1,Ann,,,,\n", []row{rec(2, "1", "name", "Ann")})
	assert.Equal(t, []string{`ignored columns not in the schema: unnamed column 3, "Note" (column 4), unnamed column 5, "note" (column 6)`}, f.Warnings)
}

func TestUnterminatedQuoteFailsFile(t *testing.T) {
	m := newMapper(t, testSchema(), nil)
	rr, err := m.NewReader(strings.NewReader("UniqueID,Name\n1,Ann\n2,\"Bob\n3,Cy\n4,Dan\n"), usersync.FileInfo{Name: "f.csv"})
	require.NoError(t, err)
	r, err := rr.Read()
	require.NoError(t, err)
	assert.Equal(t, "1", r.Key)

	_, err = rr.Read()
	require.ErrorIs(t, err, csvmap.ErrUnterminatedQuote)
	var re *usersync.RowError
	assert.False(t, errors.As(err, &re), "the file fails: rows 3 and 4 vanished into row 2")
	assert.EqualError(t, err, "unterminated quoted field: the record on line 3 opens a quote that is still open at the end of the file")
	_, err2 := rr.Read()
	assert.Equal(t, err, err2, "the error is sticky")
}

func TestReadErrorKeepsIdentity(t *testing.T) {
	broken := errors.New("connection reset")
	data := "UniqueID,Name\n1,Ann\n2,Bo"
	r := io.MultiReader(strings.NewReader(data), &failingReader{err: broken})
	m := newMapper(t, testSchema(), nil)
	rr, err := m.NewReader(r, usersync.FileInfo{Name: "f.csv"})
	require.NoError(t, err)
	_, err = rr.Read()
	require.NoError(t, err)
	_, err = rr.Read()
	assert.ErrorIs(t, err, broken)
	var re *usersync.RowError
	assert.False(t, errors.As(err, &re))
	_, err = rr.Read()
	assert.ErrorIs(t, err, broken, "sticky")

	_, err = m.NewReader(&failingReader{err: broken}, usersync.FileInfo{Name: "f.csv"})
	assert.ErrorIs(t, err, broken, "a failure before the header")
}

type failingReader struct{ err error }

func (f *failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestRowErrorMessage(t *testing.T) {
	m := newMapper(t, testSchema(), nil)
	rr, err := m.NewReader(strings.NewReader("UniqueID,Name,Mail\n1,Ann,ann(at)example.com\n2,Bob\n3,B\"ob,\n"), usersync.FileInfo{Name: "hr/users.csv"})
	require.NoError(t, err)
	var msgs []string
	for {
		_, err := rr.Read()
		if err == io.EOF {
			break
		}
		msgs = append(msgs, err.Error())
	}
	assert.Equal(t, []string{
		`hr/users.csv:2: column Mail: "ann(at)example.com": invalid email address`,
		`hr/users.csv:3: column Mail: wrong number of fields: 2, the header has 3`,
		`hr/users.csv:4: column Name: parse error on line 4, column 4: bare " in non-quoted-field`,
	}, msgs)
}

func TestRowErrorValueIsClipped(t *testing.T) {
	m := newMapper(t, testSchema(), &csvmap.Options{MaxFieldBytes: 1000})
	long := strings.Repeat("é", 600) // 1200 bytes
	rr, err := m.NewReader(strings.NewReader("UniqueID,Name\n1,"+long+"\n"), usersync.FileInfo{Name: "f"})
	require.NoError(t, err)
	_, err = rr.Read()
	var re *usersync.RowError
	require.ErrorAs(t, err, &re)
	assert.ErrorIs(t, err, csvmap.ErrFieldTooLong)
	assert.Equal(t, strings.Repeat("é", 128), re.Value, "at most 256 bytes, whole characters")
	assert.Contains(t, err.Error(), "value too long: 1200 bytes, the limit is 1000")
}

func TestKeyAsEmail(t *testing.T) {
	s := csvmap.Schema{Columns: []csvmap.Column{{Name: "Mail", Role: csvmap.Key, Kind: csvmap.Email}}}
	readAll(t, newMapper(t, s, nil), "Mail\nAnn@Example.com\nnope\n", []row{
		rec(2, "Ann@example.com"),
		rejected(3, csvmap.ErrInvalidEmail, "Mail", "nope"),
	})
}

// unsafeData returns the address of the bytes of s, to tell whether two
// strings share memory.
func unsafeData(s string) *byte { return unsafe.StringData(s) }

func TestNoGroupsColumnLeavesGroupsNil(t *testing.T) {
	m := newMapper(t, testSchema(), nil)
	rr, err := m.NewReader(strings.NewReader("UniqueID,Name\n1,Ann\n"), usersync.FileInfo{Name: "f"})
	require.NoError(t, err)
	r, err := rr.Read()
	require.NoError(t, err)
	assert.Nil(t, r.Groups, "the file says nothing about groups")
}

func TestRejectedRowsCarryTheirKey(t *testing.T) {
	m := newMapper(t, testSchema(), nil)
	rr, err := m.NewReader(strings.NewReader("UniqueID,Name,Mail\n e1 ,Ann,not-an-email\ne2,Bo\n,Cy,cy@x.org\n"), usersync.FileInfo{Name: "f"})
	require.NoError(t, err)
	for _, want := range []string{"e1", "e2", ""} {
		_, err := rr.Read()
		var re *usersync.RowError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, want, re.Key, "line %d", re.Line)
	}
}

// watchedReader fails the test if it is read once closed. It is slow, so
// that a batch of rows read ahead is still being read when its reader
// stops.
type watchedReader struct {
	t      *testing.T
	r      io.Reader
	mu     sync.Mutex
	closed bool
}

func (w *watchedReader) Read(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		w.t.Error("the stream was read after the reader was closed")
	}
	time.Sleep(20 * time.Microsecond)
	return w.r.Read(p[:min(len(p), 256)])
}

func (w *watchedReader) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

// TestReadAheadStops checks that a reader reading rows ahead of Read no
// longer reads the stream once Close returns, when its caller stops
// early, nor once Read has failed the file.
func TestReadAheadStops(t *testing.T) {
	var b strings.Builder
	b.WriteString("UniqueID,Name\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "E%d,User %d\n", i, i)
	}
	file := b.String()
	schema := csvmap.Schema{Columns: []csvmap.Column{{Name: "UniqueID", Role: csvmap.Key}, {Name: "name", Header: "Name"}}}

	t.Run("closed", func(t *testing.T) {
		m, err := csvmap.New(schema, nil)
		require.NoError(t, err)
		w := &watchedReader{t: t, r: strings.NewReader(file)}
		rr, err := m.NewReader(w, usersync.FileInfo{Name: "users.csv"})
		require.NoError(t, err)
		for range 6000 { // past what detecting the format reads first
			_, err := rr.Read()
			require.NoError(t, err)
		}
		require.NoError(t, rr.(io.Closer).Close())
		w.close()
		time.Sleep(20 * time.Millisecond)
	})
	t.Run("failed", func(t *testing.T) {
		m, err := csvmap.New(schema, &csvmap.Options{MaxRows: 8000})
		require.NoError(t, err)
		w := &watchedReader{t: t, r: strings.NewReader(file)}
		rr, err := m.NewReader(w, usersync.FileInfo{Name: "users.csv"})
		require.NoError(t, err)
		for {
			if _, err = rr.Read(); err != nil {
				break
			}
		}
		require.ErrorIs(t, err, csvmap.ErrTooManyRows)
		w.close()
		time.Sleep(20 * time.Millisecond)
		_, err = rr.Read()
		require.ErrorIs(t, err, csvmap.ErrTooManyRows, "the error sticks, and nothing more is read")
	})
}

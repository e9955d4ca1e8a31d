package csvmap_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/internal/gen"
	"github.com/usersync/usersync/internal/testenv"
)

// iconv converts UTF-8 text to the encoding with the iconv program, as an
// export tool on a customer's machine would write it. Without iconv the
// test is skipped (and fails under CI=true, where it is always there).
func iconv(t testing.TB, text, to string) []byte {
	t.Helper()
	cmd := exec.Command(testenv.LookPath(t, "iconv"), "-f", "UTF-8", "-t", to)
	cmd.Stdin = strings.NewReader(text)
	out, err := cmd.Output()
	require.NoError(t, err, "iconv -t %s", to)
	return out
}

// encode converts UTF-8 data with an x/text encoder, for benchmarks, which
// must not depend on a program; characters the encoding lacks become '?'.
func encode(b testing.TB, data []byte, enc encoding.Encoding) []byte {
	out, err := encoding.ReplaceUnsupported(enc.NewEncoder()).Bytes(data)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func utf16le(b []byte) []byte {
	return encode(nil, b, unicode.UTF16(unicode.LittleEndian, unicode.UseBOM))
}

func toWindows1252(b testing.TB, data []byte) []byte { return encode(b, data, charmap.Windows1252) }

// The users of the encoding tests: every name is in Latin-1, so that each
// encoding can hold them; values hold delimiters, quotes and line breaks.
var encodingRows = [][]string{
	{"UniqueID", "Name", "Mail", "Title", "Groups"},
	{"E1001", "Åsa Ström", "asa.strom@Example.COM", "Sjuksköterska, natt", "Akron Branch,Scranton branch"},
	{"E1002", "Jörg Müller", "jorg@example.de", "Leiter \"IT\"", ""},
	{"E1003", "Chloé Lefèvre", "chloe@example.fr", "Première ligne\nDeuxième ligne", "Scranton branch"},
	{"E1004", "Ñandú | Peña; Tab\tin name", "n@example.es", "", "Akron Branch"},
}

// encodingWant is what every encoding and delimiter must give for
// encodingRows.
var encodingWant = []row{
	rec(2, "E1001", "name", "Åsa Ström", "email", "asa.strom@example.com", "title", "Sjuksköterska, natt").withGroups("Akron Branch", "Scranton branch"),
	rec(3, "E1002", "name", "Jörg Müller", "email", "jorg@example.de", "title", `Leiter "IT"`).withGroups(),
	rec(4, "E1003", "name", "Chloé Lefèvre", "email", "chloe@example.fr", "title", "Première ligne\nDeuxième ligne").withGroups("Scranton branch"),
	rec(6, "E1004", "name", "Ñandú | Peña; Tab\tin name", "email", "n@example.es", "title", "").withGroups("Akron Branch"),
}

// writeCSV writes rows as encoding/csv does, with the delimiter and line
// breaks given.
func writeCSV(rows [][]string, comma rune, crlf bool) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Comma, w.UseCRLF = comma, crlf
	w.WriteAll(rows) // a strings.Builder does not fail
	return b.String()
}

func encodingSchema() csvmap.Schema {
	return csvmap.Schema{Columns: []csvmap.Column{
		{Name: "UniqueID", Role: csvmap.Key},
		{Name: "name", Header: "Name", Required: true},
		{Name: "email", Header: "Mail", Kind: csvmap.Email},
		{Name: "title", Header: "Title"},
		{Name: "Groups", Role: csvmap.Groups},
	}}
}

// Files in every encoding a directory export comes in, produced by iconv,
// with every delimiter and both line breaks, read record by record without
// being told the delimiter, nor the encoding unless the file cannot say it.
func TestEncodingsAndDelimiters(t *testing.T) {
	encodings := []struct {
		name   string
		option string // Options.Encoding
		bom    bool   // a byte order mark before the text
		iconv  string // iconv's name for the encoding
		want   string // Format.Encoding
	}{
		{"UTF-8", "", false, "UTF-8", "UTF-8"},
		{"UTF-8 with BOM (Excel's CSV UTF-8)", "", true, "UTF-8", "UTF-8 with BOM"},
		{"UTF-16LE with BOM (Excel's Unicode text)", "", true, "UTF-16LE", "UTF-16LE"},
		{"UTF-16BE with BOM", "", true, "UTF-16BE", "UTF-16BE"},
		{"UTF-16LE without BOM", "", false, "UTF-16LE", "UTF-16LE without BOM"},
		{"UTF-16BE without BOM", "", false, "UTF-16BE", "UTF-16BE without BOM"},
		{"windows-1252 (Excel's CSV on Western Windows)", "windows-1252", false, "WINDOWS-1252", "windows-1252"},
		{"ISO-8859-1", "ISO-8859-1", false, "ISO-8859-1", "ISO-8859-1"},
		{"windows-1252 chosen, but the file has a BOM", "windows-1252", true, "UTF-8", "UTF-8 with BOM"},
	}
	for _, enc := range encodings {
		for _, comma := range []rune{',', ';', '\t', '|'} {
			crlf := comma == ';' || comma == '\t'
			name := fmt.Sprintf("%s/%q", enc.name, comma)
			t.Run(name, func(t *testing.T) {
				text := writeCSV(encodingRows, comma, crlf)
				if enc.bom {
					text = "\uFEFF" + text
				}
				data := iconv(t, text, enc.iconv)
				m := newMapper(t, encodingSchema(), &csvmap.Options{Encoding: enc.option})
				f := readAllBytes(t, m, data, encodingWant)
				assert.Equal(t, enc.want, f.Encoding)
				assert.Equal(t, comma, f.Delimiter)
				assert.Equal(t, encodingRows[0], f.Columns)
			})
		}
	}
}

// readAllBytes is readAll for bytes that may not be UTF-8.
func readAllBytes(t *testing.T, m *csvmap.Mapper, data []byte, want []row) usersync.Format {
	t.Helper()
	return readAll(t, m, string(data), want)
}

// Bytes that are not valid in the file's encoding reject the row they are
// in, naming the encoding; they are never read as U+FFFD.
func TestInvalidBytesRejectTheirRow(t *testing.T) {
	le := func(s string) []byte { return iconv(t, s, "UTF-16LE") }
	tests := []struct {
		name, option string
		data         []byte
		msg          string
	}{{
		name: "UTF-8",
		data: []byte("UniqueID,Name\n1,Ann\n2,Str\xf6m\n3,Cy\n"),
		msg:  `users.csv:3: column Name: "Str\xf6m": invalid byte sequence: not valid UTF-8; is the file saved in another encoding, such as windows-1252 (see Options.Encoding)?`,
	}, {
		name: "UTF-16LE, a lone surrogate",
		data: slicesConcat(le("\uFEFFUniqueID,Name\n1,Ann\n2,Bo"), []byte{0x00, 0xD8}, le("b\n3,Cy\n")),
		msg:  "users.csv:3: column Name: \"Bo\uFFFDb\": invalid byte sequence: bytes that are not valid UTF-16LE, or a U+FFFD replacement character",
	}, {
		name:   "windows-1252, an unassigned byte",
		option: "windows-1252",
		data:   []byte("UniqueID,Name\n1,Ann\n2,Bo\x81b\n3,Cy\n"),
		msg:    "users.csv:3: column Name: \"Bo\uFFFDb\": invalid byte sequence: bytes that are not valid windows-1252, or a U+FFFD replacement character",
	}, {
		name: "U+FFFD left by an earlier conversion",
		data: []byte("UniqueID,Name\n1,Ann\n2,J\uFFFDrg\n3,Cy\n"),
		msg:  "users.csv:3: column Name: \"J\uFFFDrg\": invalid byte sequence: U+FFFD, the replacement character: an earlier conversion lost characters here",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMapper(t, encodingSchema(), &csvmap.Options{Encoding: tt.option})
			rr, err := m.NewReader(bytes.NewReader(tt.data), usersync.FileInfo{Name: "users.csv"})
			require.NoError(t, err)
			var keys []string
			for {
				r, err := rr.Read()
				if err != nil {
					var re *usersync.RowError
					if !errors.As(err, &re) {
						break
					}
					assert.ErrorIs(t, err, csvmap.ErrInvalidEncoding)
					assert.Equal(t, tt.msg, err.Error())
					assert.Equal(t, "2", re.Key, "the user is known to be in the file")
					continue
				}
				keys = append(keys, r.Key)
			}
			assert.Equal(t, []string{"1", "3"}, keys)
		})
	}
}

func slicesConcat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// A windows-1252 file read as UTF-8 loses no row in silence: each row with
// a letter beyond ASCII is rejected, saying what to do.
func TestWindows1252ReadAsUTF8(t *testing.T) {
	data := iconv(t, writeCSV(encodingRows, ';', true), "WINDOWS-1252")
	m := newMapper(t, encodingSchema(), nil)
	rr, err := m.NewReader(bytes.NewReader(data), usersync.FileInfo{Name: "users.csv"})
	require.NoError(t, err)
	rejected := 0
	for {
		_, err := rr.Read()
		if err != nil {
			if !errors.As(err, new(*usersync.RowError)) {
				break
			}
			assert.ErrorIs(t, err, csvmap.ErrInvalidEncoding)
			assert.Contains(t, err.Error(), "windows-1252 (see Options.Encoding)")
			rejected++
		}
	}
	assert.Equal(t, 4, rejected)
}

// mapAll reads data and describes each record or rejected row, and the
// format, as text to compare.
func mapAll(t *testing.T, m *csvmap.Mapper, data []byte) ([]string, usersync.Format) {
	t.Helper()
	rr, err := m.NewReader(bytes.NewReader(data), usersync.FileInfo{Name: "users.csv"})
	require.NoError(t, err)
	var out []string
	for {
		r, err := rr.Read()
		if err == io.EOF {
			return out, rr.(usersync.FormatReader).Format()
		}
		if err != nil {
			out = append(out, err.Error())
			continue
		}
		out = append(out, fmt.Sprint(r.Origin, r.Key, r.Attrs, r.Groups, r.Inactive))
	}
}

// The foundation's generated file, in each layout, reads the same in
// UTF-16 as in UTF-8, record by record.
func TestGeneratedFileInUTF16(t *testing.T) {
	m := newMapper(t, csvmap.Cosafe(), nil)
	for _, c := range []gen.Config{
		{Rows: 2000, Seed: 3},
		{Rows: 2000, Seed: 3, Comma: ';', CRLF: true},
		{Rows: 2000, Seed: 3, Comma: '\t', CRLF: true, QuoteAll: true},
		{Rows: 2000, Seed: 3, Comma: '|'},
	} {
		text := string(gen.Bytes(c))
		want, wantFormat := mapAll(t, m, []byte(text))
		require.Len(t, want, 2000-10, "every row but the skipped ones")
		for _, enc := range []struct{ bom, iconv, name string }{
			{"\uFEFF", "UTF-16LE", "UTF-16LE"},
			{"\uFEFF", "UTF-16BE", "UTF-16BE"},
			{"", "UTF-16LE", "UTF-16LE without BOM"},
		} {
			got, f := mapAll(t, m, iconv(t, enc.bom+text, enc.iconv))
			assert.Equal(t, want, got, "%+v in %s", c, enc.name)
			assert.Equal(t, enc.name, f.Encoding)
			assert.Equal(t, wantFormat.Delimiter, f.Delimiter)
			assert.Equal(t, 10, f.Skipped)
		}
	}
}

// An encoding chosen in Options is not second-guessed, but a byte order
// mark still wins.
func TestChosenEncoding(t *testing.T) {
	m := newMapper(t, encodingSchema(), &csvmap.Options{Encoding: "utf-8"})
	_, err := m.NewReader(bytes.NewReader(utf16Bytes("UniqueID,Name\n1,Ann\n")), usersync.FileInfo{Name: "f"})
	assert.ErrorIs(t, err, csvmap.ErrMissingColumn, "UTF-16 without BOM is not guessed")
	f := readAll(t, m, "UniqueID,Name\n1,Ann\n", []row{rec(2, "1", "name", "Ann")})
	assert.Equal(t, "UTF-8", f.Encoding)
	f = readAllBytes(t, m, utf16le([]byte("UniqueID,Name\n1,Ann\n")), []row{rec(2, "1", "name", "Ann")})
	assert.Equal(t, "UTF-16LE", f.Encoding)
}

// utf16Bytes encodes s as UTF-16LE without a byte order mark.
func utf16Bytes(s string) []byte {
	return encode(nil, []byte(s), unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM))
}

package csvmap

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/usersync/usersync"
)

// spectrum holds the cases of csv-spectrum (github.com/maxogden/csv-spectrum),
// which every CSV reader should read alike, as seeds for the fuzz targets.
var spectrum = []string{
	"first,last,address,city,zip\nJohn,Doe,120 any st.,\"Anytown, WW\",08123\n", // comma_in_quotes
	"a,b,c\n1,\"\",\"\"\n2,3,4\n",        // empty
	"a,b,c\r\n1,\"\",\"\"\r\n2,3,4\r\n",  // empty_crlf
	"a,b\n1,\"ha \"\"ha\"\" ha\"\n3,4\n", // escaped_quotes
	"key,val\n1,\"{\"\"type\"\": \"\"Point\"\", \"\"coordinates\"\": [102.0, 0.5]}\"\n", // json
	"a,b,c\n1,2,3\n\"Once upon \na time\",5,6\n7,8,9\n",                                 // newlines
	"a,b,c\r\n1,2,3\r\n\"Once upon \r\na time\",5,6\r\n7,8,9\r\n",                       // newlines_crlf
	"a,b\n1,\"ha \n\"\"ha\"\" \nha\"\n3,4\n",                                            // quotes_and_newlines
	"a,b,c\n1,2,3\n",                                                                    // simple
	"a,b,c\r\n1,2,3\r\n",                                                                // simple_crlf
	"a,b,c\n1,2,3\n4,5,ʤ\n",                                                             // utf8
	"Contact Name,Location Coordinates,Number\nBob Smith,\"(123.45, 678.90)\",1\n",      // location_coordinates
}

// fuzzSchema has a column of every role and kind, and rules between them.
func fuzzSchema() Schema {
	return Schema{Columns: []Column{
		{Name: "id", Role: Key, MinLen: 2, MaxLen: 20},
		{Name: "name", Required: true, From: []string{"first", "last"}},
		{Name: "first"},
		{Name: "last"},
		{Name: "email", Kind: Email, Fold: true},
		{Name: "phone", Kind: Phone},
		{Name: "flag", Kind: Bool},
		{Name: "day", Kind: Date},
		{Name: "level", Kind: Enum, Values: []string{"Low", "High"}},
		{Name: "tags", Separator: ";"},
		{Name: "lang", Kind: Enum, Values: []string{"en", "sv"}, Default: "en"},
		{Name: "groups", Role: Groups},
		{Name: "active", Role: Status},
		{Name: "skip", Role: Skip},
		{Name: "stamp", Role: Ignore},
	}}
}

// fuzzSeeds are files in the fuzz schema's terms: csv-spectrum's cases
// and the ways real exports go wrong.
func fuzzSeeds() []string {
	seeds := []string{
		"id,name,email\n10,Ann,ann@example.com\n",
		"id;name;email;phone\r\n10;\"Lee, Ann\";Ann@Example.com;+46 70 123 45 67\r\n11;Bob;bob@x;070-123 45 67\r\n",
		"\uFEFFid,name,groups,skip,active\r\n10,Ann,\"a, b\",,1\r\n11,Bob,,1,0\r\n12,Cy,\" , \",,gone\r\n",
		"id\tfirst\tlast\tflag\tday\n10\tAnn\tLee\tyes\t2025-11-21\n11\t\t\tmaybe\t21.11.2025\n",
		"id|name|level|tags|lang\n10|Ann|low|b;a;b|\n11|Bob|mid||sv\n",
		"#TYPE Microsoft.ActiveDirectory.Management.ADUser\n\"id\",\"name\"\n\"10\",\"Ann\"\n",
		"id,name\n10,\"Ann\n\n11,Bob\n",
		"id,name\n10,An\"n\n11,\"Bob\"x\n12,Cy,extra\n13\n",
		"id,name\n1\x00,Ann\n10,B\xffb\n11,C\uFFFDy\n",
		"id,name,name\n10,Ann,Ann\n",
		"id,name,stamp,unknown\n10,Ann,2025-11-21 02:00:00,x\n",
		"\n\n\r\nid,name\n\n10,Ann\n\n",
		"id,name\n" + strings.Repeat("x", 100) + ",Ann\n",
		"",
		"\uFEFF",
	}
	for _, s := range spectrum {
		seeds = append(seeds, strings.Replace(strings.Replace(s, "a,b", "id,name", 1), "first,last", "id,name", 1))
	}
	seeds = append(seeds, string(utf16le("\uFEFFid\tname\r\n10\tÅsa\r\n")), string(utf16le("id,name\n10,Ann\n")), string(utf16be("\uFEFFid;name\n10;Ann\n")))
	return seeds
}

// utf16le and utf16be encode s, as iconv would; for seeds.
func utf16le(s string) []byte { return utf16Bytes(s, false) }
func utf16be(s string) []byte { return utf16Bytes(s, true) }

func utf16Bytes(s string, big bool) []byte {
	var b []byte
	for _, r := range s {
		for _, u := range utf16Units(r) {
			if big {
				b = append(b, byte(u>>8), byte(u))
			} else {
				b = append(b, byte(u), byte(u>>8))
			}
		}
	}
	return b
}

func utf16Units(r rune) []uint16 {
	if r < 0x10000 {
		return []uint16{uint16(r)}
	}
	r -= 0x10000
	return []uint16{uint16(0xD800 + r>>10), uint16(0xDC00 + r&0x3FF)}
}

// FuzzMap reads any bytes with a schema of every kind and rule. It must not
// panic, must end, and must never return a record from an invalid row:
// every record's values obey their columns' rules, and, for a UTF-8 file,
// encoding/csv finds its row whole, with valid values in every column the
// schema reads.
//
// CI runs it briefly: go test -run=^$ -fuzz=FuzzMap -fuzztime=30s ./csvmap
func FuzzMap(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	m, err := New(fuzzSchema(), &Options{PhoneRegion: "SE", MaxFieldBytes: 64, MaxRecordBytes: 1024, MaxRows: 100})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rr, err := m.NewReader(bytes.NewReader(data), usersync.FileInfo{Name: "f.csv", Size: int64(len(data))})
		if err != nil {
			var re *usersync.RowError
			if errors.As(err, &re) {
				t.Fatalf("a file error is a RowError: %v", err)
			}
			return
		}
		var recs []usersync.Record
		for i := 0; ; i++ {
			if i > len(data)+2 {
				t.Fatalf("more reads than bytes: Read does not end")
			}
			rec, err := rr.Read()
			if err == nil {
				checkRecord(t, rec)
				recs = append(recs, rec)
				continue
			}
			var re *usersync.RowError
			if errors.As(err, &re) {
				if re.File != "f.csv" || re.Line < 1 || re.Err == nil {
					t.Fatalf("RowError without a place or reason: %#v", re)
				}
				continue
			}
			break // EOF or a file error
		}
		format := rr.(usersync.FormatReader).Format()
		if strings.HasPrefix(format.Encoding, "UTF-8") {
			checkRowsValid(t, m, data, format, recs)
		}
	})
}

// checkRecord fails t unless rec obeys every rule of fuzzSchema.
func checkRecord(t *testing.T, rec usersync.Record) {
	t.Helper()
	checkText(t, "key", rec.Key)
	if n := utf8.RuneCountInString(rec.Key); n < 2 || n > 20 {
		t.Fatalf("key %q out of bounds", rec.Key)
	}
	for name, v := range rec.Attrs.All() {
		checkText(t, name, v)
		ok := true
		switch name {
		case "name":
			ok = v != ""
		case "email":
			e, valid := normalizeEmail(v, &arena{})
			ok = v == "" || valid && e == v && strings.ToLower(v) == v
		case "phone":
			ok = v == "" || len(v) > 2 && v[0] == '+' && strings.Trim(v[1:], "0123456789") == ""
		case "flag":
			ok = v == "" || v == "true" || v == "false"
		case "day":
			_, err := time.Parse(time.DateOnly, v)
			ok = v == "" || err == nil
		case "level":
			ok = v == "" || v == "Low" || v == "High"
		case "lang":
			ok = v == "en" || v == "sv"
		case "tags":
			parts := strings.Split(v, ";")
			ok = v == "" || slices.IsSorted(parts) && len(slices.Compact(slices.Clone(parts))) == len(parts) && !slices.Contains(parts, "")
		}
		if !ok {
			t.Fatalf("attribute %s = %q breaks its rule", name, v)
		}
	}
	if rec.Groups != nil && (!slices.IsSorted(rec.Groups) || len(slices.Compact(slices.Clone(rec.Groups))) != len(rec.Groups)) {
		t.Fatalf("groups %q not sorted and unique", rec.Groups)
	}
	for _, g := range rec.Groups {
		checkText(t, "group", g)
		if g == "" || strings.Contains(g, ",") {
			t.Fatalf("group %q", g)
		}
	}
	if rec.Origin.File != "f.csv" || rec.Origin.Line < 1 {
		t.Fatalf("origin %v", rec.Origin)
	}
}

// checkText fails t unless v is valid, trimmed text.
func checkText(t *testing.T, what, v string) {
	t.Helper()
	if !utf8.ValidString(v) || strings.ContainsAny(v, "\x00\uFFFD") || strings.TrimSpace(v) != v {
		t.Fatalf("%s %q is not clean text", what, v)
	}
}

// checkRowsValid reads data again with encoding/csv and fails t if a record
// came from a row that is malformed, has an invalid value in a column the
// schema reads, or says to skip it.
func checkRowsValid(t *testing.T, m *Mapper, data []byte, format usersync.Format, recs []usersync.Record) {
	t.Helper()
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\uFEFF"))))
	cr.Comma = format.Delimiter
	cr.FieldsPerRecord = -1
	var header []string
	rows := map[int][]string{}
	for {
		row, err := cr.Read()
		var pe *csv.ParseError
		switch {
		case err == io.EOF:
			checkRecordsValid(t, m, rows, header, recs)
			return
		case errors.As(err, &pe):
			rows[pe.StartLine] = nil // malformed
			continue
		case err != nil:
			t.Fatal(err)
		}
		line, _ := cr.FieldPos(0)
		if header == nil {
			if len(row) == 1 && strings.HasPrefix(row[0], typeLine) {
				continue
			}
			header = slices.Clone(row)
			continue
		}
		if len(row) != len(header) {
			row = nil
		}
		rows[line] = slices.Clone(row)
	}
}

// checkRecordsValid fails t if a record came from a row of rows (by line)
// that is malformed (nil), has an invalid value in a column the schema
// reads, or says to skip it.
func checkRecordsValid(t *testing.T, m *Mapper, rows map[int][]string, header []string, recs []usersync.Record) {
	t.Helper()
	for _, rec := range recs {
		row, ok := rows[rec.Origin.Line]
		if !ok || row == nil {
			t.Fatalf("record %q from line %d, which encoding/csv finds malformed or missing", rec.Key, rec.Origin.Line)
		}
		for i, h := range header {
			ci, known := m.byHeader[normalizeHeader(h)]
			if !known || m.cols[ci].Role == Ignore {
				continue
			}
			v, ok := cleanSlow(row[i], m.maxField)
			if !ok {
				t.Fatalf("record %q from line %d, whose column %q holds %q", rec.Key, rec.Origin.Line, h, row[i])
			}
			if m.cols[ci].Role == Skip {
				if skip, _ := parseSkip(v); skip {
					t.Fatalf("record %q from line %d, which says to skip it", rec.Key, rec.Origin.Line)
				}
			}
		}
	}
}

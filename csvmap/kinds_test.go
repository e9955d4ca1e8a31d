package csvmap_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
)

// key is the Key column of the schemas below.
var key = csvmap.Column{Name: "id", Role: csvmap.Key}

func TestKinds(t *testing.T) {
	stockholm, err := time.LoadLocation("Europe/Stockholm")
	require.NoError(t, err)
	tests := []struct {
		name string
		col  csvmap.Column
		opts *csvmap.Options
		data string // rows after the header "id,v"
		want []row
	}{{
		name: "bool",
		col:  csvmap.Column{Name: "v", Kind: csvmap.Bool},
		data: "1,Yes\n2,0\n3,\n4,on\n5,N\n6,maybe\n",
		want: []row{
			rec(2, "1", "v", "true"), rec(3, "2", "v", "false"), rec(4, "3", "v", ""),
			rec(5, "4", "v", "true"), rec(6, "5", "v", "false"),
			rejected(7, csvmap.ErrInvalidBool, "v", "maybe"),
		},
	}, {
		name: "date, default layout",
		col:  csvmap.Column{Name: "v", Kind: csvmap.Date},
		data: "1,2025-11-21\n2,21.11.2025\n3,2025-02-30\n",
		want: []row{
			rec(2, "1", "v", "2025-11-21"),
			rejected(3, csvmap.ErrInvalidTime, "v", "21.11.2025"),
			rejected(4, csvmap.ErrInvalidTime, "v", "2025-02-30"),
		},
	}, {
		name: "date, European layouts",
		col:  csvmap.Column{Name: "v", Kind: csvmap.Date, Layouts: []string{"02.01.2006", "2006-01-02"}},
		data: "1,21.11.2025\n2,2025-11-21\n3,11/21/2025\n",
		want: []row{
			rec(2, "1", "v", "2025-11-21"), rec(3, "2", "v", "2025-11-21"),
			rejected(4, csvmap.ErrInvalidTime, "v", "11/21/2025"),
		},
	}, {
		name: "timestamp, to UTC",
		col:  csvmap.Column{Name: "v", Kind: csvmap.Timestamp},
		opts: &csvmap.Options{Location: stockholm},
		data: "1,2025-11-21 02:00:00\n2,2025-11-21T02:00:00+02:00\n3,2025-07-01 12:30\n4,yesterday\n",
		want: []row{
			rec(2, "1", "v", "2025-11-21T01:00:00Z"), // Stockholm is UTC+1 in November
			rec(3, "2", "v", "2025-11-21T00:00:00Z"),
			rec(4, "3", "v", "2025-07-01T10:30:00Z"), // and UTC+2 in summer
			rejected(5, csvmap.ErrInvalidTime, "v", "yesterday"),
		},
	}, {
		name: "enum",
		col:  csvmap.Column{Name: "v", Kind: csvmap.Enum, Values: []string{"Student", "Staff"}},
		data: "1,student\n2,STAFF\n3,Parent\n",
		want: []row{
			rec(2, "1", "v", "Student"), rec(3, "2", "v", "Staff"),
			rejected(4, csvmap.ErrInvalidEnum, "v", "Parent"),
		},
	}, {
		name: "list: split, checked, sorted, deduplicated",
		col:  csvmap.Column{Name: "v", Kind: csvmap.Email, Separator: ";"},
		data: "1,\"b@x.org; A@X.ORG;;b@x.org\"\n2,\" ; \"\n3,a@x;nope\n",
		want: []row{
			rec(2, "1", "v", "A@x.org;b@x.org"), rec(3, "2", "v", ""),
			rejected(4, csvmap.ErrInvalidEmail, "v", "a@x;nope"),
		},
	}, {
		name: "fold",
		col:  csvmap.Column{Name: "v", Fold: true},
		data: "1,ANN.Lee\n2,ÅSA\n",
		want: []row{rec(2, "1", "v", "ann.lee"), rec(3, "2", "v", "åsa")},
	}, {
		name: "length bounds, in characters",
		col:  csvmap.Column{Name: "v", MinLen: 3, MaxLen: 5},
		data: "1,abc\n2,åäöüé\n3,ab\n4,abcdef\n5,\n",
		want: []row{
			rec(2, "1", "v", "abc"), rec(3, "2", "v", "åäöüé"),
			rejected(4, csvmap.ErrLength, "v", "ab"),
			rejected(5, csvmap.ErrLength, "v", "abcdef"),
			rec(6, "5", "v", ""), // empty is Required's business
		},
	}, {
		name: "text is brought to NFC",
		col:  csvmap.Column{Name: "v"},
		data: "1,A\u030Asa\n2,\u00C5sa\n",
		want: []row{rec(2, "1", "v", "\u00C5sa"), rec(3, "2", "v", "\u00C5sa")},
	}, {
		name: "phone",
		col:  csvmap.Column{Name: "v", Kind: csvmap.Phone},
		opts: &csvmap.Options{PhoneRegion: "se"},
		data: "1,+46 70 123 45 67\n2,070-123 45 67\n3,12\n",
		want: []row{
			rec(2, "1", "v", "+46701234567"), rec(3, "2", "v", "+46701234567"),
			rejected(4, csvmap.ErrInvalidPhone, "v", "12"),
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMapper(t, csvmap.Schema{Columns: []csvmap.Column{key, tt.col}}, tt.opts)
			readAll(t, m, "id,v\n"+tt.data, tt.want)
		})
	}
}

func TestLengthErrorMessage(t *testing.T) {
	m := newMapper(t, csvmap.Cosafe(), nil)
	_, err := m.NewReader(strings.NewReader("UniqueID,Name,Mail\nE1,Ann,a@x\n"), usersync.FileInfo{Name: "users.csv"})
	require.NoError(t, err)
	rr, _ := m.NewReader(strings.NewReader("UniqueID,Name,Mail\nE1,Ann,a@x\n"), usersync.FileInfo{Name: "users.csv"})
	_, err = rr.Read()
	assert.EqualError(t, err, `users.csv:2: column UniqueID: "E1": wrong length: 2 characters, want 10 to 256`)
}

// The row rules the seeds describe: Cosafe's FirstName and LastName make
// the Name, SMARTFENSE makes a username from the email, gives a default
// language, and sets the status.
func TestRowRules(t *testing.T) {
	s := csvmap.Schema{Columns: []csvmap.Column{
		{Name: "username", Role: csvmap.Key, Fold: true, From: []string{"email"}},
		{Name: "email", Kind: csvmap.Email, Required: true},
		{Name: "name", Required: true, From: []string{"first", "last"}},
		{Name: "first"},
		{Name: "last"},
		{Name: "language", Kind: csvmap.Enum, Values: []string{"en", "es", "pt"}, Default: "en"},
		{Name: "status", Role: csvmap.Status},
	}}
	m := newMapper(t, s, nil)

	f := readAll(t, m, "username,email,name,first,last,language,status\n"+
		"jdoe,John@Example.com,John Doe,,,es,active\n"+
		",Ann@Example.com,,Ann,Lee,,inactive\n"+
		",bo@example.com,,,Berg,PT,\n"+
		",cy@example.com,,,,,\n",
		[]row{
			rec(2, "jdoe", "email", "John@example.com", "name", "John Doe", "first", "", "last", "", "language", "es"),
			rec(3, "ann@example.com", "email", "Ann@example.com", "name", "Ann Lee", "first", "Ann", "last", "Lee", "language", "en").inactiveRow(),
			rec(4, "bo@example.com", "email", "bo@example.com", "name", "Berg", "first", "", "last", "Berg", "language", "pt"),
			rejected(5, csvmap.ErrRequired, "name", ""),
		})
	assert.Empty(t, f.Warnings)

	// Without the columns, the username comes from the email, the name
	// from first and last, and every user gets the default language.
	f = readAll(t, m, "email,first,last\nAnn@Example.com,Ann,Lee\n", []row{
		rec(2, "ann@example.com", "email", "Ann@example.com", "name", "Ann Lee", "first", "Ann", "last", "Lee", "language", "en"),
	})
	assert.Equal(t, []string{
		`column "username" is missing: made from "email"`,
		`column "name" is missing: made from "first", "last"`,
		`column "language" is missing: every user gets the default "en"`,
	}, f.Warnings)

	// Made from columns the file lacks, it is missing, and required.
	_, err := m.NewReader(strings.NewReader("email,first\na@x,Ann\n"), usersync.FileInfo{Name: "f"})
	assert.ErrorIs(t, err, csvmap.ErrMissingColumn)
	assert.EqualError(t, err, `missing required column "name" (or all of "first", "last"); the header has "email", "first"`)
}

// A rejected row names the column made from others by those it came from.
func TestDerivedValueError(t *testing.T) {
	s := csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Role: csvmap.Key, Kind: csvmap.Email, From: []string{"mail"}},
		{Name: "mail"},
	}}
	m := newMapper(t, s, nil)
	rr, err := m.NewReader(strings.NewReader("mail\nnot-an-address\n"), usersync.FileInfo{Name: "f.csv"})
	require.NoError(t, err)
	_, err = rr.Read()
	assert.EqualError(t, err, `f.csv:2: column id (from mail): "not-an-address": invalid email address`)
}

func TestNewChecksRules(t *testing.T) {
	tests := []struct {
		name string
		cols []csvmap.Column
		err  string
	}{
		{"from unknown", []csvmap.Column{key, {Name: "a", From: []string{"b"}}}, `csvmap: column "a": From names "b", which is not a column`},
		{"from itself", []csvmap.Column{key, {Name: "a", From: []string{"a"}}}, `csvmap: column "a": From names the column itself`},
		{"from derived", []csvmap.Column{key, {Name: "a", From: []string{"b"}}, {Name: "b", From: []string{"id"}}}, `csvmap: column "a": From names "b", which is not an Attribute or Key column read from the file`},
		{"from groups", []csvmap.Column{key, {Name: "a", From: []string{"g"}}, {Name: "g", Role: csvmap.Groups}}, `csvmap: column "a": From names "g", which is not an Attribute or Key column read from the file`},
		{"bad default", []csvmap.Column{key, {Name: "a", Kind: csvmap.Enum, Values: []string{"x"}, Default: "y"}}, `csvmap: column "a": Default "y": invalid value: want x`},
		{"default required", []csvmap.Column{key, {Name: "a", Required: true, Default: "y"}}, `csvmap: column "a": a column with a Default cannot be Required: the Default fills every empty value`},
		{"enum without values", []csvmap.Column{key, {Name: "a", Kind: csvmap.Enum}}, `csvmap: column "a": an Enum needs Values`},
		{"enum twice", []csvmap.Column{key, {Name: "a", Kind: csvmap.Enum, Values: []string{"x", "X"}}}, `csvmap: column "a": Enum value "X" is empty or listed twice`},
		{"values", []csvmap.Column{key, {Name: "a", Values: []string{"x"}}}, `csvmap: column "a": Values are only for Enum columns`},
		{"layouts", []csvmap.Column{key, {Name: "a", Layouts: []string{"2006"}}}, `csvmap: column "a": Layouts are only for Date and Timestamp columns`},
		{"bounds", []csvmap.Column{key, {Name: "a", MinLen: 5, MaxLen: 2}}, `csvmap: column "a": invalid length bounds 5 to 2`},
		{"fold status", []csvmap.Column{key, {Name: "a", Role: csvmap.Status, Fold: true}}, `csvmap: column "a": Fold, MinLen and MaxLen are only for Attribute, Key and Groups columns`},
		{"required ignore", []csvmap.Column{key, {Name: "a", Role: csvmap.Ignore, Required: true}}, `csvmap: column "a": an Ignore column cannot be Required`},
		{"lower snake", nil, `csvmap: column "id": header or alias "User ID" breaks the LowerSnake rule; write "user_id"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := csvmap.Schema{Columns: tt.cols}
			if tt.cols == nil {
				s = csvmap.Schema{Headers: csvmap.LowerSnake, Columns: []csvmap.Column{{Name: "id", Header: "User ID", Role: csvmap.Key}}}
			}
			_, err := csvmap.New(s, nil)
			assert.EqualError(t, err, tt.err)
		})
	}
	for _, o := range []struct {
		opts csvmap.Options
		err  string
	}{
		{csvmap.Options{Encoding: "klingon"}, `csvmap: unknown Encoding "klingon": want an IANA name such as "windows-1252" or "ISO-8859-1"`},
		{csvmap.Options{PhoneRegion: "XX"}, `csvmap: unknown PhoneRegion "XX": want a region code such as "SE"`},
		{csvmap.Options{Comma: 'a'}, `csvmap: invalid Comma 'a': want an ASCII character other than a letter, a digit, '"', '\r' or '\n'`},
		{csvmap.Options{Comma: '¦'}, `csvmap: invalid Comma '¦': want an ASCII character other than a letter, a digit, '"', '\r' or '\n'`},
		{csvmap.Options{Hold: &csvmap.HoldPolicy{Percent: 101}}, `csvmap: Hold.Percent 101 is over 100`},
	} {
		_, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{key}}, &o.opts)
		assert.EqualError(t, err, o.err)
	}
}

// A column made from one with a Default sees the default.
func TestFromADefault(t *testing.T) {
	m := newMapper(t, csvmap.Schema{Columns: []csvmap.Column{
		key,
		{Name: "label", From: []string{"dept"}},
		{Name: "dept", Default: "Staff"},
	}}, nil)
	readAll(t, m, "id,dept,label\n1,,\n2,HR,\n3,,Boss\n", []row{
		rec(2, "1", "label", "Staff", "dept", "Staff"),
		rec(3, "2", "label", "HR", "dept", "HR"),
		rec(4, "3", "label", "Boss", "dept", "Staff"),
	})
}

package csvmap_test

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
)

// The delimiter is the one that makes the header the schema's columns,
// whatever the values hold.
func TestDelimiterDetection(t *testing.T) {
	tests := []struct {
		name string
		data string
		want rune
	}{
		{"comma", "UniqueID,Name\n1,\"Lee; Ann\"\n", ','},
		{"semicolon, values with commas", "UniqueID;Name;Title\r\n1;Lee, Ann;Head of Sales, Nordics\r\n", ';'},
		{"semicolon, more commas than semicolons in the header", "UniqueID;\"Name, as written\";Mail\n", ';'},
		{"tab", "UniqueID\tName\n1\tAnn\n", '\t'},
		{"pipe", "UniqueID|Name\n1|Ann\n", '|'},
		{"quoted headers", "\"UniqueID\";\"Name\"\n\"1\";\"Ann\"\n", ';'},
		{"one column", "UniqueID\n1\n", ','},
		{"after blank lines", "\n\r\nUniqueID;Name\n1;Ann\n", ';'},
		{"unknown headers: the most columns", "a;b;c,d\n", ';'},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMapper(t, csvmap.Schema{Columns: []csvmap.Column{
				{Name: "UniqueID", Role: csvmap.Key}, {Name: "Name", Aliases: []string{"Name, as written"}}, {Name: "Title"}, {Name: "Mail"},
			}}, nil)
			rr, err := m.NewReader(strings.NewReader(tt.data), usersync.FileInfo{Name: "f"})
			if err != nil {
				require.ErrorIs(t, err, csvmap.ErrMissingColumn)
				return
			}
			assert.Equal(t, tt.want, rr.(usersync.FormatReader).Format().Delimiter)
			for {
				if _, err := rr.Read(); err != nil {
					require.ErrorIs(t, err, io.EOF)
					break
				}
			}
		})
	}
}

// Forcing the wrong delimiter fails the file with a hint.
func TestForcedDelimiterHint(t *testing.T) {
	m := newMapper(t, testSchema(), &csvmap.Options{Comma: ','})
	_, err := m.NewReader(strings.NewReader("UniqueID;Name;Mail\n1;Ann;a@x\n"), usersync.FileInfo{Name: "f"})
	require.ErrorIs(t, err, csvmap.ErrMissingColumn)
	assert.EqualError(t, err, `missing required column "UniqueID", "Name"; the header has "UniqueID;Name;Mail"; is the delimiter ';' rather than ',' (Options.Comma)?`)
}

// Windows PowerShell's Export-Csv writes a type line before the header
// unless told not to; Active Directory exports often have it.
func TestPowerShellTypeLine(t *testing.T) {
	m := newMapper(t, testSchema(), nil)
	f := readAll(t, m, "#TYPE Microsoft.ActiveDirectory.Management.ADUser\r\n\"UniqueID\",\"Name\",\"Mail\"\r\n\"1\",\"Ann\",\"ann@example.com\"\r\n",
		[]row{rec(3, "1", "name", "Ann", "email", "ann@example.com")})
	assert.Equal(t, []string{`line 1: passed over PowerShell's type line "#TYPE Microsoft.ActiveDirectory.Management.ADUser" (Export-Csv -NoTypeInformation leaves it out)`}, f.Warnings)
	assert.Equal(t, []string{"UniqueID", "Name", "Mail"}, f.Columns)
}

// Opensense's rule: lower case, no spaces.
func TestLowerSnakeHeaders(t *testing.T) {
	m := newMapper(t, csvmap.Opensense(), nil)
	readAll(t, m, "email,first_name,last_name\nAnn.Lee@Example.com,Ann,Lee\n", []row{
		rec(2, "ann.lee@example.com", "first_name", "Ann", "last_name", "Lee", "name", "Ann Lee"),
	})
	_, err := m.NewReader(strings.NewReader("Email,First Name,last_name,Cost Center\na@x,Ann,Lee,1\n"), usersync.FileInfo{Name: "f"})
	require.ErrorIs(t, err, csvmap.ErrHeaderSpelling)
	assert.EqualError(t, err, `header breaks the spelling rule: headers must be lower case without spaces, with underscores instead: `+
		`"Email" (column 1) (write "email"), "First Name" (column 2) (write "first_name"), "Cost Center" (column 4) (write "cost_center")`)
}

func TestStrictSchema(t *testing.T) {
	s := testSchema()
	s.Strict = true
	m := newMapper(t, s, nil)
	readAll(t, m, "UniqueID,Name\n1,Ann\n", []row{rec(2, "1", "name", "Ann")})
	_, err := m.NewReader(strings.NewReader("UniqueID,Name,Department,\n1,Ann,HR,\n"), usersync.FileInfo{Name: "f"})
	require.ErrorIs(t, err, csvmap.ErrUnknownColumn)
	assert.EqualError(t, err, `unknown column: the schema does not know "Department" (column 3), unnamed column 4`)
}

// An Ignore column is known: no warning, and not read.
func TestIgnoreColumn(t *testing.T) {
	m := newMapper(t, csvmap.Cosafe(), nil)
	f := readAll(t, m, "UniqueID,Name,Mail,TimeStamp\nEMP0000001,Ann,a@x,\"not even a time\x00\"\n", []row{
		rec(2, "EMP0000001", "name", "Ann", "email", "a@x"),
	})
	assert.Empty(t, f.Warnings)
}

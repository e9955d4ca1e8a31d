package csvmap_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
)

// A schema's template is a file its Mapper reads without a warning: one
// record, every column present.
func TestTemplateReadsBack(t *testing.T) {
	schemas := map[string]csvmap.Schema{
		"Cosafe":     csvmap.Cosafe(),
		"Opensense":  csvmap.Opensense(),
		"Smartfense": csvmap.Smartfense(),
		"test":       testSchema(),
		"every kind": {Strict: true, Columns: []csvmap.Column{
			{Name: "id", Role: csvmap.Key, MinLen: 12, Fold: true},
			{Name: "mail", Kind: csvmap.Email, Required: true},
			{Name: "phone", Kind: csvmap.Phone, Required: true},
			{Name: "flag", Kind: csvmap.Bool, Required: true},
			{Name: "day", Kind: csvmap.Date, Required: true, Layouts: []string{"02.01.2006"}},
			{Name: "at", Kind: csvmap.Timestamp, Required: true},
			{Name: "kind", Kind: csvmap.Enum, Values: []string{"A", "B"}, Required: true},
			{Name: "tags", Separator: "|", Required: true, MaxLen: 3},
			{Name: "lang", Default: "en"},
			{Name: "g", Role: csvmap.Groups, Required: true},
			{Name: "active", Role: csvmap.Status},
			{Name: "skip", Role: csvmap.Skip},
			{Name: "stamp", Role: csvmap.Ignore},
			{Name: "name", Header: "Namé", Example: "Åsa"},
		}},
	}
	for name, s := range schemas {
		t.Run(name, func(t *testing.T) {
			m := newMapper(t, s, nil)
			var b bytes.Buffer
			require.NoError(t, m.WriteTemplate(&b))
			rr, err := m.NewReader(bytes.NewReader(b.Bytes()), usersync.FileInfo{Name: "template.csv"})
			require.NoError(t, err, b.String())
			_, err = rr.Read()
			require.NoError(t, err, b.String())
			_, err = rr.Read()
			require.ErrorIs(t, err, io.EOF)
			f := rr.(usersync.FormatReader).Format()
			assert.Empty(t, f.Warnings)
			assert.Len(t, f.Columns, len(s.Columns))
			assert.Equal(t, strings.ContainsAny(b.String(), "Åé"), strings.HasPrefix(b.String(), "\uFEFF"), "a BOM exactly when Excel needs one")
		})
	}
}

// Presets are plain data: each call is a new copy a host may change.
func TestPresetsArePlainData(t *testing.T) {
	a := csvmap.Cosafe()
	a.Columns[0].Aliases = append(a.Columns[0].Aliases, "Employee ID")
	a.Columns = a.Columns[:3]
	_, err := csvmap.New(a, nil)
	assert.EqualError(t, err, `csvmap: column "name": From names "firstname", which is not a column`, "the rules are checked")
	a.Columns[1].From = nil
	b := csvmap.Cosafe()
	assert.Len(t, b.Columns, 11)
	assert.Empty(t, b.Columns[0].Aliases)
	newMapper(t, a, nil)
}

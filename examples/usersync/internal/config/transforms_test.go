package config

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
)

func TestTransformsAndFilters(t *testing.T) {
	cfg, err := parse(t, strings.Replace(base, "  preset: cosafe\n", `  columns:
    - {name: id, role: key}
    - {name: name, header: Employee}
    - {name: username}
    - {name: email, kind: email}
    - {name: status, role: status}
    - {name: type, role: ignore}
  transforms:
    name:
      - last_first: true
      - case: title
    username:
      - template: "{email}"
      - email_local: true
    status:
      - rule: hr-status
        map: {Terminated: inactive, T: inactive, "On leave": inactive}
  filters:
    - name: contractors
      mode: exclude
      column: type
      values: [Contractor, C]
`, 1), env())
	require.NoError(t, err)
	rr, err := cfg.Mapper().NewReader(strings.NewReader("id,Employee,email,status,type\n"+
		"E1,\"LEE, ANN\",ann@x.se,Active,E\n"+
		"E2,\"Berg, Bo\",bo@x.se,T,E\n"+
		"E3,\"Ek, Cy\",cy@x.se,Active,C\n"), usersync.FileInfo{Name: "users.csv"})
	require.NoError(t, err)
	var got []string
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		got = append(got, rec.Attrs.String()+" "+map[bool]string{true: "inactive", false: "active"}[rec.Inactive])
	}
	assert.Equal(t, []string{`{name="Ann Lee" username="ann" email="ann@x.se"} active`, `{name="Bo Berg" username="bo" email="bo@x.se"} inactive`}, got)
	assert.Equal(t, 1, rr.(usersync.FormatReader).Format().OutOfScope)
}

// A preset's columns take transforms too.
func TestTransformsOnAPreset(t *testing.T) {
	cfg, err := parse(t, strings.Replace(base, "  preset: cosafe\n", `  preset: cosafe
  transforms:
    name: [{last_first: true}]
`, 1), env())
	require.NoError(t, err)
	sc, err := cfg.Mapping.schema()
	require.NoError(t, err)
	c := sc.Columns[indexColumn(sc.Columns, "name")]
	assert.Equal(t, []csvmap.Transform{{LastFirst: true}}, c.Transforms)
	assert.Equal(t, []string{"firstname", "lastname"}, c.From, "the preset's column is kept")
}

func TestTransformErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"  transforms:\n    nope: [{trim: true}]\n", `mapping.transforms.nope: no column of the schema is named "nope"`},
		{"  transforms:\n    name: [{case: camel}]\n", `mapping.transforms.name[0].case: want one of lower, title, upper, got "camel"`},
		{"  transforms:\n    name: [{trim: true, last_first: true}]\n", `mapping.transforms: column "name": transform 1 (last-first): sets more than one rule`},
		{"  transforms:\n    name: [{extract: \"(\"}]\n", `mapping.transforms: column "name": transform 1 (extract): the Extract pattern: error parsing regexp`},
		{"  filters:\n    - {mode: sideways, column: title, values: [x]}\n", `mapping.filters[0].mode: want one of exclude, include, got "sideways"`},
		{"  filters:\n    - {mode: exclude, column: nope, values: [x]}\n", `mapping.filters: filter 1: column "nope" is not a column of the schema`},
	} {
		_, err := parse(t, strings.Replace(base, "  preset: cosafe\n", "  preset: cosafe\n"+tc.yaml, 1), env())
		require.Error(t, err, tc.yaml)
		assert.Contains(t, err.Error(), tc.want)
	}
}

package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// check shows the first records as the mapping makes them: the values the
// transforms give, and how many rows the filters leave out.
func TestCheckPreviewsMappedRows(t *testing.T) {
	f := newFixture(t)
	f.mapping = `mapping:
  preset: cosafe
  columns:
    - {name: type, header: Type, role: ignore}
  transforms:
    name: [{last_first: true}, {case: title}]
    title: [{map: {RN: Nurse}}]
  filters:
    - {name: contractors, mode: exclude, column: type, values: [C]}
`
	f.deliver("users.csv", []byte("UniqueID,Name,Mail,Title,Type\n"+
		"EMP-000001,\"LEE, ANN\",ann@example.com,RN,E\n"+
		"EMP-000002,\"Berg, Bo\",bo@example.com,Doctor,C\n"+
		"EMP-000003,\"Ek, Cy\",cy@example.com,RN,E\n"))
	r := f.run("check")
	require.Equal(t, exitOK, r.code, r)
	assert.Contains(t, r.stdout, "1 row out of scope; the first 2 records as mapped:")
	lines := strings.Split(r.stdout, "\n")
	var table []string
	for _, l := range lines {
		if strings.HasPrefix(l, strings.Repeat(" ", 18)) {
			table = append(table, strings.TrimSpace(l))
		}
	}
	require.Len(t, table, 3, r.stdout)
	assert.Regexp(t, `^key\s+name\s+email\s+title\s+active$`, table[0])
	assert.Regexp(t, `^EMP-000001\s+Ann Lee\s+ann@example.com\s+Nurse\s+yes$`, table[1])
	assert.Regexp(t, `^EMP-000003\s+Cy Ek\s+cy@example.com\s+Nurse\s+yes$`, table[2])

	r = f.run("check", "--json")
	require.Equal(t, exitOK, r.code, r)
	var out struct {
		Checks []struct {
			Name    string   `json:"name"`
			Preview *preview `json:"preview"`
		} `json:"checks"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	var p *preview
	for _, c := range out.Checks {
		if c.Preview != nil {
			p = c.Preview
		}
	}
	require.NotNil(t, p)
	assert.Equal(t, []string{"key", "name", "email", "title", "active"}, p.Columns)
	assert.Equal(t, []string{"EMP-000001", "Ann Lee", "ann@example.com", "Nurse", "yes"}, p.Rows[0])
	assert.Equal(t, 1, p.OutOfScope)
}

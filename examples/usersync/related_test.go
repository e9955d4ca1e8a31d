package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// relatedMapping reads a Cosafe users file, a groups file and a
// memberships file.
const relatedMapping = `mapping:
  routes:
    - pattern: "users*.csv"
      preset: cosafe
    - pattern: "groups*.csv"
      file: groups
      columns:
        - {name: id, header: Group ID, role: key}
        - {name: name, header: Name}
        - {name: parent, header: Parent ID}
    - pattern: "memberships*.csv"
      file: memberships
      columns:
        - {name: user, header: UniqueID, role: key}
        - {name: group, header: Group ID, role: groups}
`

// TestRelatedFiles checks and runs a users file, a groups file and a
// memberships file from the config's routes.
func TestRelatedFiles(t *testing.T) {
	f := newFixture(t)
	f.source = strings.Replace(f.source, `pattern: "users*.csv"`, `pattern: "*.csv"`, 1)
	f.mapping = relatedMapping
	f.deliver("users.csv", users(1, 2))
	f.deliver("groups.csv", []byte("Group ID,Name,Parent ID\nstaff,All staff,\nward-a,Ward A,staff\n"))
	f.deliver("memberships.csv", []byte("UniqueID,Group ID\nEMP-000001,ward-a\nEMP-000002,staff\nEMP-000009,staff\n"))

	r := f.run("check", "--json")
	out := r.decode(t)
	res, detail, _ := findStep(t, out, "mapping", "first row of groups.csv")
	assert.Equal(t, "pass", res, r)
	assert.Contains(t, detail, `a groups file: 2 groups, the first "staff" named "All staff"`)

	r = f.run("run", "--json")
	require.Equal(t, exitRejected, r.code, r) // a row was rejected
	s := r.decode(t).Summary
	require.NotNil(t, s)
	assert.Equal(t, 2, s.Counts.Applied.Created)
	assert.Equal(t, 3, s.Counts.Applied.GroupsCreated, "Ward A of the users file's Groups column, ward-a and, as its parent, staff")
	require.Len(t, s.Rejected.Items, 1)
	assert.Equal(t, `memberships.csv:4: user "EMP-000009" is not in the users file users.csv`, s.Rejected.Items[0].String())
}

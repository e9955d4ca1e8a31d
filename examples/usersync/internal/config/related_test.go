package config

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
)

const relatedRoutes = `  routes:
    - pattern: "users*.csv"
      preset: cosafe
    - pattern: "groups*.csv"
      file: groups
      columns:
        - {name: id, header: Group ID, role: key}
        - {name: name, header: Name, required: true}
        - {name: parent, header: Parent ID}
    - pattern: "memberships*.csv"
      file: memberships
      columns:
        - {name: user, header: UniqueID, role: key}
        - {name: group, header: Group ID, role: groups}
`

func TestRelatedFilesRoutes(t *testing.T) {
	cfg, err := parse(t, strings.Replace(base, "  preset: cosafe\n", relatedRoutes, 1), env())
	require.NoError(t, err)
	m := cfg.Mapper()

	rr, err := m.NewReader(strings.NewReader("Group ID,Name,Parent ID\nstaff,All staff,\nnurses,Nurses,staff\n"), usersync.FileInfo{Name: "groups.csv"})
	require.NoError(t, err)
	_, err = rr.Read()
	require.ErrorIs(t, err, io.EOF)
	gr, ok := rr.(usersync.GroupReader)
	require.True(t, ok, "a groups file's reader is a GroupReader")
	assert.Equal(t, []usersync.Group{{ID: "staff", Name: "All staff"}, {ID: "nurses", Name: "Nurses", Parent: "staff"}}, gr.Groups())

	rr, err = m.NewReader(strings.NewReader("UniqueID;Group ID\nE1001;nurses\n"), usersync.FileInfo{Name: "memberships.csv"})
	require.NoError(t, err)
	rec, err := rr.Read()
	require.NoError(t, err)
	assert.True(t, rec.Fragment, "a memberships row is a fragment")
	assert.Equal(t, []string{"nurses"}, rec.Groups)
}

func TestRelatedFilesErrors(t *testing.T) {
	_, err := parse(t, strings.Replace(base, "  preset: cosafe\n", "  preset: cosafe\n  file: groups\n", 1), env())
	assert.ErrorContains(t, err, "mapping.file: a groups or memberships file goes in a route")

	_, err = parse(t, strings.Replace(base, "  preset: cosafe\n", `  routes:
    - pattern: "m*.csv"
      file: memberhsips
      columns: [{name: user, role: key}, {name: group, role: groups}]
`, 1), env())
	assert.ErrorContains(t, err, `mapping.routes[0].file: want one of groups, memberships, users, got "memberhsips"`)

	_, err = parse(t, strings.Replace(base, "  preset: cosafe\n", `  routes:
    - pattern: "m*.csv"
      file: memberships
      columns: [{name: user, role: key}]
`, 1), env())
	assert.ErrorContains(t, err, "mapping.routes[0].columns: a MembershipsFile schema needs a Groups column")
}

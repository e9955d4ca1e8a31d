package csvmap_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
)

var groupsSchema = csvmap.Schema{Name: "Groups", File: csvmap.GroupsFile, Columns: []csvmap.Column{
	{Name: "id", Header: "Group ID", Role: csvmap.Key},
	{Name: csvmap.GroupName, Header: "Name", Required: true},
	{Name: csvmap.GroupParent, Header: "Parent ID"},
	{Name: csvmap.GroupAccount, Header: "Account"},
}}

var membershipsSchema = csvmap.Schema{Name: "Memberships", File: csvmap.MembershipsFile, Columns: []csvmap.Column{
	{Name: "user", Header: "User ID", Role: csvmap.Key},
	{Name: "group", Header: "Group ID", Role: csvmap.Groups},
}}

// readRelated reads a file to its end: its records, its rejected rows as
// "line: message", and its error.
func readRelated(t *testing.T, s csvmap.Schema, name, data string) (usersync.RecordReader, []usersync.Record, []string) {
	t.Helper()
	m, err := csvmap.New(s, nil)
	require.NoError(t, err)
	rr, err := m.NewReader(strings.NewReader(data), usersync.FileInfo{Name: name, Size: -1})
	require.NoError(t, err)
	var recs []usersync.Record
	var rejected []string
	for {
		rec, err := rr.Read()
		var re *usersync.RowError
		switch {
		case err == io.EOF:
			return rr, recs, rejected
		case errors.As(err, &re):
			rejected = append(rejected, re.Error())
		case err != nil:
			t.Fatal(err)
		default:
			recs = append(recs, rec)
		}
	}
}

func TestGroupsFile(t *testing.T) {
	rr, recs, rejected := readRelated(t, groupsSchema, "groups.csv",
		"Group ID,Name,Parent ID,Account\n"+
			"staff,All staff,,acme\n"+
			"nurses,Nurses,staff,acme\n"+
			"icu,ICU nurses,nurses,\n"+
			"nurses,Nurses again,,\n"+ // a second row of a group
			"ghost,Ghosts,nowhere,\n"+ // a parent the file does not list
			"child,Child of a ghost,ghost,\n"+
			"a,A,b,\n"+ // a loop
			"b,B,a,\n"+
			",No ID,,\n")
	assert.Empty(t, recs, "a groups file gives no records")
	gr, ok := rr.(usersync.GroupReader)
	require.True(t, ok, "it is a GroupReader")
	assert.Equal(t, []usersync.Group{
		{ID: "staff", Name: "All staff", Account: "acme"},
		{ID: "nurses", Name: "Nurses", Parent: "staff", Account: "acme"},
		{ID: "icu", Name: "ICU nurses", Parent: "nurses"},
	}, gr.Groups())
	assert.Equal(t, []string{
		`groups.csv:5: column Group ID: "nurses": group ID listed twice: line 3 has it`,
		`groups.csv:10: column Group ID: required value is empty`,
		`groups.csv:6: column Parent ID: "nowhere": parent group is not in the file`,
		`groups.csv:7: column Parent ID: "ghost": parent group is not in the file: its parent "ghost" was rejected`,
		`groups.csv:8: column Parent ID: "b": the group is its own ancestor`,
		`groups.csv:9: column Parent ID: "a": the group is its own ancestor`,
	}, rejected)
	fm, ok := rr.(usersync.FormatReader)
	require.True(t, ok, "it says how the file was read")
	assert.Equal(t, ',', fm.Format().Delimiter)
}

func TestMembershipsFile(t *testing.T) {
	_, recs, rejected := readRelated(t, membershipsSchema, "memberships.csv",
		"User ID;Group ID\n"+
			"e1;nurses\n"+
			"e1;icu\n"+
			"e2;\n"+ // a row without a group
			"e3;\"staff,icu\"\n")
	assert.Equal(t, []string{`memberships.csv:4: column Group ID: required value is empty`}, rejected)
	require.Len(t, recs, 3)
	for _, r := range recs {
		assert.True(t, r.Fragment, "line %d is a fragment", r.Origin.Line)
		assert.Equal(t, 0, r.Attrs.Len())
	}
	assert.Equal(t, []string{"nurses"}, recs[0].Groups)
	assert.Equal(t, []string{"icu", "staff"}, recs[2].Groups)
	assert.Equal(t, usersync.Position{File: "memberships.csv", Line: 5}, recs[2].Origin)

	m, err := csvmap.New(membershipsSchema, nil)
	require.NoError(t, err)
	_, err = m.NewReader(strings.NewReader("User ID\ne1\n"), usersync.FileInfo{Name: "memberships.csv"})
	assert.ErrorIs(t, err, csvmap.ErrMissingColumn, "the Groups column is required")
}

func TestRelatedSchemaChecks(t *testing.T) {
	for name, s := range map[string]csvmap.Schema{
		"memberships without groups": {File: csvmap.MembershipsFile, Columns: []csvmap.Column{{Name: "user", Role: csvmap.Key}}},
		"memberships with attributes": {File: csvmap.MembershipsFile, Columns: []csvmap.Column{
			{Name: "user", Role: csvmap.Key}, {Name: "g", Role: csvmap.Groups}, {Name: "email"}}},
		"groups with another attribute": {File: csvmap.GroupsFile, Columns: []csvmap.Column{
			{Name: "id", Role: csvmap.Key}, {Name: "title"}}},
		"groups with a groups column": {File: csvmap.GroupsFile, Columns: []csvmap.Column{
			{Name: "id", Role: csvmap.Key}, {Name: "g", Role: csvmap.Groups}}},
		"unknown kind": {File: 9, Columns: []csvmap.Column{{Name: "id", Role: csvmap.Key}}},
	} {
		_, err := csvmap.New(s, nil)
		assert.Error(t, err, name)
	}
}

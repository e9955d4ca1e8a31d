package csvmap_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/sink/memsink"
)

// A school information system's students and staff, each with the required
// fields of its own schema.
func sisMapper(t *testing.T) *csvmap.ByName {
	t.Helper()
	students := newMapper(t, csvmap.Schema{Name: "Students", Columns: []csvmap.Column{
		{Name: "id", Header: "Student ID", Role: csvmap.Key},
		{Name: "name", Header: "Name", Required: true},
		{Name: "grade", Header: "Grade", Kind: csvmap.Enum, Values: []string{"K", "1", "2", "3"}, Required: true},
		{Name: "groups", Header: "Classes", Role: csvmap.Groups, Separator: ";"},
	}}, nil)
	staff := newMapper(t, csvmap.Schema{Name: "Staff", Columns: []csvmap.Column{
		{Name: "id", Header: "Staff ID", Role: csvmap.Key},
		{Name: "name", Header: "Name", Required: true},
		{Name: "email", Header: "Email", Kind: csvmap.Email, Required: true},
		{Name: "groups", Header: "Classes", Role: csvmap.Groups, Separator: ";"},
	}}, nil)
	b, err := csvmap.NewByName(
		csvmap.Route{Pattern: "students*.csv", Mapper: students},
		csvmap.Route{Pattern: "staff.*", Mapper: staff},
	)
	require.NoError(t, err)
	return b
}

func TestByName(t *testing.T) {
	b := sisMapper(t)
	sink := memsink.New()
	res, err := pipeline(t, b, sink, map[string]string{
		"Students_2025.CSV": "Student ID;Name;Grade;Classes\nS1;Ann;k;\"Math 1;Art\"\nS2;Bo;2;\n",
		"staff.txt":         "Staff ID\tName\tEmail\tClasses\nT1\tCy\tcy@school.example\tMath 1\n",
	})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Files[0].Records, res.Files[0].Name)
	assert.Equal(t, 1, res.Files[1].Records, res.Files[1].Name)
	assert.Equal(t, '\t', res.Files[1].Format.Delimiter)
	ann, ok := sink.User("S1")
	require.True(t, ok)
	assert.Equal(t, "K", ann.Attrs.Value("grade"))
	assert.Equal(t, []string{"Art", "Math 1"}, ann.Groups)

	_, err = b.NewReader(strings.NewReader("x\n"), usersync.FileInfo{Name: "parents.csv"})
	assert.ErrorIs(t, err, csvmap.ErrNoSchema)
	assert.EqualError(t, err, `no schema for this file name: "parents.csv" matches none of "students*.csv", "staff.*"`)
	assert.Nil(t, b.Match("in/parents.csv"))
	assert.NotNil(t, b.Match("in/STAFF.csv"))
}

func TestNewByNameChecksRoutes(t *testing.T) {
	_, err := csvmap.NewByName()
	assert.EqualError(t, err, "csvmap: NewByName without routes")
	_, err = csvmap.NewByName(csvmap.Route{Pattern: "[", Mapper: newMapper(t, testSchema(), nil)})
	assert.EqualError(t, err, `csvmap: route pattern "[": syntax error in pattern`)
	_, err = csvmap.NewByName(csvmap.Route{Pattern: "*.csv"})
	assert.EqualError(t, err, `csvmap: route "*.csv" has no Mapper`)
}

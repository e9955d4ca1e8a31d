package csvmap_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/csvmap"
)

func TestNewChecksSchema(t *testing.T) {
	key := csvmap.Column{Name: "id", Role: csvmap.Key}
	tests := []struct {
		name string
		cols []csvmap.Column
		opts *csvmap.Options
		err  string
	}{
		{"no key", []csvmap.Column{{Name: "a"}}, nil, "csvmap: the schema has no Key column"},
		{"two keys", []csvmap.Column{key, {Name: "b", Role: csvmap.Key}}, nil, "csvmap: more than one Key column"},
		{"two groups", []csvmap.Column{key, {Name: "g", Role: csvmap.Groups}, {Name: "h", Role: csvmap.Groups}}, nil, "csvmap: more than one Groups column"},
		{"no name", []csvmap.Column{key, {Header: "x"}}, nil, "csvmap: a column has no Name"},
		{"name twice", []csvmap.Column{key, {Name: "a", Header: "x"}, {Name: "a", Header: "y"}}, nil, `csvmap: column name "a" used twice`},
		{"headers collide", []csvmap.Column{key, {Name: "email"}, {Name: "mail2", Header: "E-Mail"}}, nil, `csvmap: columns "email" and "mail2" both accept the header "E-Mail"`},
		{"alias collides", []csvmap.Column{key, {Name: "a"}, {Name: "b", Aliases: []string{" ID "}}}, nil, `csvmap: columns "id" and "b" both accept the header " ID "`},
		{"empty alias", []csvmap.Column{key, {Name: "a", Aliases: []string{"_"}}}, nil, `csvmap: column "a": header or alias "_" is empty once normalized`},
		{"unknown role", []csvmap.Column{key, {Name: "a", Role: 9}}, nil, `csvmap: column "a": unknown Role(9)`},
		{"unknown kind", []csvmap.Column{key, {Name: "a", Kind: 9}}, nil, `csvmap: column "a": unknown Kind(9)`},
		{"email groups", []csvmap.Column{key, {Name: "a", Role: csvmap.Groups, Kind: csvmap.Email}}, nil, `csvmap: column "a": Kind Email is only for Attribute and Key columns`},
		{"separator", []csvmap.Column{key, {Name: "a", Role: csvmap.Status, Separator: ";"}}, nil, `csvmap: column "a": Separator is only for Groups and Attribute columns`},
		{"quote comma", []csvmap.Column{key}, &csvmap.Options{Comma: '"'}, `csvmap: invalid Comma '"': want an ASCII character other than a letter, a digit, '"', '\r' or '\n'`},
		{"newline comma", []csvmap.Column{key}, &csvmap.Options{Comma: '\n'}, `csvmap: invalid Comma '\n': want an ASCII character other than a letter, a digit, '"', '\r' or '\n'`},
		{"negative limit", []csvmap.Column{key}, &csvmap.Options{MaxFieldBytes: -1}, "csvmap: negative MaxFieldBytes, MaxRecordBytes, MaxRows or MaxFileBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := csvmap.New(csvmap.Schema{Columns: tt.cols}, tt.opts)
			assert.EqualError(t, err, tt.err)
		})
	}
}

func TestNewCopiesSchema(t *testing.T) {
	s := testSchema()
	m, err := csvmap.New(s, nil)
	require.NoError(t, err)
	s.Columns[2].Aliases[0] = "UniqueID" // would collide, were it shared
	s.Columns[0].Name = "changed"
	readAll(t, m, "UniqueID,Name,E-mail\n1,Ann,a@x\n", []row{rec(2, "1", "name", "Ann", "email", "a@x")})
}

func TestRoleAndKindString(t *testing.T) {
	assert.Equal(t, "Groups", csvmap.Groups.String())
	assert.Equal(t, "Skip", csvmap.Skip.String())
	assert.Equal(t, "Role(7)", csvmap.Role(7).String())
	assert.Equal(t, "Email", csvmap.Email.String())
	assert.Equal(t, "Kind(7)", csvmap.Kind(7).String())
}

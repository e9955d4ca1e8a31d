package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/csvmap/oneroster"
)

const oneRosterBase = `name: Test
source:
  local:
    folder: .
sink:
  sqlite:
    path: users.db
`

func TestOneRoster(t *testing.T) {
	cfg, err := parse(t, oneRosterBase+`mapping:
  oneroster:
    key: username
    roles: [staff, student]
    attrs: [name, email, role]
    role_attrs:
      student: [name, grades]
    enrollments: false
    class_prefix: "class:"
`, nil)
	require.NoError(t, err)
	_, ok := cfg.Mapper().(*oneroster.Mapper)
	assert.True(t, ok, "mapper %T", cfg.Mapper())
}

func TestOneRosterProblems(t *testing.T) {
	_, err := parse(t, oneRosterBase+`mapping:
  preset: cosafe
  oneroster: {}
`, nil)
	assert.Equal(t, []string{"10: mapping.oneroster: a OneRoster bundle is read by its own rules: give no preset, columns or routes beside oneroster"}, problems(t, err))
	_, err = parse(t, oneRosterBase+`mapping:
  oneroster:
    key: uuid
`, nil)
	p := problems(t, err)
	require.Len(t, p, 1)
	assert.True(t, strings.Contains(p[0], `mapping.oneroster: Key "uuid" is not one of sourcedId, username, email, identifier`), p[0])
}

func TestSISPresets(t *testing.T) {
	cfg, err := parse(t, oneRosterBase+`mapping:
  routes:
    - pattern: "students*.csv"
      preset: sis_students
    - pattern: "staff*.csv"
      preset: sis_staff
`, nil)
	require.NoError(t, err)
	_, ok := cfg.Mapper().(*csvmap.ByName)
	assert.True(t, ok, "mapper %T", cfg.Mapper())
}

package config

import "github.com/usersync/usersync/csvmap"

// FileKind is users (the default), groups or memberships: what the files
// of a route's schema list (see csvmap.FileKind). A groups file's key
// column holds the group's ID, and its other columns are named name,
// parent and account; a memberships file has a key column (the user's
// key) and a groups column (the group's ID).
type FileKind struct{ V csvmap.FileKind }

// UnmarshalText parses the word.
func (f *FileKind) UnmarshalText(b []byte) (err error) {
	f.V, err = parseEnum(string(b), map[string]csvmap.FileKind{
		"users": csvmap.UsersFile, "groups": csvmap.GroupsFile, "memberships": csvmap.MembershipsFile})
	return err
}

// checkFileKind refuses a groups or memberships schema outside a route:
// such files come beside a users file, each picked by its name.
func (m *Mapping) checkFileKind(c *checker) {
	if m.File.V != csvmap.UsersFile {
		c.errorf("mapping.file", "a groups or memberships file goes in a route, beside the users file's schema")
	}
}

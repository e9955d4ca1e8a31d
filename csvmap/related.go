package csvmap

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/usersync/usersync"
)

// A FileKind says what the files of a Schema list: users, the default, or
// the groups and memberships that go with a users file in one run, as a
// directory exported as several related files has them.
type FileKind uint8

const (
	// UsersFile rows are users: each is a usersync.Record.
	UsersFile FileKind = iota
	// GroupsFile rows are groups. The Key column holds the group's ID,
	// and Attribute columns may only be named [GroupName], [GroupParent]
	// and [GroupAccount]: the group's display name, the ID of the group it
	// is nested in, and the ID of its account (see usersync.Group).
	// Groups and Status columns have no place in it.
	//
	// The file's reader returns no records: it is a usersync.GroupReader,
	// whose Groups the Pipeline adds to the feed. A group ID listed twice,
	// a parent the file does not list and a loop of parents reject their
	// rows.
	GroupsFile
	// MembershipsFile rows put users in groups: the Key column holds the
	// user's key, as the users file writes it (give the column the users
	// file's Key column's Kind and Fold, so that keys match once
	// normalized), and a Groups column (which
	// the schema must have, and which is then required) the IDs of the
	// user's groups, one or more a row. Each row is a usersync.Record with
	// Fragment set: the Pipeline adds its groups to the user's, and rejects
	// a row whose user is in no users file of the run, or whose group a
	// groups file of the run does not list. A user may have any number of
	// rows. Only Key, Groups, Skip and Ignore columns have a place in it.
	MembershipsFile
)

// The names of a GroupsFile schema's Attribute columns.
const (
	GroupName    = "name"
	GroupParent  = "parent"
	GroupAccount = "account"
)

var fileKindNames = [...]string{"UsersFile", "GroupsFile", "MembershipsFile"}

// String returns the kind's name, as in the constant.
func (k FileKind) String() string {
	if int(k) < len(fileKindNames) {
		return fileKindNames[k]
	}
	return "FileKind(" + strconv.Itoa(int(k)) + ")"
}

// Errors that reject a row of a groups file.
var (
	// ErrDuplicateGroup rejects the second row of a group ID.
	ErrDuplicateGroup = errors.New("group ID listed twice")
	// ErrUnknownParent rejects a group whose parent the file does not list.
	ErrUnknownParent = errors.New("parent group is not in the file")
	// ErrParentLoop rejects the groups of a loop of parents.
	ErrParentLoop = errors.New("the group is its own ancestor")
)

// checkFileKind checks the columns against the schema's FileKind, and
// makes a memberships file's Groups column required.
func (m *Mapper) checkFileKind() error {
	groups := -1
	for i := range m.cols {
		c := &m.cols[i]
		problem := ""
		switch m.file {
		case UsersFile:
			return nil
		case GroupsFile:
			switch {
			case c.Role == Groups || c.Role == Status:
				problem = fmt.Sprintf("a GroupsFile has no %v column", c.Role)
			case c.Role == Attribute && c.Name != GroupName && c.Name != GroupParent && c.Name != GroupAccount:
				problem = fmt.Sprintf("a GroupsFile's Attribute columns are named %q, %q or %q", GroupName, GroupParent, GroupAccount)
			}
		case MembershipsFile:
			if c.Role == Attribute || c.Role == Status {
				problem = fmt.Sprintf("a MembershipsFile has no %v column: its rows add groups to users", c.Role)
			}
			if c.Role == Groups {
				groups, c.Required = i, true
			}
		default:
			return fmt.Errorf("csvmap: unknown %v", m.file)
		}
		if problem != "" {
			return fmt.Errorf("csvmap: column %q: %s", c.Name, problem)
		}
	}
	if m.file == MembershipsFile && groups < 0 {
		return errors.New("csvmap: a MembershipsFile schema needs a Groups column")
	}
	return nil
}

// keyOf says what the Key column identifies.
func (m *Mapper) keyOf() string {
	if m.file == GroupsFile {
		return "group"
	}
	return "user"
}

// fileKindRules describes a groups or memberships file, for
// WriteDescription.
func (m *Mapper) fileKindRules() []string {
	switch m.file {
	case GroupsFile:
		return []string{"Each row is a group; a group is listed once, and its parent, if any, is listed too."}
	case MembershipsFile:
		return []string{"Each row puts a user of the users file in groups; a user may have any number of rows."}
	}
	return nil
}

// related wraps the reader of a groups or memberships file.
func (m *Mapper) related(rd *reader) usersync.FormatReader {
	switch m.file {
	case GroupsFile:
		return &groupsReader{reader: rd, line: make(map[string]int)}
	case MembershipsFile:
		return membershipsReader{rd}
	}
	return rd
}

// A membershipsReader returns a memberships file's rows as fragments.
type membershipsReader struct{ *reader }

func (r membershipsReader) Read() (usersync.Record, error) {
	rec, err := r.reader.Read()
	rec.Fragment = err == nil
	return rec, err
}

// A groupsReader reads a groups file: its Read returns the rows it rejects,
// then io.EOF, and Groups the groups.
type groupsReader struct {
	*reader
	groups []usersync.Group
	line   map[string]int // group ID -> its line
	late   []error        // rows rejected once the file was read
	done   bool
}

var _ usersync.GroupReader = (*groupsReader)(nil)

func (r *groupsReader) Read() (usersync.Record, error) {
	for !r.done {
		rec, err := r.reader.Read()
		switch {
		case err == io.EOF:
			r.done = true
			r.checkParents()
		case err != nil:
			return rec, err
		case r.line[rec.Key] != 0:
			return usersync.Record{}, r.reject(&usersync.RowError{File: r.file, Line: rec.Origin.Line, Column: r.key.header,
				Value: clip(rec.Key), Key: rec.Key, Err: fmt.Errorf("%w: line %d has it", ErrDuplicateGroup, r.line[rec.Key])})
		default:
			r.line[rec.Key] = rec.Origin.Line
			r.groups = append(r.groups, usersync.Group{ID: rec.Key, Name: rec.Attrs.Value(GroupName),
				Parent: rec.Attrs.Value(GroupParent), Account: rec.Attrs.Value(GroupAccount)})
		}
	}
	if len(r.late) > 0 {
		err := r.late[0]
		r.late = r.late[1:]
		return usersync.Record{}, err
	}
	return usersync.Record{}, io.EOF
}

// checkParents rejects the groups whose parent is not in the file, then
// those in a loop of parents, and those whose parent was rejected, until
// every group left has a parent in the file or none.
func (r *groupsReader) checkParents() {
	byID := make(map[string]*usersync.Group, len(r.groups))
	for i := range r.groups {
		byID[r.groups[i].ID] = &r.groups[i]
	}
	bad := make(map[string]error)
	for _, g := range r.groups {
		if g.Parent == "" {
			continue
		}
		if byID[g.Parent] == nil {
			bad[g.ID] = ErrUnknownParent
			continue
		}
		// A walk up longer than the number of groups is a loop.
		p := byID[g.Parent]
		for n := 0; p != nil && p.Parent != ""; n++ {
			if p.ID == g.ID || n > len(r.groups) {
				bad[g.ID] = ErrParentLoop
				break
			}
			p = byID[p.Parent]
		}
	}
	for changed := true; changed; { // the children of rejected groups
		changed = false
		for _, g := range r.groups {
			if _, ok := bad[g.Parent]; ok && bad[g.ID] == nil && g.Parent != "" {
				bad[g.ID] = fmt.Errorf("%w: its parent %q was rejected", ErrUnknownParent, g.Parent)
				changed = true
			}
		}
	}
	if len(bad) == 0 {
		return
	}
	kept := r.groups[:0]
	for _, g := range r.groups {
		err := bad[g.ID]
		if err == nil {
			kept = append(kept, g)
			continue
		}
		col := GroupParent
		if f := r.fieldNamed(GroupParent); f != nil {
			col = f.header
		}
		r.late = append(r.late, r.reject(&usersync.RowError{File: r.file, Line: r.line[g.ID], Column: col, Value: clip(g.Parent), Key: g.ID, Err: err}))
	}
	r.groups = kept
}

// fieldNamed returns the field of the schema column name, or nil.
func (r *groupsReader) fieldNamed(name string) *field {
	for i := range r.fields {
		if r.fields[i].col.Name == name {
			return &r.fields[i]
		}
	}
	return nil
}

// Groups returns the groups of the file, once it is read to its end.
func (r *groupsReader) Groups() []usersync.Group { return r.groups }

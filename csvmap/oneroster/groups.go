package oneroster

import (
	"fmt"
	"io"
	"strings"

	"github.com/usersync/usersync"
)

// orgTypes are the values of orgs.csv's type column.
var orgTypes = []string{"department", "school", "district", "local", "state", "national"}

// classTypes are the values of classes.csv's classType column.
var classTypes = []string{"homeroom", "scheduled"}

// oneOf reports whether v is one of values, or an extension ("ext:" and a
// name), which the specification allows in its enumerations.
func oneOf(v string, values []string) bool {
	if strings.HasPrefix(v, "ext:") && len(v) > len("ext:") {
		return true
	}
	for _, w := range values {
		if v == w {
			return true
		}
	}
	return false
}

// A groupReader reads orgs.csv or classes.csv: it returns no records, and
// the groups the file describes once it reached the end.
type groupReader struct {
	t      *table
	delta  bool
	groups []usersync.Group
	row    func() *usersync.RowError // reads the current row
	end    func() []*usersync.RowError
	tail   []*usersync.RowError // errors found at the end
	done   bool
}

var _ interface {
	usersync.GroupReader
	usersync.PartReader
	usersync.FormatReader
} = (*groupReader)(nil)

func (g *groupReader) Read() (usersync.Record, error) {
	for !g.done {
		err := g.t.next()
		if err == io.EOF {
			g.done = true
			if g.end != nil {
				g.tail = g.end()
			}
			break
		}
		if err != nil {
			return usersync.Record{}, err
		}
		if rerr := g.t.checkText(""); rerr != nil {
			return usersync.Record{}, rerr
		}
		if rerr := g.row(); rerr != nil {
			return usersync.Record{}, rerr
		}
	}
	if len(g.tail) > 0 {
		rerr := g.tail[0]
		g.tail = g.tail[1:]
		return usersync.Record{}, rerr
	}
	return usersync.Record{}, io.EOF
}

func (g *groupReader) Groups() []usersync.Group { return g.groups }
func (g *groupReader) Part() bool               { return true }
func (g *groupReader) Format() usersync.Format  { return g.t.format() }

// readOrgs reads orgs.csv: each org is a group, named after it, in the
// group of its parent org.
func (b *bundle) readOrgs(r io.Reader, f usersync.FileInfo) (usersync.RecordReader, error) {
	t, err := openTable(r, f, b.m.opts.MaxRecordBytes, "sourcedId", "name", "type")
	if err != nil {
		return nil, err
	}
	b.orgs = make(map[string]bool)
	g := &groupReader{t: t, delta: b.modes["orgs"] == delta}
	type pending struct {
		line       int
		id, parent string
	}
	var parents []pending
	g.row = func() *usersync.RowError {
		id, deleted, rerr := t.sourced(g.delta)
		if rerr != nil {
			return rerr
		}
		if b.orgs[id] {
			return t.rowError("sourcedId", id, id, fmt.Errorf("%w: org %s appears twice", ErrBadValue, id))
		}
		if deleted {
			t.skip++
			return nil
		}
		if rerr := t.require(id, "name", "type"); rerr != nil {
			return rerr
		}
		if typ := t.get("type"); !oneOf(typ, orgTypes) {
			return t.rowError("type", typ, id, fmt.Errorf("%w: type is one of %s", ErrBadValue, strings.Join(orgTypes, ", ")))
		}
		b.orgs[id] = true
		parent := t.get("parentSourcedId")
		grp := usersync.Group{ID: b.m.opts.OrgPrefix + id, Name: t.get("name")}
		if parent != "" {
			grp.Parent = b.m.opts.OrgPrefix + parent
			parents = append(parents, pending{t.line, id, parent})
		}
		g.groups = append(g.groups, grp)
		return nil
	}
	g.end = func() []*usersync.RowError {
		if !b.bulk("orgs") {
			return nil // a parent may be an org of an earlier bundle
		}
		var errs []*usersync.RowError
		for _, p := range parents {
			if !b.orgs[p.parent] {
				errs = append(errs, &usersync.RowError{File: f.Name, Line: p.line, Column: "parentSourcedId", Value: p.parent, Key: p.id,
					Err: fmt.Errorf("%w: no org %s in %s", ErrUnknownReference, p.parent, f.Name)})
			}
		}
		return errs
	}
	return g, nil
}

// readClasses reads classes.csv: each class is a group named after its
// title, in the group of its school.
func (b *bundle) readClasses(r io.Reader, f usersync.FileInfo) (usersync.RecordReader, error) {
	t, err := openTable(r, f, b.m.opts.MaxRecordBytes, "sourcedId", "title", "schoolSourcedId")
	if err != nil {
		return nil, err
	}
	b.classes = make(map[uint64]struct{})
	b.orgGroups = make(map[string]string)
	g := &groupReader{t: t, delta: b.modes["classes"] == delta}
	checkSchool := b.bulk("orgs")
	g.row = func() *usersync.RowError {
		id, deleted, rerr := t.sourced(g.delta)
		if rerr != nil {
			return rerr
		}
		h := b.hash(id)
		if _, dup := b.classes[h]; dup {
			return t.rowError("sourcedId", id, id, fmt.Errorf("%w: class %s appears twice", ErrBadValue, id))
		}
		if deleted {
			t.skip++
			return nil
		}
		if rerr := t.require(id, "title", "schoolSourcedId"); rerr != nil {
			return rerr
		}
		if typ := t.get("classType"); typ != "" && !oneOf(typ, classTypes) {
			return t.rowError("classType", typ, id, fmt.Errorf("%w: classType is homeroom or scheduled", ErrBadValue))
		}
		school := t.get("schoolSourcedId")
		if checkSchool && !b.orgs[school] {
			return t.rowError("schoolSourcedId", school, id, fmt.Errorf("%w: no org %s in %s", ErrUnknownReference, school, b.listed["orgs"]))
		}
		if b.m.opts.ClassPrefix == b.m.opts.OrgPrefix && b.orgs[id] {
			return t.rowError("sourcedId", id, id, fmt.Errorf("%w: class %s has the sourcedId of an org, and they would be one group: set ClassPrefix", ErrBadValue, id))
		}
		b.classes[h] = struct{}{}
		// The group's ID and name in one string of their own: the row's
		// values are parts of its line, which they would keep whole.
		gid := b.m.opts.ClassPrefix + id
		text := gid + t.get("title")
		parent, ok := b.orgGroups[school]
		if !ok {
			parent = b.m.opts.OrgPrefix + strings.Clone(school)
			b.orgGroups[strings.Clone(school)] = parent
		}
		g.groups = append(g.groups, usersync.Group{ID: text[:len(gid)], Name: text[len(gid):], Parent: parent})
		return nil
	}
	return g, nil
}

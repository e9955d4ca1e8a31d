package oneroster

import (
	"fmt"
	"io"
	"strings"

	"github.com/usersync/usersync"
)

// An enrollmentsReader reads enrollments.csv: each enrollment is a
// membership of the user in the class's group, returned as a fragment
// record (see usersync.Record.Fragment) that the Pipeline merges into the
// user's record.
type enrollmentsReader struct {
	b                               *bundle
	t                               *table
	delta                           bool
	checkClass, checkOrg, checkUser bool
}

func (b *bundle) readEnrollments(r io.Reader, f usersync.FileInfo) (usersync.RecordReader, error) {
	t, err := openTable(r, f, b.m.opts.MaxRecordBytes, "sourcedId", "classSourcedId", "schoolSourcedId", "userSourcedId", "role")
	if err != nil {
		return nil, err
	}
	return &enrollmentsReader{b: b, t: t, delta: b.modes["enrollments"] == delta,
		checkClass: b.bulk("classes"), checkOrg: b.bulk("orgs"), checkUser: b.bulk("users")}, nil
}

func (e *enrollmentsReader) Format() usersync.Format { return e.t.format() }

// Part reports that a file of enrollments holds no users of its own, so
// that one whose every enrollment is out of scope still counts.
func (e *enrollmentsReader) Part() bool { return true }

func (e *enrollmentsReader) Read() (usersync.Record, error) {
	for {
		if err := e.t.next(); err != nil {
			if err == io.EOF {
				e.b.forget()
			}
			return usersync.Record{}, err
		}
		rec, ok, rerr := e.row()
		if rerr != nil {
			return usersync.Record{}, rerr
		}
		if ok {
			return rec, nil
		}
	}
}

func (e *enrollmentsReader) row() (usersync.Record, bool, *usersync.RowError) {
	t, b := e.t, e.b
	id := t.get("sourcedId")
	if rerr := t.require(id, "sourcedId", "classSourcedId", "userSourcedId"); rerr != nil {
		return usersync.Record{}, false, rerr
	}
	if rerr := t.checkText(id); rerr != nil {
		return usersync.Record{}, false, rerr
	}
	deleted, rerr := t.status(id, e.delta)
	if rerr != nil {
		return usersync.Record{}, false, rerr
	}
	if deleted {
		t.skip++
		return usersync.Record{}, false, nil
	}
	if rerr := t.require(id, "schoolSourcedId", "role"); rerr != nil {
		return usersync.Record{}, false, rerr
	}
	if role := t.get("role"); !oneOf(role, enrollmentRoles) {
		return usersync.Record{}, false, t.rowError("role", role, id, fmt.Errorf("%w: an enrollment's role is one of %s", ErrUnknownRole, strings.Join(enrollmentRoles, ", ")))
	}
	class := t.get("classSourcedId")
	if _, known := b.classes[b.hash(class)]; !known && e.checkClass {
		return usersync.Record{}, false, t.rowError("classSourcedId", class, id, fmt.Errorf("%w: no class %s in %s", ErrUnknownReference, class, b.listed["classes"]))
	}
	gid := b.m.opts.ClassPrefix + class
	if school := t.get("schoolSourcedId"); e.checkOrg && !b.orgs[school] {
		return usersync.Record{}, false, t.rowError("schoolSourcedId", school, id, fmt.Errorf("%w: no org %s in %s", ErrUnknownReference, school, b.listed["orgs"]))
	}
	user := t.get("userSourcedId")
	key := user
	u, found := b.users.find(b.hash(user))
	switch {
	case found && !u.in:
		t.skip++ // the user is out of scope, or rejected
		return usersync.Record{}, false, nil
	case found:
		if k := b.users.key(u); k != "" {
			key = k
		}
	case e.checkUser:
		return usersync.Record{}, false, t.rowError("userSourcedId", user, id, fmt.Errorf("%w: no user %s in %s", ErrUnknownReference, user, b.listed["users"]))
	case b.m.opts.Key != "sourcedId":
		return usersync.Record{}, false, t.rowError("userSourcedId", user, id, fmt.Errorf("%w: user %s is not in this bundle's %s, and the sync keys users by %s", ErrUnknownReference, user, b.listed["users"], b.m.opts.Key))
	}
	return usersync.Record{Key: key, Groups: []string{gid}, Fragment: true, Origin: usersync.Position{File: t.file, Line: t.line}}, true, nil
}

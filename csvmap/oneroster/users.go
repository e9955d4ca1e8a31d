package oneroster

import (
	"fmt"
	"hash/maphash"
	"io"
	"net/mail"
	"slices"
	"strings"

	"github.com/usersync/usersync"
)

// Roles of users: users.csv's role in 1.0 and 1.1, roles.csv's in 1.2.
var (
	userRoles11 = []string{"administrator", "aide", "guardian", "parent", "proctor", "relative", "student", "teacher"}
	userRoles12 = []string{"aide", "counselor", "districtAdministrator", "guardian", "parent", "principal", "proctor",
		"relative", "siteAdministrator", "student", "systemAdministrator", "teacher"}
	enrollmentRoles = []string{"administrator", "proctor", "student", "teacher"}
)

// An attr is a user attribute and the users.csv column it comes from.
type attr struct{ name, column string }

// userAttrs are the attributes of a user record, in layout order: those
// whose column the file has (name and role always, when known).
var userAttrs = []attr{
	{"username", "username"},
	{"email", "email"},
	{"given_name", "givenName"},
	{"family_name", "familyName"},
	{"middle_name", "middleName"},
	{"preferred_given_name", "preferredGivenName"},   // 1.2
	{"preferred_family_name", "preferredFamilyName"}, // 1.2
	{"name", ""},                                     // givenName familyName
	{"identifier", "identifier"},
	{"role", ""}, // users.csv (1.1) or roles.csv (1.2)
	{"grades", "grades"},
	{"phone", "phone"},
	{"sms", "sms"},
}

// AttrNames returns the names of the attributes a user record may hold, for
// Options.Attrs and reconcile's policy.
func AttrNames() []string {
	names := make([]string, len(userAttrs))
	for i, a := range userAttrs {
		names[i] = a.name
	}
	return names
}

// A usersReader reads users.csv.
type usersReader struct {
	b       *bundle
	t       *table
	delta   bool
	shapes  map[string]*shape // by role
	vals    []string
	groups  bool // the records carry memberships
	orgs    bool // ... in their orgs
	check   bool // orgs.csv is bulk: references are checked
	tail    []*usersync.RowError
	done    bool
	orgGIDs map[string]string // org sourcedId -> group ID, shared
}

var _ interface {
	usersync.FormatReader
} = (*usersReader)(nil)

func (b *bundle) readUsers(r io.Reader, f usersync.FileInfo) (usersync.RecordReader, error) {
	required := []string{"sourcedId", "username", "givenName", "familyName"}
	if b.version != "1.0" {
		required = append(required, "enabledUser")
	}
	if b.version != "1.2" {
		required = append(required, "role", "orgSourcedIds")
	}
	if b.m.opts.Key != "sourcedId" && !slices.Contains(required, b.m.opts.Key) {
		required = append(required, b.m.opts.Key)
	}
	t, err := openTable(r, f, b.m.opts.MaxRecordBytes, required...)
	if err != nil {
		return nil, err
	}
	u := &usersReader{b: b, t: t, delta: b.modes["users"] == delta, check: b.bulk("orgs"), orgGIDs: make(map[string]string)}
	u.orgs = !b.m.opts.NoOrgMemberships
	u.groups = !u.delta && (u.orgs || (!b.m.opts.NoEnrollments && b.listed["enrollments"] != ""))
	u.vals = make([]string, 0, len(userAttrs))
	u.shapes = make(map[string]*shape)
	return u, nil
}

func (u *usersReader) Format() usersync.Format { return u.t.format() }

func (u *usersReader) Read() (usersync.Record, error) {
	for !u.done {
		err := u.t.next()
		if err == io.EOF {
			u.done = true
			u.tail = u.b.unusedRoles()
			if !u.b.readsEnrollments() {
				u.b.forget()
			}
			break
		}
		if err != nil {
			return usersync.Record{}, err
		}
		rec, ok, rerr := u.row()
		if rerr != nil {
			// The user is in the file, though its row is rejected: its
			// roles and enrollments refer to a user, and are skipped.
			if id := u.t.get("sourcedId"); id != "" {
				h := maphash.String(u.b.seed, id)
				if u.b.version == "1.2" {
					u.b.roles.lookup(h)
				}
				u.b.users.add(h, "", false)
			}
			return usersync.Record{}, rerr
		}
		if ok {
			return rec, nil
		}
	}
	if len(u.tail) > 0 {
		rerr := u.tail[0]
		u.tail = u.tail[1:]
		return usersync.Record{}, rerr
	}
	return usersync.Record{}, io.EOF
}

// row maps the current row: a record, or ok false for a row left out on
// purpose (out of scope, or deleted in a bulk file).
func (u *usersReader) row() (rec usersync.Record, ok bool, rerr *usersync.RowError) {
	t, b := u.t, u.b
	id := t.get("sourcedId")
	if rerr := t.require(id, "sourcedId"); rerr != nil {
		return rec, false, rerr
	}
	if rerr := t.checkText(id); rerr != nil {
		return rec, false, rerr
	}
	h := maphash.String(b.seed, id)
	deleted, rerr := t.status(id, u.delta)
	if rerr != nil {
		return rec, false, rerr
	}
	key := t.get(b.m.opts.Key)
	if b.m.opts.Key == "email" {
		key = strings.ToLower(key)
	}
	if key == "" {
		return rec, false, t.rowError(b.m.opts.Key, "", id, ErrRequired)
	}
	if deleted && !u.delta {
		// A bulk file lists the users that exist: one to be deleted is
		// treated as one the file leaves out.
		u.index(h, key, false)
		t.skip++
		return rec, false, nil
	}
	rec = usersync.Record{Key: key, Origin: usersync.Position{File: t.file, Line: t.line}}
	if deleted {
		// A delta row that deletes: its other fields may be empty, and
		// are not written.
		rec.Inactive = true
		u.index(h, key, true)
		return rec, true, nil
	}
	if rerr := t.require(key, "username", "givenName", "familyName"); rerr != nil {
		return rec, false, rerr
	}
	enabled := strings.ToLower(t.get("enabledUser"))
	switch {
	case enabled == "true", enabled == "" && b.version == "1.0":
	case enabled == "false":
		rec.Inactive = true
	case enabled == "":
		return rec, false, t.rowError("enabledUser", "", key, ErrRequired)
	default:
		return rec, false, t.rowError("enabledUser", t.get("enabledUser"), key, fmt.Errorf("%w: enabledUser is true or false", ErrBadValue))
	}
	role, orgs, rerr := u.roleAndOrgs(h, key)
	if rerr != nil {
		return rec, false, rerr
	}
	if b.m.roles != nil && !b.m.roles[role] {
		u.index(h, key, false)
		t.skip++
		return rec, false, nil
	}
	sh := u.shape(role)
	vals := u.vals[:0]
	for _, a := range sh.attrs {
		var v string
		switch a.name {
		case "name":
			v = strings.TrimSpace(t.get("givenName") + " " + t.get("familyName"))
		case "role":
			v = role
		case "email":
			v = t.get("email")
			if v != "" {
				addr, err := mail.ParseAddress(v)
				if err != nil || addr.Name != "" || addr.Address != v {
					return rec, false, t.rowError("email", v, key, fmt.Errorf("%w: not an email address", ErrBadValue))
				}
				if at := strings.LastIndexByte(v, '@'); at >= 0 {
					v = v[:at] + strings.ToLower(v[at:])
				}
			}
		default:
			v = t.get(a.column)
		}
		vals = append(vals, v)
	}
	rec.Attrs = sh.layout.Make(vals)
	if u.groups {
		rec.Groups = []string{}
		if u.orgs {
			for _, o := range orgs {
				rec.Groups = append(rec.Groups, u.orgGroup(o))
			}
			slices.Sort(rec.Groups)
			rec.Groups = slices.Compact(rec.Groups)
		}
	}
	u.index(h, key, true)
	return rec, true, nil
}

// A shape is the attributes of the users of one role, and their layout.
type shape struct {
	attrs  []attr
	layout *usersync.Layout
}

// shape returns the attributes of a user of the role: Options.RoleAttrs's
// for it, else Options.Attrs, of those whose column the file has; no role
// when it is not known (a 1.2 delta whose roles.csv does not say).
func (u *usersReader) shape(role string) *shape {
	if sh, ok := u.shapes[role]; ok {
		return sh
	}
	want := u.b.m.opts.Attrs
	if ra, ok := u.b.m.opts.RoleAttrs[role]; ok {
		want = ra
	}
	sh := &shape{}
	var names []string
	for _, a := range userAttrs {
		switch {
		case want != nil && !slices.Contains(want, a.name):
		case a.column != "" && !u.t.has(a.column):
		case a.name == "role" && role == "":
		default:
			sh.attrs = append(sh.attrs, a)
			names = append(names, a.name)
		}
	}
	sh.layout = usersync.NewLayout(names...)
	u.shapes[role] = sh
	return sh
}

// index remembers the user for enrollments.csv.
func (u *usersReader) index(h uint64, key string, in bool) {
	if u.b.m.opts.Key == "sourcedId" {
		key = "" // enrollments name it
	}
	u.b.users.add(h, key, in)
}

// roleAndOrgs returns the user's role and orgs, from users.csv (1.0, 1.1)
// or roles.csv (1.2), checking them.
func (u *usersReader) roleAndOrgs(h uint64, key string) (string, []string, *usersync.RowError) {
	t, b := u.t, u.b
	if b.version != "1.2" {
		role := t.get("role")
		if role == "" {
			return "", nil, t.rowError("role", "", key, ErrRequired)
		}
		if !oneOf(role, userRoles11) {
			return "", nil, t.rowError("role", role, key, fmt.Errorf("%w: %s is not a role of OneRoster %s (%s)", ErrUnknownRole, role, b.version, strings.Join(userRoles11, ", ")))
		}
		ids := t.get("orgSourcedIds")
		if ids == "" {
			return "", nil, t.rowError("orgSourcedIds", "", key, ErrRequired)
		}
		var orgs []string
		for _, o := range strings.Split(ids, ",") {
			if o = strings.TrimSpace(o); o == "" {
				continue
			}
			if u.check && !b.orgs[o] {
				return "", nil, t.rowError("orgSourcedIds", o, key, fmt.Errorf("%w: no org %s in %s", ErrUnknownReference, o, b.listed["orgs"]))
			}
			orgs = append(orgs, o)
		}
		return role, orgs, nil
	}
	var role string
	var orgs []string
	if ents := b.roles.lookup(h); len(ents) > 0 {
		role = b.roles.role(ents)
		for _, e := range ents {
			orgs = append(orgs, b.roles.orgs[e.org])
		}
	} else if b.bulk("roles") {
		return "", nil, t.rowError("sourcedId", t.get("sourcedId"), key, fmt.Errorf("%w: the user has no role in %s", ErrRequired, b.listed["roles"]))
	}
	if p := t.get("primaryOrgSourcedId"); p != "" {
		if u.check && !b.orgs[p] {
			return "", nil, t.rowError("primaryOrgSourcedId", p, key, fmt.Errorf("%w: no org %s in %s", ErrUnknownReference, p, b.listed["orgs"]))
		}
		orgs = append(orgs, p)
	}
	return role, orgs, nil
}

// orgGroup returns the group ID of an org, one string for all its users.
func (u *usersReader) orgGroup(id string) string {
	g, ok := u.orgGIDs[id]
	if !ok {
		g = u.b.m.opts.OrgPrefix + id
		u.orgGIDs[id] = g
	}
	return g
}

// unusedRoles rejects the rows of roles.csv whose user users.csv does not
// hold, once users.csv has been read, when both files are bulk.
func (b *bundle) unusedRoles() []*usersync.RowError {
	if b.version != "1.2" || !b.bulk("roles") || !b.bulk("users") {
		return nil
	}
	var errs []*usersync.RowError
	for _, line := range b.roles.unused() {
		errs = append(errs, &usersync.RowError{File: b.listed["roles"], Line: line, Column: "userSourcedId",
			Err: fmt.Errorf("%w: no user with this sourcedId in %s", ErrUnknownReference, b.listed["users"])})
	}
	return errs
}

// readRoles reads roles.csv (1.2): the role of each user in each org, kept
// for users.csv.
func (b *bundle) readRoles(r io.Reader, f usersync.FileInfo) (usersync.RecordReader, error) {
	t, err := openTable(r, f, b.m.opts.MaxRecordBytes, "sourcedId", "userSourcedId", "roleType", "role", "orgSourcedId")
	if err != nil {
		return nil, err
	}
	if b.seed == (maphash.Seed{}) {
		b.seed = maphash.MakeSeed()
	}
	g := &groupReader{t: t, delta: b.modes["roles"] == delta}
	check := b.bulk("orgs")
	g.row = func() *usersync.RowError {
		id := t.get("sourcedId")
		if rerr := t.require(id, "sourcedId", "userSourcedId"); rerr != nil {
			return rerr
		}
		deleted, rerr := t.status(id, g.delta)
		if rerr != nil {
			return rerr
		}
		if deleted {
			t.skip++
			return nil
		}
		if rerr := t.require(id, "roleType", "role", "orgSourcedId"); rerr != nil {
			return rerr
		}
		typ := t.get("roleType")
		if typ != "primary" && typ != "secondary" {
			return t.rowError("roleType", typ, id, fmt.Errorf("%w: roleType is primary or secondary", ErrBadValue))
		}
		role := t.get("role")
		if !oneOf(role, userRoles12) {
			return t.rowError("role", role, id, fmt.Errorf("%w: %s is not a role of OneRoster 1.2 (%s)", ErrUnknownRole, role, strings.Join(userRoles12, ", ")))
		}
		org := t.get("orgSourcedId")
		if check && !b.orgs[org] {
			return t.rowError("orgSourcedId", org, id, fmt.Errorf("%w: no org %s in %s", ErrUnknownReference, org, b.listed["orgs"]))
		}
		b.roles.add(maphash.String(b.seed, t.get("userSourcedId")), t.line, org, role, typ == "primary")
		return nil
	}
	return g, nil
}

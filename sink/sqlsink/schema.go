package sqlsink

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// DefaultPrefix starts the default table names: usersync_users,
// usersync_groups, and so on.
const DefaultPrefix = "usersync_"

// Tables names the tables and columns a Sink uses. Every empty field takes
// its default: the table names are Prefix followed by "users", "groups",
// "memberships", "state", "locks" and "migrations", and the column names are
// the ones the field documentation gives.
//
// A name may be qualified with a schema ("app.users"); each part must be a
// plain identifier (letters, digits, _ and $, not starting with a digit).
// Names are quoted in every statement, so they are used exactly as given,
// case included.
type Tables struct {
	// Prefix starts the default table names; empty means DefaultPrefix.
	Prefix      string
	Users       UsersTable
	Groups      GroupsTable
	Memberships MembershipsTable
	// State holds the usersync.Store of [Sink.Store]: columns tenant, key,
	// value.
	State string
	// Locks holds the per-tenant sync locks of [Sink.Lock]: columns
	// tenant, holder, token, since, expires.
	Locks string
	// Invites queues the invitations of [Sink.PendingInvites]: columns
	// tenant, key, since.
	Invites string
	// Migrations records the schema versions applied: columns version,
	// description, applied_at.
	Migrations string
}

// UsersTable names the users table and its columns.
type UsersTable struct {
	Table    string // Prefix + "users"
	ID       string // "id": an integer primary key the database assigns
	Tenant   string // "tenant": text, the Options.Tenant of the rows' Sink
	Key      string // "key": text, usersync.Record.Key, unique per tenant
	Inactive string // "inactive": boolean
	Managed  string // "managed": boolean, true for users the sync created or adopted
	// MissingRuns and MissingSince hold usersync.Record's missing marker:
	// "missing_runs" and "missing_since", integers, 0 when not missing.
	MissingRuns, MissingSince string
	// Attrs is a JSON column holding the attributes that have no column of
	// their own, as an object of strings: "attrs" by default, or "-" for
	// none, in which case every attribute written needs an entry in
	// Columns.
	Attrs string
	// Columns maps attribute names to text columns of their own, such as
	// "email" to a host's existing email column. NULL in such a column
	// means the user lacks the attribute.
	Columns map[string]string
}

// GroupsTable names the groups table and its columns.
type GroupsTable struct {
	Table  string // Prefix + "groups"
	ID     string // "id": an integer primary key the database assigns
	Tenant string // "tenant"
	// ExtID is the external group ID, usersync.Group.ID: "ext_id". Groups
	// where it is NULL were made by hand: they are never listed, and
	// memberships in them are never touched.
	ExtID string
	Name  string // "name": the display name
	// Parent and Account hold usersync.Group's Parent and Account, the
	// external IDs of the group's parent and account: "parent" and
	// "account", text, NULL for none.
	Parent, Account string
}

// MembershipsTable names the memberships table and its columns.
type MembershipsTable struct {
	Table string // Prefix + "memberships"
	User  string // "user_id": the users table's ID
	Group string // "group_id": the groups table's ID
}

// noAttrs is the UsersTable.Attrs value for "no JSON column".
const noAttrs = "-"

// names is Tables with defaults filled in and every name quoted.
type names struct {
	users, groups, members, state, locks, invites, migrations string // tables
	// unquoted table names, for index names and catalog lookups
	usersRaw, membersRaw string

	uID, uTenant, uKey, uInactive, uManaged, uAttrs string // users columns; uAttrs "" for none
	uMissingRuns, uMissingSince                     string
	gID, gTenant, gExtID, gName                     string
	gParent, gAccount                               string
	mUser, mGroup                                   string
	// The digest columns of the users table, which the Sink owns: see
	// the package doc's "Digests" section.
	uAttrsDigest, uGroupsDigest, uRev, uDigestRev string
	// writes is the SQLite table that holds a row while a Sink writes, so
	// that the drift triggers know the write is the library's.
	writes string
	// attrCols lists the attributes with columns of their own, sorted by
	// attribute name, with their quoted columns.
	attrCols []attrCol
}

type attrCol struct{ attr, col string }

// resolve fills in defaults, validates and quotes t.
func (t Tables) resolve() (*names, error) {
	p := cmp.Or(t.Prefix, DefaultPrefix)
	n := &names{}
	v := &validator{}
	n.users = v.name(t.Users.Table, p+"users")
	n.usersRaw = cmp.Or(t.Users.Table, p+"users")
	n.groups = v.name(t.Groups.Table, p+"groups")
	n.members = v.name(t.Memberships.Table, p+"memberships")
	n.membersRaw = cmp.Or(t.Memberships.Table, p+"memberships")
	n.state = v.name(t.State, p+"state")
	n.locks = v.name(t.Locks, p+"locks")
	n.invites = v.name(t.Invites, p+"invites")
	n.migrations = v.name(t.Migrations, p+"migrations")

	u := t.Users
	n.uID, n.uTenant, n.uKey = v.name(u.ID, "id"), v.name(u.Tenant, "tenant"), v.name(u.Key, "key")
	n.uInactive, n.uManaged = v.name(u.Inactive, "inactive"), v.name(u.Managed, "managed")
	n.uMissingRuns, n.uMissingSince = v.name(u.MissingRuns, "missing_runs"), v.name(u.MissingSince, "missing_since")
	if u.Attrs != noAttrs {
		n.uAttrs = v.name(u.Attrs, "attrs")
	}
	g := t.Groups
	n.gID, n.gTenant, n.gExtID, n.gName = v.name(g.ID, "id"), v.name(g.Tenant, "tenant"), v.name(g.ExtID, "ext_id"), v.name(g.Name, "name")
	n.gParent, n.gAccount = v.name(g.Parent, "parent"), v.name(g.Account, "account")
	m := t.Memberships
	n.mUser, n.mGroup = v.name(m.User, "user_id"), v.name(m.Group, "group_id")
	n.uAttrsDigest, n.uGroupsDigest = `"usersync_attrs_digest"`, `"usersync_groups_digest"`
	n.uRev, n.uDigestRev = `"usersync_rev"`, `"usersync_digest_rev"`
	n.writes = derivedName(n.usersRaw, "_usersync_writes")

	for _, a := range slices.Sorted(maps.Keys(u.Columns)) {
		if a == "" {
			v.err = errors.New("sqlsink: UsersTable.Columns maps an empty attribute name")
		}
		n.attrCols = append(n.attrCols, attrCol{a, v.name(u.Columns[a], "")})
	}
	if v.err != nil {
		return nil, v.err
	}
	return n, nil
}

// attrIndex returns the index in attrCols of attribute a, or -1.
func (n *names) attrIndex(a string) int {
	i, ok := slices.BinarySearchFunc(n.attrCols, a, func(c attrCol, a string) int { return cmp.Compare(c.attr, a) })
	if !ok {
		return -1
	}
	return i
}

// validator quotes names, keeping the first error.
type validator struct{ err error }

// name returns s, or def if s is empty, quoted; it records an error if the
// result is not a valid, possibly schema-qualified, identifier.
func (v *validator) name(s, def string) string {
	s = cmp.Or(s, def)
	parts := strings.Split(s, ".")
	for i, p := range parts {
		if !validIdent(p) {
			if v.err == nil {
				v.err = fmt.Errorf("sqlsink: %q is not a valid table or column name", s)
			}
			return ""
		}
		parts[i] = `"` + p + `"`
	}
	return strings.Join(parts, ".")
}

// validIdent reports whether s is a plain SQL identifier. Restricting names
// to these keeps quoting trivial and statements free of injected SQL.
func validIdent(s string) bool {
	if s == "" || len(s) > 63 || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// A Migration is one version of the schema: the statements that take a
// database from the version before it to this one.
type Migration struct {
	Version     int
	Description string
	Statements  []string
}

// Migrations returns the schema's migrations for the dialect and the table
// names of opts, oldest first, for a host that applies them with its own
// tool and sets Options.NoMigrate. [New] applies them itself otherwise,
// recording each version in the migrations table.
func Migrations(d Dialect, opts *Options) ([]Migration, error) {
	dl, err := d.impl()
	if err != nil {
		return nil, err
	}
	n, err := opts.tables().resolve()
	if err != nil {
		return nil, err
	}
	return migrations(dl, n), nil
}

// migrations lists the schema's versions. A new field of usersync.Record
// that a Sink must keep becomes a new version that adds its column; a
// version, once released, never changes.
func migrations(d dialect, n *names) []Migration {
	id, js, blob := d.idType(), d.jsonType(), d.blobType()
	attrs := ""
	if n.uAttrs != "" {
		attrs = fmt.Sprintf("%s %s NOT NULL DEFAULT '{}',\n  ", n.uAttrs, js)
	}
	var cols strings.Builder
	for _, c := range n.attrCols {
		fmt.Fprintf(&cols, "%s TEXT,\n  ", c.col)
	}
	return []Migration{{
		Version:     1,
		Description: "users, groups, memberships, state and locks",
		Statements: []string{
			fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
  %s %s,
  %s TEXT NOT NULL,
  %s TEXT NOT NULL,
  %s%s%s BOOLEAN NOT NULL DEFAULT FALSE,
  %s BOOLEAN NOT NULL DEFAULT FALSE,
  UNIQUE (%s, %s)
)`, n.users, n.uID, id, n.uTenant, n.uKey, attrs, cols.String(), n.uInactive, n.uManaged, n.uTenant, n.uKey),
			// Listing streams a tenant's users in ID order.
			fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (%s, %s)`, indexName(n.usersRaw, "tenant_id"), n.users, n.uTenant, n.uID),
			fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
  %s %s,
  %s TEXT NOT NULL,
  %s TEXT,
  %s TEXT NOT NULL,
  UNIQUE (%s, %s)
)`, n.groups, n.gID, id, n.gTenant, n.gExtID, n.gName, n.gTenant, n.gExtID),
			fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
  %s BIGINT NOT NULL REFERENCES %s (%s),
  %s BIGINT NOT NULL REFERENCES %s (%s),
  PRIMARY KEY (%s, %s)
)%s`, n.members, n.mUser, n.users, n.uID, n.mGroup, n.groups, n.gID, n.mUser, n.mGroup, d.withoutRowID()),
			fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (%s, %s)`, indexName(n.membersRaw, "group"), n.members, n.mGroup, n.mUser),
			fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
  "tenant" TEXT NOT NULL,
  "key" %s NOT NULL,
  "value" %s NOT NULL,
  PRIMARY KEY ("tenant", "key")
)%s`, n.state, blob, blob, d.withoutRowID()),
			fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
  "tenant" TEXT NOT NULL PRIMARY KEY,
  "holder" TEXT NOT NULL,
  "token" TEXT NOT NULL,
  "since" BIGINT NOT NULL,
  "expires" BIGINT NOT NULL
)`, n.locks),
		},
	}, {
		Version:     2,
		Description: "missing marker and invitations",
		Statements: []string{
			fmt.Sprintf(`ALTER TABLE %s ADD COLUMN %s INTEGER NOT NULL DEFAULT 0`, n.users, n.uMissingRuns),
			fmt.Sprintf(`ALTER TABLE %s ADD COLUMN %s BIGINT NOT NULL DEFAULT 0`, n.users, n.uMissingSince),
			fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
  "tenant" TEXT NOT NULL,
  "key" TEXT NOT NULL,
  "since" BIGINT NOT NULL,
  PRIMARY KEY ("tenant", "key")
)%s`, n.invites, d.withoutRowID()),
		},
	}, {
		Version:     3,
		Description: "digests of users, kept by the library and invalidated by triggers on changes made by hand",
		Statements:  d.digestSchema(n),
	}, {
		Version:     4,
		Description: "groups' parent and account",
		Statements: []string{
			fmt.Sprintf(`ALTER TABLE %s ADD COLUMN %s TEXT`, n.groups, n.gParent),
			fmt.Sprintf(`ALTER TABLE %s ADD COLUMN %s TEXT`, n.groups, n.gAccount),
		},
	}, {
		Version:     5,
		Description: "memberships checked a statement at a time, on PostgreSQL",
		Statements:  d.membershipChecks(n),
	}}
}

// dataColumns lists the users columns whose change by hand changes a user
// as the Sink lists it: the drift triggers watch them.
func (n *names) dataColumns() []string {
	cols := []string{n.uTenant, n.uKey}
	if n.uAttrs != "" {
		cols = append(cols, n.uAttrs)
	}
	for _, c := range n.attrCols {
		cols = append(cols, c.col)
	}
	return append(cols, n.uInactive, n.uManaged, n.uMissingRuns, n.uMissingSince)
}

// derivedName returns the quoted name of an object beside the table named
// raw, in its schema: raw with suffix appended.
func derivedName(raw, suffix string) string {
	return `"` + strings.ReplaceAll(raw, ".", `"."`) + suffix + `"`
}

// indexName names an index of the table named raw: the table's own name
// (without its schema, where PostgreSQL creates the index anyway) and a
// suffix, quoted.
func indexName(raw, suffix string) string {
	return `"` + raw[strings.LastIndexByte(raw, '.')+1:] + "_" + suffix + `"`
}

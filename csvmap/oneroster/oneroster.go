package oneroster

import (
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/usersync/usersync"
)

// Errors, for errors.Is. Row errors are *usersync.RowError values that
// wrap one of them and name the file, line and column.
var (
	// ErrManifest fails a bundle whose manifest.csv is malformed or
	// disagrees with the files delivered: a file it marks absent is
	// there, or one it marks bulk or delta is not.
	ErrManifest = errors.New("manifest")
	// ErrMode fails a bundle whose manifest says delta when the sync runs
	// in bulk (Options.Delta unset), or bulk when it runs in delta: the
	// Reconciler's mode must follow the bundle's, or a delta file would
	// deactivate everyone it leaves out.
	ErrMode = errors.New("bundle mode differs from the sync's")
	// ErrRequired rejects a row without a value the specification requires,
	// and fails a file without a required column.
	ErrRequired = errors.New("required value missing")
	// ErrBadValue rejects a row with a value the specification does not
	// allow, such as an enabledUser that is not true or false.
	ErrBadValue = errors.New("invalid value")
	// ErrUnknownRole rejects a row whose role is not one of the version's
	// roles (or an extension, "ext:" and a name).
	ErrUnknownRole = errors.New("unknown role")
	// ErrUnknownReference rejects a row that refers to a record another
	// file of the bundle should hold and does not: a class's school
	// missing from orgs.csv, an enrollment's class or user.
	ErrUnknownReference = errors.New("unknown reference")
	// ErrNotBegun is returned by Mapper.NewReader: a bundle's files are
	// read together, by the Mapper that Begin returns.
	ErrNotBegun = errors.New("oneroster: a bundle is read with the Mapper that Begin returns (the Pipeline calls it)")
)

// Options tune a Mapper. A nil *Options means the defaults.
type Options struct {
	// Key names the users.csv column whose value is the user's key:
	// "sourcedId" (the default, stable across renames), "username",
	// "email" or "identifier". Enrollments still refer to users by
	// sourcedId; the Mapper looks their keys up.
	Key string
	// Roles lists the user roles to sync, such as [StaffRoles]; nil means
	// every role. Users with another role are out of scope: counted as
	// skipped, never rejected, and their enrollments are skipped too. A
	// user synced before who moves out of scope is treated like one who
	// left (the Reconciler's absent-user policy).
	Roles []string
	// Delta says the sync runs in delta mode (reconcile.Policy.Mode set to
	// Delta). A bundle whose manifest disagrees fails with ErrMode.
	Delta bool
	// Attrs lists the user attributes to map, of [AttrNames]; nil means
	// all of them whose column the file has.
	Attrs []string
	// RoleAttrs gives the users of a role attributes of their own, in
	// place of Attrs: students' and staff's records need not hold the
	// same, such as {"student": {"name", "grades"}}.
	RoleAttrs map[string][]string
	// NoOrgMemberships leaves users out of the groups of their orgs
	// (users.csv orgSourcedIds in 1.1, roles.csv and primaryOrgSourcedId
	// in 1.2); by default a user is a member of each.
	NoOrgMemberships bool
	// NoEnrollments leaves enrollments.csv unread: users are not made
	// members of their classes.
	NoEnrollments bool
	// OrgPrefix and ClassPrefix are put before the sourcedIds of orgs and
	// classes to make their group IDs, for a system whose orgs and classes
	// may share an ID (both numbered from 1): "org:", "class:".
	OrgPrefix, ClassPrefix string
	// MaxRecordBytes bounds a row in bytes; a longer one, or a file without
	// line breaks, fails the file before it is held in memory. 0 means
	// DefaultMaxRecordBytes.
	MaxRecordBytes int
}

// DefaultMaxRecordBytes bounds a row when Options.MaxRecordBytes is 0.
const DefaultMaxRecordBytes = 1 << 20

// Keys are the users.csv columns Options.Key may name.
var Keys = []string{"sourcedId", "username", "email", "identifier"}

// StaffRoles are the roles of school staff in OneRoster 1.1 and 1.2, for
// Options.Roles: a sync of staff only.
func StaffRoles() []string {
	return []string{"administrator", "aide", "counselor", "districtAdministrator", "principal", "proctor", "siteAdministrator", "systemAdministrator", "teacher"}
}

// StudentRoles are the roles of students, for Options.Roles.
func StudentRoles() []string { return []string{"student"} }

// A Mapper reads OneRoster CSV bundles, 1.0, 1.1 and 1.2, in bulk or delta
// mode. It is a usersync.BundleMapper: the Pipeline begins each run with it,
// which reads manifest.csv first, then orgs.csv, classes.csv, roles.csv
// (1.2), users.csv and enrollments.csv, then the bundle's other files
// (courses, academic sessions, ...), which it reads to their end and
// otherwise leaves alone.
//
// A Mapper is immutable and safe for concurrent use; the state of a run
// lives in the Mapper that Begin returns.
type Mapper struct {
	opts  Options
	roles map[string]bool // nil: every role
}

var _ usersync.BundleMapper = (*Mapper)(nil)

// New returns a Mapper with the options. It checks that Key names a column
// of Keys.
func New(opts *Options) (*Mapper, error) {
	m := &Mapper{}
	if opts != nil {
		m.opts = *opts
	}
	if m.opts.Key == "" {
		m.opts.Key = "sourcedId"
	}
	if !slices.Contains(Keys, m.opts.Key) {
		return nil, fmt.Errorf("oneroster: Key %q is not one of %s", m.opts.Key, strings.Join(Keys, ", "))
	}
	for _, a := range m.opts.Attrs {
		if !slices.Contains(AttrNames(), a) {
			return nil, fmt.Errorf("oneroster: Attrs: %q is not one of %s", a, strings.Join(AttrNames(), ", "))
		}
	}
	for role, attrs := range m.opts.RoleAttrs {
		for _, a := range attrs {
			if !slices.Contains(AttrNames(), a) {
				return nil, fmt.Errorf("oneroster: RoleAttrs[%s]: %q is not one of %s", role, a, strings.Join(AttrNames(), ", "))
			}
		}
	}
	if m.opts.Roles != nil {
		m.roles = make(map[string]bool, len(m.opts.Roles))
		for _, r := range m.opts.Roles {
			m.roles[r] = true
		}
	}
	if m.opts.MaxRecordBytes <= 0 {
		m.opts.MaxRecordBytes = DefaultMaxRecordBytes
	}
	return m, nil
}

// NewReader fails with ErrNotBegun: see Begin.
func (m *Mapper) NewReader(_ io.Reader, f usersync.FileInfo) (usersync.RecordReader, error) {
	return nil, fmt.Errorf("%s: %w", f.Name, ErrNotBegun)
}

// Begin starts a run over the files of one bundle. Every file must be a
// file of the specification (manifest.csv, users.csv, ..., in any case,
// in one folder or none), and manifest.csv must be among them; it returns
// them in the order the Mapper reads them, and the Mapper of this run.
func (m *Mapper) Begin(files []usersync.FileInfo) ([]usersync.FileInfo, usersync.Mapper, error) {
	b := &bundle{m: m, listed: make(map[string]string, len(files)), seed: maphash.MakeSeed()}
	type placed struct {
		f    usersync.FileInfo
		rank int
	}
	order := make([]placed, 0, len(files))
	dir := ""
	if len(files) == 1 && strings.HasSuffix(strings.ToLower(files[0].Name), ".zip") {
		// The bundle is in the zip: a Pipeline's Unpacker opens it and
		// begins m again with the zip's files, in their folder.
		return files, m, nil
	}
	for i, f := range files {
		name, ok := specName(f.Name)
		if !ok && strings.HasSuffix(strings.ToLower(f.Name), ".zip") {
			return nil, nil, fmt.Errorf("%w: %s is a zip among other files: one run reads one bundle, a zip alone or a folder of its files", ErrManifest, f.Name)
		}
		if !ok {
			return nil, nil, fmt.Errorf("%w: %s is not a file of a OneRoster bundle", ErrManifest, f.Name)
		}
		if prev, dup := b.listed[name]; dup {
			return nil, nil, fmt.Errorf("%w: %s and %s are the same file of the bundle", ErrManifest, prev, f.Name)
		}
		if d := path.Dir(f.Name); i == 0 {
			dir = d
		} else if d != dir {
			return nil, nil, fmt.Errorf("%w: %s and %s are in different folders: one run reads one bundle", ErrManifest, files[0].Name, f.Name)
		}
		b.listed[name] = f.Name
		order = append(order, placed{f, readRank(name)})
	}
	if _, ok := b.listed["manifest"]; !ok {
		return nil, nil, fmt.Errorf("%w: no manifest.csv among the files (%d of them)", ErrManifest, len(files))
	}
	slices.SortStableFunc(order, func(a, b placed) int { return a.rank - b.rank })
	out := make([]usersync.FileInfo, len(order))
	for i := range order {
		out[i] = order[i].f
	}
	return out, b, nil
}

// knownFiles maps the lower-cased base names of the specification's files
// (1.1 and 1.2) to their names in the manifest's file.<name> properties.
var knownFiles = func() map[string]string {
	m := map[string]string{"manifest.csv": "manifest"}
	for _, n := range []string{
		"academicSessions", "categories", "classes", "classResources", "courses", "courseResources",
		"demographics", "enrollments", "lineItems", "orgs", "resources", "results", "users",
		// 1.2
		"roles", "userProfiles", "userResources", "scoreScales", "lineItemLearningObjectiveIds",
		"lineItemScoreScales", "resultLearningObjectiveIds", "resultScoreScales",
	} {
		m[strings.ToLower(n)+".csv"] = n
	}
	return m
}()

// specName returns the specification's name of a file of the bundle
// ("users" for users.csv, Users.CSV, 2025/users.csv.pgp or users.csv.gz: a
// Decryptor or Unpacker passes the plaintext on under the delivered name).
func specName(file string) (string, bool) {
	base := strings.ToLower(path.Base(file))
	for {
		trimmed := base
		for _, suffix := range []string{".pgp", ".gpg", ".asc", ".gz"} {
			trimmed = strings.TrimSuffix(trimmed, suffix)
		}
		if trimmed == base {
			break
		}
		base = trimmed
	}
	name, ok := knownFiles[base]
	return name, ok
}

// readOrder is the order the Mapper reads files in: each after the files
// it refers to. Others come after, in the Source's order.
var readOrder = []string{"manifest", "orgs", "classes", "roles", "users", "enrollments"}

func readRank(name string) int {
	if i := slices.Index(readOrder, name); i >= 0 {
		return i
	}
	return len(readOrder)
}

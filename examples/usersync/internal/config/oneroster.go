package config

import (
	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap/oneroster"
	"github.com/usersync/usersync/reconcile"
)

// delta reports whether the policy reads delta files.
func (p *Policy) delta() bool { return p.Mode.V == reconcile.Delta }

// OneRoster reads the files as one OneRoster CSV bundle (1.0, 1.1 or 1.2):
// manifest.csv, orgs.csv, classes.csv, users.csv, enrollments.csv, ...;
// see package csvmap/oneroster. The bundle's mode must be the policy's:
// policy.mode delta reads delta bundles, and snapshot bulk ones.
type OneRoster struct {
	// Key is the users.csv column that keys users: sourcedId (the
	// default), username, email or identifier.
	Key string `yaml:"key"`
	// Roles are the user roles to sync; staff and students stand for
	// their roles. Empty: every role.
	Roles []string `yaml:"roles"`
	// Attrs are the user attributes to map; empty: all of them.
	Attrs []string `yaml:"attrs"`
	// RoleAttrs gives the users of a role attributes of their own, in
	// place of Attrs, such as student: [name, grades].
	RoleAttrs map[string][]string `yaml:"role_attrs"`
	// OrgMemberships makes users members of their orgs' groups (true by
	// default).
	OrgMemberships *bool `yaml:"org_memberships"`
	// Enrollments makes users members of their classes' groups (true by
	// default).
	Enrollments *bool `yaml:"enrollments"`
	// OrgPrefix and ClassPrefix prefix the group IDs of orgs and classes,
	// for systems whose orgs and classes may share an ID.
	OrgPrefix   string `yaml:"org_prefix"`
	ClassPrefix string `yaml:"class_prefix"`
}

// buildOneRoster makes the Mapper of mapping.oneroster.
func (m *Mapping) buildOneRoster(c *checker) usersync.Mapper {
	if m.isSet() || len(m.Routes) > 0 {
		c.errorf("mapping.oneroster", "a OneRoster bundle is read by its own rules: give no preset, columns or routes beside oneroster")
		return nil
	}
	o := m.OneRoster
	opts := &oneroster.Options{
		Key: o.Key, Attrs: o.Attrs, RoleAttrs: o.RoleAttrs, Delta: m.delta,
		NoOrgMemberships: o.OrgMemberships != nil && !*o.OrgMemberships,
		NoEnrollments:    o.Enrollments != nil && !*o.Enrollments,
		OrgPrefix:        o.OrgPrefix, ClassPrefix: o.ClassPrefix,
		MaxRecordBytes: int(m.MaxRecordSize),
	}
	for _, r := range o.Roles {
		switch r {
		case "staff":
			opts.Roles = append(opts.Roles, oneroster.StaffRoles()...)
		case "students":
			opts.Roles = append(opts.Roles, oneroster.StudentRoles()...)
		default:
			opts.Roles = append(opts.Roles, r)
		}
	}
	mp, err := oneroster.New(opts)
	if err != nil {
		c.fail("mapping.oneroster", trimPrefix(err, "oneroster: "))
		return nil
	}
	return mp
}

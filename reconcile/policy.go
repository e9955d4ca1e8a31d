package reconcile

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/usersync/usersync"
)

// Policy is what a Reconciler may do. It is plain data: a host builds it
// from its own settings. The zero Policy is the safe default:
//
//   - the files are a full snapshot: managed users missing from all of them
//     are deactivated at once, and come back with RestoreUser if a later
//     file lists them again;
//   - users match by key, then by email address (ignoring case); a row
//     whose email matches a user created by hand adopts that user;
//   - every attribute the feed maps is written, and an empty value clears
//     it; groups the feed names are created; new users are invited
//     manually;
//   - a plan is held for approval if it would deactivate or delete more
//     than 10% of the managed users (once there are 50 of them) or more
//     than 500, or update more than 75% of them.
type Policy struct {
	// Mode says whether the files list every user (Snapshot, the zero
	// value) or only the users that changed (Delta).
	Mode Mode
	// MatchKeys are the keys by which a feed row finds its user in the
	// Sink, in order of precedence; none means [DefaultMatchKeys]. See
	// [MatchKey].
	MatchKeys []MatchKey
	// Attrs says, per attribute name, when the feed's value is written.
	// Attributes not listed are written whenever they differ, and an empty
	// value clears them (Cosafe's rule for the secondary phone number).
	// Either way, only attributes the feed maps are compared and written.
	Attrs map[string]AttrRule
	// Absent is what happens to managed users missing from a full feed,
	// once the Grace period is over.
	Absent Absent
	// Grace delays Absent; the zero Grace applies it at once.
	Grace Grace
	// Accounts links files to accounts (Cosafe: "one CSV file per
	// account"). When it is empty, the run's files are parts of one
	// snapshot, and a key on two rows, in one file or in two, rejects both.
	// See [Account].
	Accounts []Account
	// NoCreateGroups stops the sync from creating groups: a group the feed
	// names that the Sink does not hold is left out of the user's
	// memberships, with a warning on the row. By default such groups are
	// created, named as Feed.Groups names them, or after their ID.
	NoCreateGroups bool
	// Invite says how users the sync creates or adopts are invited; the
	// Sink receives it with each CreateUser and AdoptUser.
	Invite usersync.Invite
	// Manager says which attribute names a user's manager; see [Manager].
	Manager Manager
	// RemoveGuard limits deactivations plus deletions in one plan: by
	// default 10% of the managed users (from 50 of them) or 500.
	RemoveGuard Guard
	// UpdateGuard limits updates plus restores: by default 75% of the
	// managed users (from 50 of them), Clever's figure, and no absolute
	// limit.
	UpdateGuard Guard
	// CreateGuard limits creates plus adoptions. It is off unless Percent
	// or Max is set; its MinPopulation defaults to 50.
	CreateGuard Guard
	// MaxWarnings bounds Plan.Warnings, which keeps the first rows;
	// Plan.WarningsTotal counts them all. 0 means DefaultMaxWarnings.
	MaxWarnings int
}

// DefaultMaxWarnings is the number of warnings a plan lists by default.
const DefaultMaxWarnings = 1000

// Mode says what the files of a run are.
type Mode uint8

// The modes.
const (
	// Snapshot files list every user: managed users missing from all of
	// them are absent, and Policy.Absent applies.
	Snapshot Mode = iota
	// Delta files list the users that changed only, with a status column:
	// users they leave out are left alone; a row marked inactive is a
	// leaver, deactivated, or deleted if Policy.Absent is Delete.
	Delta
)

// String returns "snapshot" or "delta".
func (m Mode) String() string {
	switch m {
	case Snapshot:
		return "snapshot"
	case Delta:
		return "delta"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// A MatchKey is a value that tells who a user is, in the feed and in the
// Sink alike.
//
// The Reconciler matches feed rows and Sink users by the first key; rows
// and users left over are matched by the second, and so on. A user found by
// a later key whose Key differs gets the feed's Key (Change.OldKey tells
// the Sink the old one): an employee number that changed is a key change,
// not a user deleted and another created. Empty values never match, and a
// value that two leftover rows share, or two leftover users, matches
// nobody (with a warning on the rows).
type MatchKey struct {
	// Attr names the attribute; "" means the record's Key.
	Attr string
	// IgnoreCase compares the values without regard to case, as email
	// addresses should be compared.
	IgnoreCase bool
	// Adopt lets a match on this key take over a user created by hand
	// (Cosafe's rule for email addresses): the row and the user agree on
	// it. Without an agreeing Adopt key, a user created by hand that a row
	// matches is left alone, and the row creates nobody.
	Adopt bool
}

// DefaultMatchKeys returns the match keys of the zero Policy: the record's
// Key, then the "email" attribute, ignoring case, which adopts users
// created by hand.
func DefaultMatchKeys() []MatchKey {
	return []MatchKey{{}, {Attr: "email", IgnoreCase: true, Adopt: true}}
}

// value returns r's value of the key, folded if the key ignores case.
func (k *MatchKey) value(r *usersync.Record) string {
	v := r.Key
	if k.Attr != "" {
		v = r.Attrs.Value(k.Attr)
	}
	if k.IgnoreCase {
		v = strings.ToLower(v) // returns v itself when it has no upper case
	}
	return v
}

// String names the key for messages: "key" or the attribute.
func (k *MatchKey) String() string {
	if k.Attr == "" {
		return "key"
	}
	return k.Attr
}

// Write says when the feed's value of an attribute is written.
type Write uint8

// When attributes are written.
const (
	// Always writes the value when a user is created or adopted, and
	// whenever it differs from the Sink's.
	Always Write = iota
	// OnCreate writes the value when a user is created or adopted only:
	// the product owns it from then on (a display name users may edit).
	OnCreate
	// Never writes the value at all: the feed maps the attribute for
	// matching or for managers only.
	Never
)

// String returns "always", "on create" or "never".
func (w Write) String() string {
	switch w {
	case Always:
		return "always"
	case OnCreate:
		return "on create"
	case Never:
		return "never"
	}
	return fmt.Sprintf("Write(%d)", uint8(w))
}

// An AttrRule says what the sync may do with one attribute.
type AttrRule struct {
	Write Write
	// KeepEmpty keeps the Sink's value when the feed's is empty, where by
	// default an empty value clears it.
	KeepEmpty bool
}

// Absent says what happens to a managed user who is missing from the feed.
type Absent uint8

// What to do with managed users missing from the feed. The zero value,
// Deactivate, is the safe default: a user dropped by mistake keeps their
// data and comes back with RestoreUser when the next file lists them again.
const (
	Deactivate Absent = iota // deactivate, keep the user
	Delete                   // delete the user
	Ignore                   // leave the user as they are
)

// String returns "deactivate", "delete" or "ignore".
func (a Absent) String() string {
	switch a {
	case Deactivate:
		return "deactivate"
	case Delete:
		return "delete"
	case Ignore:
		return "ignore"
	}
	return fmt.Sprintf("Absent(%d)", uint8(a))
}

// Grace is how long a managed user may be missing from full feeds before
// Policy.Absent applies: for more than Runs runs in a row, and for at least
// For; when both are set, both must have passed. While it lasts, the user is
// kept as is, with a missing marker in the Sink (MarkMissing), and a user
// who comes back is restored with the same identity (RestoreUser). The zero
// Grace applies Absent at once.
//
// Runs count the runs that applied a plan: a held plan or a dry run
// changes no marker.
type Grace struct {
	Runs int
	For  time.Duration
	// Deactivate deactivates a user as soon as they go missing, rather
	// than when the grace period ends: with Absent set to Delete, a leaver
	// is deactivated at once and deleted once the grace period is over.
	Deactivate bool
}

func (g Grace) on() bool { return g.Runs > 0 || g.For > 0 }

// An Account links the files whose names match File to an account: a group
// of the Sink, such as Cosafe's sub-accounts, each fed by its own file.
//
// With accounts, a user may be in several files: their rows are one user
// in each of those accounts (the first file in name order gives the
// attributes, and a warning says when another differs). A user missing
// from an account's file leaves that account only, and is absent only when
// missing from every file. An account whose file did not arrive is left as
// it is: its members are neither removed nor absent.
type Account struct {
	// File is a path.Match pattern for the account's files, such as
	// "acme-akron.csv" or "akron-*.csv". The first Account whose pattern
	// matches a file's name takes it; a file no Account takes fails the
	// run.
	File string
	// Group is the external ID of the account's group.
	Group string
	// Name is the group's display name: the sync creates the group with
	// it, and renames the group to it. "" means the ID, and no renaming.
	Name string
}

// A Manager says which attribute holds a reference to a user's manager,
// and what the reference is. A reference that matches a user, in the feed
// or in the Sink, is written like any attribute (Sinks resolve it as they
// please); one that matches nobody is not written, and the row gets a
// warning (SMARTFENSE's rule). A plan creates a manager before the users
// who report to them; a user whose manager is created only after them
// (in a cycle of references, reporting to themselves, or more than 64
// levels below the top) gets their manager from an UpdateUser once
// every user is created.
type Manager struct {
	// Attr names the attribute, such as "manager"; "" turns managers off.
	Attr string
	// By says what the reference holds: the manager's key (the zero
	// MatchKey) or another attribute, such as {Attr: "email",
	// IgnoreCase: true}. Adopt does not apply.
	By MatchKey
}

// A Guard holds a plan for an administrator's approval when it would change
// too many users at once: more than Max of them, or more than Percent of the
// managed population when that population is at least MinPopulation.
//
// Each zero field takes the guard's default, which Policy gives for each
// guard; a negative Percent or Max turns that limit off, and Disabled turns
// the whole guard off.
type Guard struct {
	Percent       float64
	Max           int
	MinPopulation int
	Disabled      bool
}

// Defaults of the guards, after Clever's 10% and 75% and Entra Connect's
// 500.
const (
	DefaultGuardPercent       = 10
	DefaultGuardMax           = 500
	DefaultGuardMinPopulation = 50
	DefaultUpdateGuardPercent = 75
)

// guardDefaults are one guard's defaults; a negative limit is off.
type guardDefaults struct {
	percent float64
	max     int
}

var (
	removeDefaults = guardDefaults{DefaultGuardPercent, DefaultGuardMax}
	updateDefaults = guardDefaults{DefaultUpdateGuardPercent, -1}
	createDefaults = guardDefaults{-1, -1}
)

// check returns a GuardError if count changes out of population break the
// guard.
func (g Guard) check(what string, count, population int, def guardDefaults) *usersync.GuardError {
	if g.Disabled || count == 0 {
		return nil
	}
	trip := func(limit string) *usersync.GuardError {
		return &usersync.GuardError{Guard: what, Count: count, Population: population, Limit: limit}
	}
	if max := orDefault(g.Max, def.max); max >= 0 && count > max {
		return trip(fmt.Sprint(max))
	}
	pct := g.Percent
	if pct == 0 {
		pct = def.percent
	}
	minPop := orDefault(g.MinPopulation, DefaultGuardMinPopulation)
	if pct >= 0 && population >= minPop {
		if limit := pct / 100 * float64(population); float64(count) > limit {
			return trip(fmt.Sprintf("%g%% of %d (%d)", pct, population, int(limit)))
		}
	}
	return nil
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Validate reports what is wrong with the policy, naming the field. A
// Reconciler with an invalid policy fails every Reconcile with this error;
// a host can call Validate when it builds the policy from its settings.
func (p *Policy) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("reconcile: Policy."+format, args...))
	}
	if p.Mode > Delta {
		bad("Mode: unknown %v", p.Mode)
	}
	if p.Absent > Ignore {
		bad("Absent: unknown %v", p.Absent)
	}
	if p.Grace.Runs < 0 || p.Grace.For < 0 {
		bad("Grace: negative Runs or For")
	}
	if p.Invite > usersync.InviteAuto {
		bad("Invite: unknown %v", p.Invite)
	}
	seen := map[string]bool{}
	for i, k := range p.MatchKeys {
		if seen[k.Attr] {
			bad("MatchKeys[%d]: %s is a match key twice", i, k.String())
		}
		seen[k.Attr] = true
	}
	for name, r := range p.Attrs {
		if r.Write > Never {
			bad("Attrs[%q]: unknown %v", name, r.Write)
		}
	}
	for i, a := range p.Accounts {
		if a.Group == "" {
			bad("Accounts[%d]: no Group", i)
		}
		if _, err := path.Match(a.File, ""); err != nil || a.File == "" {
			bad("Accounts[%d]: File %q is not a pattern", i, a.File)
		}
	}
	if p.MaxWarnings < 0 {
		bad("MaxWarnings: negative")
	}
	return errors.Join(errs...)
}

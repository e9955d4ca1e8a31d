package usersync

import (
	"fmt"
	"slices"
)

// A Record is one user: as a feed wants it (from a Mapper) or as a Sink holds
// it (from a [Lister]).
//
// Records are compact on purpose: a run over a directory of a million users
// holds a million of them. Their strings are shared with the row they came
// from wherever possible; treat a Record's slices as read-only.
type Record struct {
	// Key is the user's stable identity in the feed, such as an employee
	// number or Cosafe's UniqueID. Reconcilers match feed and Sink on it.
	Key string
	// Attrs holds the attributes the feed manages (name, email, title, ...).
	Attrs Attrs
	// Groups lists the external IDs of the groups the user belongs to,
	// sorted and without duplicates. In a feed record, nil means the feed
	// says nothing about groups (its file has no groups column), so
	// memberships are left as they are; an empty, non-nil slice means the
	// user is in no group.
	Groups []string
	// Inactive marks a user that should exist but be deactivated (a status
	// column said so), or, from a Sink, one that is deactivated. The zero
	// value is an active user.
	Inactive bool
	// Managed is set on Sink records that the sync created or adopted.
	// Users created by hand are not Managed, and reconcilers never change,
	// deactivate or delete them.
	Managed bool
	// MissingRuns and MissingSince mark a managed Sink user that full feeds
	// have left out: the number of runs in a row that found the user
	// missing, and when the first of them started, in Unix seconds. A
	// reconciler uses them to wait out a grace period before it deactivates
	// or deletes the user. Both are zero for a user who is not missing, and
	// in feed records. Sinks store them as [MarkMissing] sets them, and
	// clear them on [RestoreUser] and [CreateUser].
	//
	// Unix seconds rather than a time.Time keep a Record small: a run holds
	// a million of them.
	MissingRuns  uint16
	MissingSince int64
	// Fragment marks a feed record that is not a user but a part of one: a
	// row of a memberships file. A fragment adds its Groups, and nothing
	// else, to the record with the same Key that another file of the same
	// run holds; its Attrs and Inactive are ignored. [Feed.Sorted] merges
	// fragments into their users and never yields them, and [Feed.Len]
	// does not count them. The Pipeline rejects a fragment whose user no
	// file of the run holds, or that names a group a groups file of the run
	// does not list (see [GroupReader]). Sink records are never fragments.
	Fragment bool
	// Origin is the file and line the record was read from; zero for Sink
	// records.
	Origin Position
}

// Missing reports whether the record carries a missing marker.
func (r *Record) Missing() bool { return r.MissingRuns > 0 || r.MissingSince != 0 }

// HasGroup reports whether r lists the group ID.
func (r *Record) HasGroup(id string) bool {
	_, found := slices.BinarySearch(r.Groups, id)
	return found
}

// A Position is a line in a file, for messages an administrator can act on.
type Position struct {
	File string // file name as the Source lists it
	Line int    // 1-based line number; 0 if unknown
}

// String formats the position as file:line.
func (p Position) String() string {
	switch {
	case p.File == "" && p.Line == 0:
		return "-"
	case p.Line == 0:
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// A Group is a group of users in the Sink that the sync manages. The sync
// only knows groups by their external ID (Cosafe's "Group ID"); groups
// created by hand without one are not listed and never touched, and neither
// are memberships in them.
//
// Parent and Account are optional, and empty unless a groups file (or a
// Sink that stores them) says otherwise.
type Group struct {
	ID   string `json:"id"`             // external Group ID, as the feed's Groups column holds it
	Name string `json:"name,omitempty"` // display name; the ID for groups the sync created
	// Parent is the external ID of the group this one is nested in, as a
	// groups file's parent column holds it; empty for a top-level group.
	// Groups form a tree: a Sink stores the link, it does not make members
	// of a group members of its parent.
	Parent string `json:"parent,omitempty"`
	// Account is the external ID of the account group the group belongs
	// to, in feeds that serve several accounts (such as schools of one
	// district: see reconcile.Policy.Accounts); empty otherwise.
	Account string `json:"account,omitempty"`
}

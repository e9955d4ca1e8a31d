package usersync

import (
	"encoding/json"
	"fmt"
)

// ChangeKind says what a [Change] does.
type ChangeKind uint8

// The kinds of change, in the order a [Plan] applies them: groups exist
// before users join them, and users are created before anyone is removed.
const (
	CreateGroup    ChangeKind = iota + 1 // a group the feed refers to is created
	CreateUser                           // a user new to the Sink is created
	RestoreUser                          // a deactivated user is active again (and updated)
	UpdateUser                           // attributes or memberships of a user change
	DeactivateUser                       // a user is deactivated (and updated)
	DeleteUser                           // a user is deleted
)

var changeKindNames = [...]string{
	CreateGroup:    "create-group",
	CreateUser:     "create",
	RestoreUser:    "restore",
	UpdateUser:     "update",
	DeactivateUser: "deactivate",
	DeleteUser:     "delete",
}

// String returns the kind's name: "create", "update", "create-group", ...
func (k ChangeKind) String() string {
	if int(k) < len(changeKindNames) && changeKindNames[k] != "" {
		return changeKindNames[k]
	}
	return fmt.Sprintf("ChangeKind(%d)", uint8(k))
}

// MarshalText encodes the kind by name.
func (k ChangeKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText decodes a kind name written by MarshalText.
func (k *ChangeKind) UnmarshalText(b []byte) error {
	for i, n := range changeKindNames {
		if n != "" && n == string(b) {
			*k = ChangeKind(i)
			return nil
		}
	}
	return fmt.Errorf("usersync: unknown change kind %q", b)
}

// A Change is one step of a [Plan]. Sinks must apply changes idempotently:
// applying a change that is already in effect succeeds and does nothing.
type Change struct {
	Kind ChangeKind
	// User is the desired user for CreateUser, UpdateUser and RestoreUser
	// (and for DeactivateUser when the feed itself marks the user inactive),
	// and the user as the Sink last held it for DeleteUser and for
	// DeactivateUser of a user missing from the feed.
	User Record `json:",omitzero"`
	// Group is the group to create, for CreateGroup.
	Group Group `json:",omitzero"`
	// Attrs names the attributes of User to write, for UpdateUser,
	// RestoreUser and DeactivateUser; the Sink keeps every other attribute.
	// CreateUser writes all of User.Attrs.
	Attrs []string `json:",omitempty"`
	// Join and Leave list the group IDs the user joins and leaves.
	Join  []string `json:",omitempty"`
	Leave []string `json:",omitempty"`
}

// String describes the change in one line, for logs.
func (c Change) String() string {
	if c.Kind == CreateGroup {
		return fmt.Sprintf("%s %s", c.Kind, c.Group.ID)
	}
	return fmt.Sprintf("%s %s", c.Kind, c.User.Key)
}

// A Plan is the complete list of changes that turns the Sink's current state
// into the state the feed describes. Plans are computed in full before
// anything is applied.
type Plan struct {
	// Changes in the order they must be applied.
	Changes []Change
	// Unchanged counts feed users that matched a managed user and needed
	// no change.
	Unchanged int
	// Manual counts feed users whose key matched a user created by hand;
	// they are left alone.
	Manual int
	// Population is the number of active managed users in the Sink before
	// the plan, the base for percentage guards.
	Population int
	// Rejected lists rows the Reconciler refused, such as two rows with the
	// same key; the Pipeline adds them to the run's rejected rows.
	Rejected []*RowError `json:"-"`
	// Hold is non-nil when a safety guard tripped: the plan must not be
	// applied until an administrator approves it. It wraps ErrGuardTripped.
	Hold error `json:"-"`
}

// Counts returns the number of changes of each kind in the plan, with
// Unchanged filled in.
func (p *Plan) Counts() Counts {
	c := Counts{Unchanged: p.Unchanged}
	for i := range p.Changes {
		c.add(p.Changes[i].Kind)
	}
	return c
}

// Counts tallies changes by kind.
type Counts struct {
	GroupsCreated int `json:"groups_created"`
	Created       int `json:"created"`
	Restored      int `json:"restored"`
	Updated       int `json:"updated"`
	Deactivated   int `json:"deactivated"`
	Deleted       int `json:"deleted"`
	Unchanged     int `json:"unchanged"`
}

func (c *Counts) add(k ChangeKind) {
	switch k {
	case CreateGroup:
		c.GroupsCreated++
	case CreateUser:
		c.Created++
	case RestoreUser:
		c.Restored++
	case UpdateUser:
		c.Updated++
	case DeactivateUser:
		c.Deactivated++
	case DeleteUser:
		c.Deleted++
	}
}

// Total returns the number of changes counted (Unchanged is not a change).
func (c Counts) Total() int {
	return c.GroupsCreated + c.Created + c.Restored + c.Updated + c.Deactivated + c.Deleted
}

// recordJSON is Record's wire form; Origin is kept so plans say where a
// change came from.
type recordJSON struct {
	Key      string   `json:"key"`
	Attrs    Attrs    `json:"attrs,omitzero"`
	Groups   []string `json:"groups,omitempty"`
	Inactive bool     `json:"inactive,omitempty"`
	Managed  bool     `json:"managed,omitempty"`
	File     string   `json:"file,omitempty"`
	Line     int      `json:"line,omitempty"`
}

// MarshalJSON encodes the record with lower-case field names.
func (r Record) MarshalJSON() ([]byte, error) {
	return json.Marshal(recordJSON{r.Key, r.Attrs, r.Groups, r.Inactive, r.Managed, r.Origin.File, r.Origin.Line})
}

// UnmarshalJSON decodes a record written by MarshalJSON.
func (r *Record) UnmarshalJSON(b []byte) error {
	var j recordJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Record{j.Key, j.Attrs, j.Groups, j.Inactive, j.Managed, Position{j.File, j.Line}}
	return nil
}

// IsZero reports whether the record is the zero Record, for omitzero.
func (r Record) IsZero() bool {
	return r.Key == "" && r.Attrs.Len() == 0 && r.Groups == nil && !r.Inactive && !r.Managed && r.Origin == Position{}
}

package usersync

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ChangeKind says what a [Change] does.
type ChangeKind uint8

// The kinds of change. A [Plan] lists group changes before user changes;
// Plan.Changes says in which order.
//
// What a Sink does for each kind, beyond what [Change] and [Sink] say of all
// of them:
//
//   - CreateGroup creates the group, or renames it if it exists.
//   - RenameGroup sets the name of a group the Sink holds; a group it does not
//     hold fails with [ErrNotFound].
//   - A Sink that stores a group's Parent and Account (see [GroupLinker])
//     sets them from Change.Group on CreateGroup and RenameGroup; others
//     ignore them.
//   - CreateUser creates the user, or updates it if it exists: it sets every
//     attribute of Change.User, its Inactive flag and its missing marker,
//     and marks it Managed.
//   - AdoptUser takes over a user created by hand: it writes the attributes
//     Change.Attrs names, takes Inactive from Change.User, clears the missing
//     marker, and marks the user Managed, re-keying it first if Change.OldKey
//     is set. A user the Sink does not hold fails with [ErrNotFound].
//   - UpdateUser writes the attributes Change.Attrs names; RestoreUser does
//     the same, reactivates the user and clears its missing marker;
//     DeactivateUser does the same and deactivates the user, and succeeds if
//     the user does not exist. UpdateUser and RestoreUser of a user the Sink
//     does not hold fail with [ErrNotFound].
//   - DeleteUser deletes the user, and succeeds if it does not exist.
//   - MarkMissing sets the user's missing marker ([Record.MissingRuns] and
//     [Record.MissingSince]) to Change.User's, zero values clearing it, and
//     changes nothing else; it succeeds if the user does not exist.
const (
	CreateGroup    ChangeKind = iota + 1 // a group the feed refers to is created
	CreateUser                           // a user new to the Sink is created
	RestoreUser                          // a deactivated or missing user is back (and updated)
	UpdateUser                           // attributes or memberships of a user change
	DeactivateUser                       // a user is deactivated (and updated)
	DeleteUser                           // a user is deleted
	RenameGroup                          // a managed group takes the name the feed gives it
	AdoptUser                            // a user created by hand is taken over by the sync
	MarkMissing                          // a user's missing marker is set or cleared
)

var changeKindNames = [...]string{
	CreateGroup:    "create-group",
	CreateUser:     "create",
	RestoreUser:    "restore",
	UpdateUser:     "update",
	DeactivateUser: "deactivate",
	DeleteUser:     "delete",
	RenameGroup:    "rename-group",
	AdoptUser:      "adopt",
	MarkMissing:    "mark-missing",
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

// IsGroup reports whether the kind changes a group rather than a user.
func (k ChangeKind) IsGroup() bool { return k == CreateGroup || k == RenameGroup }

// Invite says how a user the sync brings in (CreateUser, AdoptUser) is
// invited to the product. Cosafe, for one, asks each customer which they
// want, and recommends manual invitations for a gradual roll-out.
type Invite uint8

// The ways to invite a new user.
const (
	// InviteManual leaves the invitation to an administrator: the Sink
	// creates the user without sending anything. It is the zero value.
	InviteManual Invite = iota
	// InviteAuto asks the Sink to invite the user as it creates them.
	InviteAuto
)

// String returns "manual" or "auto".
func (i Invite) String() string {
	switch i {
	case InviteManual:
		return "manual"
	case InviteAuto:
		return "auto"
	}
	return fmt.Sprintf("Invite(%d)", uint8(i))
}

// MarshalText encodes the invitation by name.
func (i Invite) MarshalText() ([]byte, error) { return []byte(i.String()), nil }

// UnmarshalText decodes a name written by MarshalText.
func (i *Invite) UnmarshalText(b []byte) error {
	switch string(b) {
	case "manual":
		*i = InviteManual
	case "auto":
		*i = InviteAuto
	default:
		return fmt.Errorf("usersync: unknown invitation %q", b)
	}
	return nil
}

// A Change is one step of a [Plan]. Sinks must apply changes idempotently:
// applying a change that is already in effect succeeds and does nothing.
// The kinds' constants say what each does.
type Change struct {
	Kind ChangeKind `json:"kind"`
	// Invite says how the user is invited, for CreateUser and AdoptUser.
	Invite Invite `json:"invite,omitzero"`
	// User is the desired user for CreateUser, AdoptUser, UpdateUser and
	// RestoreUser (and for DeactivateUser when the feed itself marks the
	// user inactive), and the user as the Sink last held it for DeleteUser,
	// for DeactivateUser of a user missing from the feed, and for
	// MarkMissing, which carries the marker to store.
	User Record `json:"user,omitzero"`
	// Group is the group to create or rename, for CreateGroup and
	// RenameGroup.
	Group Group `json:"group,omitzero"`
	// Attrs names the attributes of User to write, for UpdateUser,
	// AdoptUser, RestoreUser and DeactivateUser; the Sink keeps every other
	// attribute. CreateUser writes all of User.Attrs.
	Attrs []string `json:"attrs,omitempty"`
	// Join and Leave list the group IDs the user joins and leaves.
	Join  []string `json:"join,omitempty"`
	Leave []string `json:"leave,omitempty"`
	// OldKey is the key the Sink holds the user under when the change gives
	// the user another one, User.Key: the feed changed the user's key and
	// another match key (such as the email) found the user, or AdoptUser
	// takes over a user created by hand under a key of the Sink's own. The
	// Sink re-keys that user, keeping its identity and whatever the change
	// does not write. If it holds no user under OldKey but one under
	// User.Key, the change was applied before and applies to that user; if
	// it holds users under both, the change fails. AdoptUser, UpdateUser,
	// RestoreUser and DeactivateUser may carry it.
	OldKey string `json:"old_key,omitempty"`
	// Before holds the Sink's values, before the change, of the attributes
	// it writes, so that a person reviewing the plan sees what changes.
	// Sinks ignore it.
	Before Attrs `json:"before,omitzero"`
	// Reason says why the change is planned when its kind does not, for a
	// person reading the plan: "out of scope: rule contractors" for a user
	// deactivated because a filter now leaves their row out. Sinks ignore
	// it.
	Reason string `json:"reason,omitempty"`
}

// String describes the change in one line, for logs.
func (c Change) String() string {
	switch {
	case c.Kind.IsGroup():
		return fmt.Sprintf("%s %s", c.Kind, c.Group.ID)
	case c.OldKey != "":
		return fmt.Sprintf("%s %s (was %s)", c.Kind, c.User.Key, c.OldKey)
	}
	return fmt.Sprintf("%s %s", c.Kind, c.User.Key)
}

// A Plan is the complete list of changes that turns the Sink's current state
// into the state the feed describes. Plans are computed in full before
// anything is applied.
//
// A Plan can be kept (it encodes to JSON and back), shown to a person, and
// approved: [Pipeline.RunApproved] applies exactly its changes, and only
// while the Sink is in the state the plan was computed from (Fingerprint)
// and the Source offers the same files (Files).
type Plan struct {
	// Changes in the order they must be applied: groups are created and
	// renamed before users join them. The default reconciler then lists
	// the users who take a new key, the users it creates (a manager before
	// the users who report to them), restores, updates, missing markers,
	// deactivations and deletions.
	//
	// A large plan keeps its changes in a temporary file rather than in
	// memory: see [ChangeList].
	Changes ChangeList `json:"changes"`
	// Unchanged counts feed users that matched a managed user and needed
	// no change.
	Unchanged int `json:"unchanged"`
	// Manual counts feed users that matched a user created by hand; they
	// are left alone.
	Manual int `json:"manual"`
	// Population is the number of active managed users in the Sink before
	// the plan, the base for percentage guards.
	Population int `json:"population"`
	// Rejected lists rows the Reconciler refused, such as two rows with the
	// same key; the Pipeline adds them to the run's rejected rows.
	Rejected []*RowError `json:"-"`
	// Warnings lists rows that were used, but not in full: a manager
	// reference that matches no user is left out, say. WarningsTotal counts
	// all of them when a Reconciler lists only the first ones.
	Warnings      []*RowError `json:"-"`
	WarningsTotal int         `json:"warnings_total,omitempty"`
	// Hold is non-nil when a safety guard tripped: the plan must not be
	// applied until an administrator approves it. It wraps ErrGuardTripped,
	// and holds a [GuardError] for each guard that tripped.
	Hold error `json:"-"`
	// Time is when the run that computed the plan started.
	Time time.Time `json:"time,omitzero"`
	// Files lists the files the plan was computed from.
	Files []PlanFile `json:"files,omitempty"`
	// Fingerprint identifies the Sink's state the plan was computed from.
	Fingerprint Fingerprint `json:"fingerprint,omitzero"`
}

// A PlanFile is a file a plan was computed from, by name and content.
type PlanFile struct {
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"` // hex, as FileResult.Hash gives it
	Records  int    `json:"records"`
	Rejected int    `json:"rejected"`
}

// Counts returns the number of changes of each kind in the plan, with
// Unchanged filled in.
func (p *Plan) Counts() Counts {
	c := p.Changes.counts
	c.Unchanged = p.Unchanged
	return c
}

// Counts tallies changes by kind.
type Counts struct {
	GroupsCreated int `json:"groups_created"`
	GroupsRenamed int `json:"groups_renamed"`
	Created       int `json:"created"`
	Adopted       int `json:"adopted"`
	Restored      int `json:"restored"`
	Updated       int `json:"updated"`
	MarkedMissing int `json:"marked_missing"`
	Deactivated   int `json:"deactivated"`
	Deleted       int `json:"deleted"`
	Unchanged     int `json:"unchanged"`
}

func (c *Counts) add(k ChangeKind) {
	switch k {
	case CreateGroup:
		c.GroupsCreated++
	case RenameGroup:
		c.GroupsRenamed++
	case CreateUser:
		c.Created++
	case AdoptUser:
		c.Adopted++
	case RestoreUser:
		c.Restored++
	case UpdateUser:
		c.Updated++
	case MarkMissing:
		c.MarkedMissing++
	case DeactivateUser:
		c.Deactivated++
	case DeleteUser:
		c.Deleted++
	}
}

// addAll adds o's counts to c's.
func (c *Counts) addAll(o Counts) {
	c.GroupsCreated += o.GroupsCreated
	c.GroupsRenamed += o.GroupsRenamed
	c.Created += o.Created
	c.Adopted += o.Adopted
	c.Restored += o.Restored
	c.Updated += o.Updated
	c.MarkedMissing += o.MarkedMissing
	c.Deactivated += o.Deactivated
	c.Deleted += o.Deleted
	c.Unchanged += o.Unchanged
}

// Total returns the number of changes counted (Unchanged is not a change).
func (c Counts) Total() int {
	return c.GroupsCreated + c.GroupsRenamed + c.Created + c.Adopted + c.Restored + c.Updated +
		c.MarkedMissing + c.Deactivated + c.Deleted
}

// recordJSON is Record's wire form; Origin is kept so plans say where a
// change came from.
type recordJSON struct {
	Key          string    `json:"key"`
	Attrs        jsonAttrs `json:"attrs,omitzero"`
	Groups       []string  `json:"groups,omitempty"`
	Inactive     bool      `json:"inactive,omitempty"`
	Managed      bool      `json:"managed,omitempty"`
	MissingRuns  uint16    `json:"missing_runs,omitempty"`
	MissingSince int64     `json:"missing_since,omitempty"`
	File         string    `json:"file,omitempty"`
	Line         int       `json:"line,omitempty"`
}

func (j *recordJSON) record(layouts layoutCache) Record {
	return Record{
		Key: j.Key, Attrs: layouts.attrs(&j.Attrs), Groups: j.Groups, Inactive: j.Inactive, Managed: j.Managed,
		MissingRuns: j.MissingRuns, MissingSince: j.MissingSince, Origin: Position{j.File, j.Line},
	}
}

// MarshalJSON encodes the record with lower-case field names.
func (r Record) MarshalJSON() ([]byte, error) {
	return json.Marshal(recordJSON{
		Key: r.Key, Attrs: jsonAttrs{a: r.Attrs}, Groups: r.Groups, Inactive: r.Inactive, Managed: r.Managed,
		MissingRuns: r.MissingRuns, MissingSince: r.MissingSince, File: r.Origin.File, Line: r.Origin.Line,
	})
}

// UnmarshalJSON decodes a record written by MarshalJSON.
func (r *Record) UnmarshalJSON(b []byte) error {
	var j recordJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = j.record(nil)
	return nil
}

// IsZero reports whether the record is the zero Record, for omitzero.
func (r Record) IsZero() bool {
	return r.Key == "" && r.Attrs.Len() == 0 && r.Groups == nil && !r.Inactive && !r.Managed &&
		!r.Missing() && r.Origin == Position{}
}

// jsonAttrs encodes Attrs in layout order, and decodes them in the same
// order, so that a record read back has the layout it was written with, and
// a decoder of many records can give them shared Layouts.
type jsonAttrs struct {
	a             Attrs
	names, values []string
	set           bool // decoded from an object, even an empty one
}

func (j jsonAttrs) MarshalJSON() ([]byte, error) { return j.a.MarshalJSON() }
func (j jsonAttrs) IsZero() bool                 { return j.a.Len() == 0 && !j.set }

// UnmarshalJSON decodes an object of string values, keeping its order.
func (j *jsonAttrs) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("usersync: attributes: want an object of strings, got %s", b)
	}
	seen := make(map[string]bool)
	for dec.More() {
		var name, value string
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name = t.(string) // object keys are strings
		if err := dec.Decode(&value); err != nil {
			return fmt.Errorf("usersync: attribute %q: %w", name, err)
		}
		if name == "" || seen[name] {
			return fmt.Errorf("usersync: attribute %q is empty or repeated", name)
		}
		seen[name] = true
		j.names, j.values = append(j.names, name), append(j.values, value)
	}
	j.set = true
	return nil
}

// layoutCache gives decoded attributes with the same names one Layout, as a
// Mapper does, so that a plan of a million changes read back from JSON does
// not hold a million Layouts. A nil cache shares nothing.
type layoutCache map[string]*Layout

func (c layoutCache) attrs(j *jsonAttrs) Attrs {
	if len(j.names) == 0 {
		return Attrs{}
	}
	if c == nil {
		return NewLayout(j.names...).Make(j.values)
	}
	id := strings.Join(j.names, "\x00")
	l, ok := c[id]
	if !ok {
		l = NewLayout(j.names...)
		c[id] = l
	}
	return l.Make(j.values)
}

// planJSON is Plan's wire form: the fields with tags, and the errors as
// data.
type planJSON struct {
	planFields
	Hold     []holdJSON     `json:"hold,omitempty"`
	Rejected []rowErrorJSON `json:"rejected,omitempty"`
	Warnings []rowErrorJSON `json:"warnings,omitempty"`
}

// planFields is Plan without its methods, so that encoding it does not
// call Plan.MarshalJSON again.
type planFields Plan

// holdJSON is one guard of a held plan: a GuardError's fields, or the
// message of a hold of another kind.
type holdJSON struct {
	Guard      string `json:"guard,omitempty"`
	Count      int    `json:"count,omitempty"`
	Population int    `json:"population,omitempty"`
	Limit      string `json:"limit,omitempty"`
	Message    string `json:"message,omitempty"`
}

// rowErrorJSON is a RowError's wire form; its reason comes back as text.
type rowErrorJSON struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column string `json:"column,omitempty"`
	Value  string `json:"value,omitempty"`
	Key    string `json:"key,omitempty"`
	Error  string `json:"error"`
	Cell   string `json:"cell,omitempty"`
}

// MarshalJSON encodes the plan with stable, lower-case field names; its
// changes keep their order, and attributes their layout order, so the same
// plan always encodes to the same bytes. Hold, Rejected and Warnings are
// encoded as data.
func (p Plan) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := p.WriteJSON(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// WriteJSON writes the bytes MarshalJSON gives to w, a change at a time,
// so that a plan kept in a file (see [ChangeList]) is never held in memory
// whole.
func (p *Plan) WriteJSON(w io.Writer) error {
	rest := planFields(*p)
	rest.Changes = ChangeList{}
	j := planJSON{planFields: rest, Hold: holdToJSON(p.Hold)}
	j.Rejected = rowErrorsToJSON(p.Rejected)
	j.Warnings = rowErrorsToJSON(p.Warnings)
	fields, err := json.Marshal(j)
	if err != nil {
		return err
	}
	// The changes come first: the rest follows their empty array.
	const head = `{"changes":`
	fields, ok := bytes.CutPrefix(fields, []byte(head+"[]"))
	if !ok {
		return fmt.Errorf("usersync: a plan's JSON starts with %.20q, not %s", fields, head)
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(head)
	if err := p.Changes.writeJSON(bw); err != nil {
		return err
	}
	bw.Write(fields)
	return bw.Flush()
}

// UnmarshalJSON decodes a plan written by MarshalJSON, holding all of its
// changes in memory; [ReadPlan] keeps them within a limit. A decoded Hold
// holds a *GuardError for each guard, and rejected rows and warnings carry
// their reasons as text.
func (p *Plan) UnmarshalJSON(b []byte) error {
	q, err := ReadPlan(bytes.NewReader(b), NewChangeWriter("", 0))
	if err != nil {
		return err
	}
	*p = *q
	return nil
}

// ReadPlan decodes a plan written by [Plan.WriteJSON] or MarshalJSON from
// r, a change at a time, into changes: a plan of a million changes is held
// in memory only as far as the writer's limit, and the rest in its file.
// [Pipeline.ChangeWriter] gives one within a Pipeline's budget, for
// [Pipeline.RunApproved]; a nil writer is a Pipeline's with the defaults.
// Nothing but white space may follow the plan.
func ReadPlan(r io.Reader, changes *ChangeWriter) (*Plan, error) {
	if changes == nil {
		changes = (&Pipeline{}).ChangeWriter()
	}
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	rest := map[string]json.RawMessage{} // the fields besides the changes: small
	seen := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		if !strings.EqualFold(key, "changes") {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, err
			}
			rest[key] = v
			continue
		}
		if seen {
			return nil, errors.New("usersync: a plan with two lists of changes")
		}
		seen = true
		if err := readChanges(dec, changes); err != nil {
			return nil, err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("usersync: more than a plan: %w", cmp.Or(err, errors.New("data after its end")))
	}
	fields, err := json.Marshal(rest)
	if err != nil {
		return nil, err
	}
	var j planJSON
	if err := json.Unmarshal(fields, &j); err != nil {
		return nil, err
	}
	p := Plan(j.planFields)
	if p.Changes, err = changes.List(); err != nil {
		return nil, err
	}
	p.Hold = holdFromJSON(j.Hold)
	p.Rejected = rowErrorsFromJSON(j.Rejected)
	p.Warnings = rowErrorsFromJSON(j.Warnings)
	return &p, nil
}

// readChanges decodes a JSON array of changes, or null, into w.
func readChanges(dec *json.Decoder, w *ChangeWriter) error {
	t, err := dec.Token()
	if err != nil || t == nil {
		return err
	}
	if t != json.Delim('[') {
		return fmt.Errorf("usersync: a plan's changes are %v, not an array", t)
	}
	layouts := layoutCache{}
	for dec.More() {
		var j changeJSON
		if err := dec.Decode(&j); err != nil {
			return err
		}
		c := j.change(layouts)
		if err := w.Write(&c); err != nil {
			return err
		}
	}
	return expectDelim(dec, ']')
}

// expectDelim reads the next token, which must be d.
func expectDelim(dec *json.Decoder, d json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t != d {
		return fmt.Errorf("usersync: not a plan: %v where %v was due", t, d)
	}
	return nil
}

// changeJSON decodes a Change inside a plan, sharing Layouts.
type changeJSON struct {
	Kind   ChangeKind `json:"kind"`
	Invite Invite     `json:"invite"`
	User   recordJSON `json:"user"`
	Group  Group      `json:"group"`
	Attrs  []string   `json:"attrs"`
	Join   []string   `json:"join"`
	Leave  []string   `json:"leave"`
	OldKey string     `json:"old_key"`
	Before jsonAttrs  `json:"before"`
	Reason string     `json:"reason"`
}

func (j *changeJSON) change(layouts layoutCache) Change {
	return Change{
		Kind: j.Kind, Invite: j.Invite, User: j.User.record(layouts), Group: j.Group, Attrs: j.Attrs,
		Join: j.Join, Leave: j.Leave, OldKey: j.OldKey, Before: layouts.attrs(&j.Before), Reason: j.Reason,
	}
}

func holdToJSON(err error) []holdJSON {
	var out []holdJSON
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		case *GuardError:
			out = append(out, holdJSON{Guard: e.Guard, Count: e.Count, Population: e.Population, Limit: e.Limit})
		default:
			out = append(out, holdJSON{Message: e.Error()})
		}
	}
	walk(err)
	return out
}

func holdFromJSON(hs []holdJSON) error {
	errs := make([]error, 0, len(hs))
	for _, h := range hs {
		if h.Message != "" {
			errs = append(errs, heldError(h.Message))
			continue
		}
		errs = append(errs, &GuardError{Guard: h.Guard, Count: h.Count, Population: h.Population, Limit: h.Limit})
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// heldError is a decoded hold that was not a GuardError.
type heldError string

func (e heldError) Error() string { return string(e) }
func (e heldError) Unwrap() error { return ErrGuardTripped }

func rowErrorsToJSON(res []*RowError) []rowErrorJSON {
	out := make([]rowErrorJSON, 0, len(res))
	for _, re := range res {
		out = append(out, rowErrorJSON{re.File, re.Line, re.Column, re.Value, re.Key, errString(re.Err), re.Cell})
	}
	return out
}

func rowErrorsFromJSON(js []rowErrorJSON) []*RowError {
	if len(js) == 0 {
		return nil
	}
	out := make([]*RowError, len(js))
	for i, j := range js {
		out[i] = &RowError{File: j.File, Line: j.Line, Column: j.Column, Value: j.Value, Key: j.Key, Cell: j.Cell, Err: errors.New(j.Error)}
	}
	return out
}

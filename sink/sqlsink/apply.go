package sqlsink

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/usersync/usersync"
)

// Apply applies one change in a transaction of its own, with the semantics
// of [usersync.Sink] (sink/memsink documents them change by change):
// creating is an upsert that adopts a user made by hand, updating or
// restoring an absent user or joining an absent group fails with an error
// wrapping [usersync.ErrNotFound], and a change that fails changes
// nothing.
func (s *Sink) Apply(ctx context.Context, c usersync.Change) error {
	if errs := s.ApplyBatch(ctx, []usersync.Change{c}); errs != nil {
		return errs[0]
	}
	return nil
}

// ApplyBatch applies cs in order, in one transaction, with the result
// Apply would give change by change. It reads the users and groups the
// batch names in one query each, plays the changes on them in memory,
// which decides each change's fate (ErrNotFound and the like) before
// anything is written, and writes the outcome with multi-row statements
// (COPY for many new users on PostgreSQL).
//
// A change the database itself refuses, such as one breaking a constraint
// of a host's schema, rolls that transaction back; the batch then runs
// again change by change, each in a savepoint, so that only the refused
// change fails. If ctx is done, every change not yet committed fails with
// ctx's error and changes nothing.
func (s *Sink) ApplyBatch(ctx context.Context, cs []usersync.Change) []error {
	if len(cs) == 0 {
		return nil
	}
	valid := make([]error, len(cs))
	for i := range cs {
		valid[i] = s.validate(&cs[i])
	}
	errs := make([]error, len(cs))
	// Each attempt starts from the validation errors and fills in its own
	// outcomes, which count only if its transaction commits.
	attempt := func(apply func(context.Context, *txn, []usersync.Change, []error) error, insertOnly bool) error {
		run := s.inTx
		if insertOnly {
			run = s.inInsertTx
		}
		return run(ctx, func(tx *txn) error {
			res := slices.Clone(valid)
			// The drift triggers leave the library's writes alone: it
			// writes the digests of the users it changes itself.
			if err := s.d.markWrites(ctx, tx, s, true); err != nil {
				return err
			}
			wait, err := s.d.checkpointAside(ctx, s, tx, len(cs))
			if err != nil {
				return err
			}
			defer wait()
			if err := apply(ctx, tx, cs, res); err != nil {
				return err
			}
			if err := s.d.markWrites(ctx, tx, s, false); err != nil {
				return err
			}
			copy(errs, res)
			return nil
		})
	}
	// A batch of creates (a first load is a run of them) may be written
	// as new rows only, which inInsertTx makes faster.
	err := errNotInsertOnly
	if !slices.ContainsFunc(cs, func(c usersync.Change) bool { return c.Kind != usersync.CreateUser && c.Kind != usersync.CreateGroup }) {
		err = attempt(s.applyAll, true)
	}
	if errors.Is(err, errNotInsertOnly) {
		err = attempt(s.applyAll, false)
	}
	if err != nil && ctx.Err() == nil && !errors.Is(err, ErrLockLost) {
		err = attempt(s.applyEach, false)
	}
	if err != nil {
		err = fmt.Errorf("sqlsink: %w", err)
		for i := range errs {
			errs[i] = err
		}
	}
	if !slices.ContainsFunc(errs, func(err error) bool { return err != nil }) {
		return nil
	}
	return errs
}

// applyAll plays and writes the batch. errs holds the errors found before
// the transaction, and receives each other change's outcome.
func (s *Sink) applyAll(ctx context.Context, tx *txn, cs []usersync.Change, errs []error) error {
	b, err := s.load(ctx, tx, cs, errs)
	if err != nil {
		return err
	}
	b.play(cs, errs)
	if tx.insertOnly() && !b.new() {
		return errNotInsertOnly
	}
	return s.write(ctx, tx, b)
}

// applyEach applies the changes one by one, each in a savepoint, so that a
// change the database refuses fails alone.
func (s *Sink) applyEach(ctx context.Context, tx *txn, cs []usersync.Change, errs []error) error {
	for i := range cs {
		if errs[i] != nil {
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT change"); err != nil {
			return err
		}
		one := []error{nil}
		err := s.applyAll(ctx, tx, cs[i:i+1], one)
		switch {
		case err == nil:
			_, err = tx.ExecContext(ctx, "RELEASE SAVEPOINT change")
		case ctx.Err() == nil && !s.d.retryable(err):
			one[0] = fmt.Errorf("sqlsink: %s: %w", cs[i], err)
			_, err = tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT change")
		}
		if err != nil {
			return err
		}
		errs[i] = one[0]
	}
	return nil
}

// validate rejects what no database could apply, before any is asked.
func (s *Sink) validate(c *usersync.Change) error {
	switch c.Kind {
	case usersync.CreateGroup:
		if c.Group.ID == "" {
			return errors.New("sqlsink: cannot create a group with an empty ID")
		}
	case usersync.CreateUser:
		if c.User.Key == "" {
			return errors.New("sqlsink: cannot create a user with an empty key")
		}
	case usersync.RenameGroup, usersync.AdoptUser, usersync.UpdateUser, usersync.RestoreUser,
		usersync.DeactivateUser, usersync.DeleteUser, usersync.MarkMissing:
	default:
		return fmt.Errorf("sqlsink: unknown change kind %v", c.Kind)
	}
	if s.n.uAttrs == "" {
		for name := range c.User.Attrs.All() {
			if s.n.attrIndex(name) < 0 {
				return fmt.Errorf("sqlsink: %s: attribute %q has no column", c, name)
			}
		}
	}
	return nil
}

// A batch is the users and groups a batch of changes touches: as the
// database holds them, and as the changes leave them.
type batch struct {
	// users maps each key to the user the changes find under it; every
	// key the changes name has an entry, live or not.
	users map[string]*touched
	// all lists every user the batch touched, including those whose key
	// another took over, so that each row's fate gets written.
	all    []*touched
	groups map[string]*group // by external ID
	// invites lists the keys of the users to invite.
	invites []string
}

// new reports whether the batch, played, names no user the database holds
// and changes no group it holds: its writes are then new rows only.
func (b *batch) new() bool {
	for _, u := range b.all {
		if u.id != 0 {
			return false
		}
	}
	for _, g := range b.groups {
		if g.id != 0 && (g.name != g.oldName || g.links != g.oldLinks) {
			return false
		}
	}
	return true
}

// touched is a user a batch names.
type touched struct {
	key   string // now
	dbKey string // as the database holds it
	id    int64  // the database row's ID; 0 if there is none
	rev   int64  // the row's revision, as loaded
	// groupsDigest is the digest of the row's memberships as the database
	// holds them, when its stored digests are of the loaded revision
	// (groupsKnown): a user whose memberships the batch does not touch
	// keeps it, and digestsAfter need not read them again.
	groupsDigest usersync.Digest
	groupsKnown  bool
	was          state // as the database holds it
	now          state // as the changes leave it
	live         bool  // the user exists after the changes
	// drop says the database row goes: the user was deleted, and perhaps
	// created again, as a new row.
	drop bool
	// member says, for each group the changes join or leave, whether the
	// user ends up in it; other memberships stay as they are (or go with
	// a dropped row).
	member map[string]bool
}

// state is what a Record holds besides its key and groups.
type state struct {
	attrs        usersync.Attrs
	inactive     bool
	managed      bool
	missingRuns  uint16
	missingSince int64
}

func (s *state) equal(t *state) bool {
	return s.attrs.Equal(t.attrs) && s.inactive == t.inactive && s.managed == t.managed &&
		s.missingRuns == t.missingRuns && s.missingSince == t.missingSince
}

func (s *state) setMissing(r *usersync.Record) {
	s.missingRuns, s.missingSince = r.MissingRuns, r.MissingSince
}

type group struct {
	id       int64 // 0 if the database has no such group
	name     string
	oldName  string
	links    links // Parent and Account
	oldLinks links
	live     bool // exists after the changes
}

// links are a group's Parent and Account.
type links struct{ parent, account string }

// nullIfEmpty returns s as a statement argument, "" as NULL.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// user returns the user under key, adding an absent one if there is none.
func (b *batch) user(key string) *touched {
	u, ok := b.users[key]
	if !ok {
		u = &touched{key: key, dbKey: key}
		b.users[key] = u
		b.all = append(b.all, u)
	}
	return u
}

// play applies the changes to the batch in memory, in order, setting the
// error of each change that fails; failed changes change nothing. It
// follows memsink's Apply to the letter.
func (b *batch) play(cs []usersync.Change, errs []error) {
	for i := range cs {
		if errs[i] == nil {
			errs[i] = b.playOne(&cs[i])
		}
	}
}

func (b *batch) playOne(c *usersync.Change) error {
	switch c.Kind {
	case usersync.CreateGroup, usersync.RenameGroup:
		return b.playGroup(c)
	case usersync.CreateUser:
		return b.create(c)
	case usersync.DeleteUser:
		if u := b.user(c.User.Key); u.live {
			u.live, u.drop, u.now, u.member = false, u.id != 0, state{}, nil
		}
		return nil
	case usersync.MarkMissing:
		if u := b.user(c.User.Key); u.live {
			u.now.setMissing(&c.User)
		}
		return nil
	}
	return b.update(c)
}

func (b *batch) playGroup(c *usersync.Change) error {
	g := b.groups[c.Group.ID]
	if c.Kind == usersync.RenameGroup && !g.live {
		return fmt.Errorf("sqlsink: group %q: %w", c.Group.ID, usersync.ErrNotFound)
	}
	g.live = true
	g.links = links{c.Group.Parent, c.Group.Account}
	g.name = c.Group.Name
	if g.name == "" {
		g.name = c.Group.ID
	}
	return nil
}

func (b *batch) create(c *usersync.Change) error {
	if err := b.checkJoin(c.Join); err != nil {
		return err
	}
	u := b.user(c.User.Key)
	b.invite(c, u.live && u.now.managed)
	u.live = true
	u.now.attrs = u.now.attrs.MergeAll(c.User.Attrs)
	u.now.inactive, u.now.managed = c.User.Inactive, true
	u.now.setMissing(&c.User)
	u.memberships(c.Join, c.Leave)
	return nil
}

// update plays the kinds that change a user the batch holds: AdoptUser,
// UpdateUser, RestoreUser and DeactivateUser.
func (b *batch) update(c *usersync.Change) error {
	u, err := b.find(c)
	switch {
	case err != nil:
		return err
	case !u.live && c.Kind == usersync.DeactivateUser:
		return nil // a user that is not there is not active either
	case !u.live:
		return fmt.Errorf("sqlsink: user %q: %w", c.User.Key, usersync.ErrNotFound)
	}
	if err := b.checkJoin(c.Join); err != nil {
		return err
	}
	if u.key != c.User.Key {
		b.rekey(u, c.User.Key)
	}
	u.now.attrs = u.now.attrs.Merge(c.User.Attrs, c.Attrs...)
	switch c.Kind {
	case usersync.AdoptUser:
		b.invite(c, u.now.managed)
		u.now.inactive, u.now.managed = c.User.Inactive, true
		u.now.setMissing(&usersync.Record{})
	case usersync.RestoreUser:
		u.now.inactive = false
		u.now.setMissing(&usersync.Record{})
	case usersync.DeactivateUser:
		u.now.inactive = true
	}
	u.memberships(c.Join, c.Leave)
	return nil
}

// find returns the user a change applies to: the one under Change.OldKey
// when it is set and held, else the one under Change.User.Key. Re-keying
// onto another user's key fails.
func (b *batch) find(c *usersync.Change) (*touched, error) {
	u := b.user(c.User.Key)
	if c.OldKey == "" || c.OldKey == c.User.Key {
		return u, nil
	}
	old := b.user(c.OldKey)
	switch {
	case !old.live:
		return u, nil // re-keyed already, or gone
	case u.live:
		return nil, fmt.Errorf("sqlsink: cannot re-key user %q to %q: the key is taken", c.OldKey, c.User.Key)
	}
	return old, nil
}

// rekey moves u to key, whose entry holds no live user.
func (b *batch) rekey(u *touched, key string) {
	b.user(key) // keep the entry there in all: it may have a row to drop
	delete(b.users, u.key)
	b.users[key] = u
	u.key = key
}

// invite notes that c invites the user it brings in, unless that user was
// managed already and so brought in before.
func (b *batch) invite(c *usersync.Change, wasManaged bool) {
	if c.Invite == usersync.InviteAuto && !wasManaged {
		b.invites = append(b.invites, c.User.Key)
	}
}

// sortedGroups returns, in dst's place, the sorted names of the groups the
// batch joins or leaves for u; joinedOnly keeps those it joins.
func (u *touched) sortedGroups(dst []string, joinedOnly bool) []string {
	dst = dst[:0]
	for g, in := range u.member {
		if in || !joinedOnly {
			dst = append(dst, g)
		}
	}
	slices.Sort(dst)
	return dst
}

func (u *touched) memberships(join, leave []string) {
	if len(join)+len(leave) > 0 && u.member == nil {
		u.member = make(map[string]bool, len(join)+len(leave))
	}
	for _, g := range join {
		u.member[g] = true
	}
	for _, g := range leave {
		u.member[g] = false
	}
}

// checkJoin fails if a group to join does not exist.
func (b *batch) checkJoin(join []string) error {
	for _, id := range join {
		if !b.groups[id].live {
			return fmt.Errorf("sqlsink: cannot join group %q: %w", id, usersync.ErrNotFound)
		}
	}
	return nil
}

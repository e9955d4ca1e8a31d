package memsink

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/usersync/usersync"
)

// Apply applies one change, as [usersync.Sink] and [usersync.ChangeKind]
// describe:
//
//   - CreateGroup creates the group, or renames it if it exists; an empty
//     Name means the ID. RenameGroup renames a group it holds, and fails
//     with an error wrapping [usersync.ErrNotFound] for one it does not.
//     Both set the group's Parent and Account (see [usersync.GroupLinker]).
//   - CreateUser creates the user, or updates it if it exists: it sets every
//     attribute of Change.User (keeping the others), joins Change.Join,
//     leaves Change.Leave, takes Inactive and the missing marker from
//     Change.User, and marks the user Managed, adopting a user created by
//     hand.
//   - AdoptUser takes over the user held under Change.OldKey (or
//     Change.User.Key), giving it the key Change.User.Key: it sets the
//     attributes Change.Attrs names, joins and leaves groups, takes
//     Inactive from Change.User, clears the missing marker and marks the
//     user Managed.
//   - UpdateUser sets the attributes Change.Attrs names, joins and leaves
//     groups, and re-keys the user held under Change.OldKey when it is
//     set; it fails with an error wrapping [usersync.ErrNotFound] if the
//     user does not exist. RestoreUser does the same, reactivates the user
//     and clears its missing marker; DeactivateUser does the same and
//     deactivates the user, and succeeds if the user does not exist.
//   - DeleteUser deletes the user, and succeeds if it does not exist.
//   - MarkMissing sets the user's missing marker to Change.User's and
//     changes nothing else; it succeeds if the user does not exist.
//
// A CreateUser or AdoptUser with [usersync.InviteAuto] that brings a user
// in (a new user, or one that was not Managed) invites it: see
// [Sink.Invited].
//
// Joining a group the Sink does not hold fails with an error wrapping
// ErrNotFound, as a real directory would refuse it. A change that fails
// changes nothing. If ctx is done, Apply returns an error wrapping ctx's
// error and changes nothing.
func (s *Sink) Apply(ctx context.Context, c usersync.Change) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memsink: %w", err)
	}
	if err := s.failOn(&c); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apply(&c)
}

// ApplyBatch applies cs in order under one lock, with the same result as
// calling Apply for each. It returns nil if every change applied, or else
// one error per change. If ctx is done before it starts, every change fails
// with ctx's error; once started, a batch runs to its end.
func (s *Sink) ApplyBatch(ctx context.Context, cs []usersync.Change) []error {
	errs := make([]error, len(cs))
	if err := ctx.Err(); err != nil {
		for i := range errs {
			errs[i] = fmt.Errorf("memsink: %w", err)
		}
		return errs
	}
	for i := range cs {
		errs[i] = s.failOn(&cs[i])
	}
	s.applyAll(cs, errs)
	if !slices.ContainsFunc(errs, func(err error) bool { return err != nil }) {
		return nil
	}
	return errs
}

// applyAll applies the changes whose errs entry is still nil.
func (s *Sink) applyAll(cs []usersync.Change, errs []error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range cs {
		if errs[i] == nil {
			errs[i] = s.apply(&cs[i])
		}
	}
}

// failOn consults FailOn; it runs without the lock so FailOn may read the Sink.
func (s *Sink) failOn(c *usersync.Change) error {
	if s.FailOn == nil {
		return nil
	}
	return s.FailOn(*c)
}

// apply applies c; the caller holds s.mu for writing. Every path checks
// everything that can fail before it changes anything.
func (s *Sink) apply(c *usersync.Change) error {
	s.init()
	switch c.Kind {
	case usersync.CreateGroup:
		return s.createGroup(c.Group)
	case usersync.RenameGroup:
		return s.renameGroup(c.Group)
	case usersync.CreateUser:
		return s.createUser(c)
	case usersync.AdoptUser, usersync.UpdateUser, usersync.RestoreUser, usersync.DeactivateUser:
		return s.updateUser(c)
	case usersync.MarkMissing:
		if i, ok := s.index[c.User.Key]; ok {
			s.users[i].setMissing(&c.User)
		}
		return nil
	case usersync.DeleteUser:
		s.deleteUser(c.User.Key)
		return nil
	}
	return fmt.Errorf("memsink: unknown change kind %v", c.Kind)
}

func (s *Sink) createGroup(g usersync.Group) error {
	if g.ID == "" {
		return errors.New("memsink: cannot create a group with an empty ID")
	}
	if g.Name == "" {
		g.Name = g.ID
	}
	// Users' group lists point at the stored ID (see memberships): keep it,
	// and copy a new one so that it does not pin the row it was read from.
	if old, ok := s.groups[g.ID]; ok {
		g.ID = old.ID
	} else {
		g.ID = strings.Clone(g.ID)
	}
	s.groups[g.ID] = g
	return nil
}

func (s *Sink) renameGroup(g usersync.Group) error {
	old, ok := s.groups[g.ID]
	if !ok {
		return fmt.Errorf("memsink: group %q: %w", g.ID, usersync.ErrNotFound)
	}
	if g.Name == "" {
		g.Name = g.ID
	}
	old.Name, old.Parent, old.Account = g.Name, g.Parent, g.Account
	s.groups[old.ID] = old
	return nil
}

func (s *Sink) createUser(c *usersync.Change) error {
	key := c.User.Key
	if key == "" {
		return errors.New("memsink: cannot create a user with an empty key")
	}
	if err := s.checkJoin(c.Join); err != nil {
		return err
	}
	i, exists := s.index[key]
	if !exists {
		// A Mapper's key may share the memory of its whole CSV row; a copy
		// lets the row go once the run is over.
		key = strings.Clone(key)
	}
	u := s.slot(key)
	s.invite(c, u, exists && s.users[i].managed)
	u.attrs = u.attrs.MergeAll(c.User.Attrs)
	u.groups = s.memberships(u.groups, c.Join, c.Leave)
	u.inactive = c.User.Inactive
	u.managed = true
	u.setMissing(&c.User)
	return nil
}

// updateUser applies the kinds that change a user the Sink holds: AdoptUser,
// UpdateUser, RestoreUser and DeactivateUser.
func (s *Sink) updateUser(c *usersync.Change) error {
	i, ok, err := s.find(c)
	switch {
	case err != nil:
		return err
	case !ok && c.Kind == usersync.DeactivateUser:
		return nil // a user that is not there is not active either
	case !ok:
		return fmt.Errorf("memsink: user %q: %w", c.User.Key, usersync.ErrNotFound)
	}
	if err := s.checkJoin(c.Join); err != nil {
		return err
	}
	u := &s.users[i]
	if u.key != c.User.Key {
		s.rekey(i, c.User.Key)
	}
	u.attrs = u.attrs.Merge(c.User.Attrs, c.Attrs...)
	u.groups = s.memberships(u.groups, c.Join, c.Leave)
	switch c.Kind {
	case usersync.AdoptUser:
		s.invite(c, u, u.managed)
		u.inactive, u.managed = c.User.Inactive, true
		u.setMissing(&usersync.Record{})
	case usersync.RestoreUser:
		u.inactive = false
		u.setMissing(&usersync.Record{})
	case usersync.DeactivateUser:
		u.inactive = true
	}
	return nil
}

// find returns the slot of the user a change applies to: the one under
// Change.OldKey when it is set and held, else the one under Change.User.Key.
// A change that would re-key a user onto another user's key fails.
func (s *Sink) find(c *usersync.Change) (int, bool, error) {
	i, ok := s.index[c.User.Key]
	if c.OldKey == "" || c.OldKey == c.User.Key {
		return i, ok, nil
	}
	old, held := s.index[c.OldKey]
	switch {
	case !held:
		return i, ok, nil // re-keyed already, or gone
	case ok:
		return 0, false, fmt.Errorf("memsink: cannot re-key user %q to %q: the key is taken", c.OldKey, c.User.Key)
	}
	return old, true, nil
}

// rekey moves the user in slot i to key.
func (s *Sink) rekey(i int, key string) {
	key = strings.Clone(key)
	delete(s.index, s.users[i].key)
	s.index[key] = i
	s.added = append(s.added, key)
	s.users[i].key = key
}

// invite notes that c invites the user in u, unless it was managed already
// and so brought in before.
func (s *Sink) invite(c *usersync.Change, u *user, wasManaged bool) {
	if c.Invite == usersync.InviteAuto && !wasManaged {
		s.invited = append(s.invited, u.key)
	}
}

func (s *Sink) deleteUser(key string) {
	i, ok := s.index[key]
	if !ok {
		return
	}
	s.users[i] = user{}
	s.free = append(s.free, i)
	delete(s.index, key)
}

// slot returns the user stored under key, adding an empty one if there is
// none. The caller holds s.mu for writing.
func (s *Sink) slot(key string) *user {
	if i, ok := s.index[key]; ok {
		return &s.users[i]
	}
	var i int
	if n := len(s.free); n > 0 {
		i, s.free = s.free[n-1], s.free[:n-1]
	} else {
		i = len(s.users)
		s.users = append(s.users, user{})
	}
	s.index[key] = i
	s.added = append(s.added, key)
	s.users[i].key = key
	return &s.users[i]
}

// checkJoin fails if a group to join does not exist.
func (s *Sink) checkJoin(join []string) error {
	for _, id := range join {
		if _, ok := s.groups[id]; !ok {
			return fmt.Errorf("memsink: cannot join group %q: %w", id, usersync.ErrNotFound)
		}
	}
	return nil
}

// memberships returns cur ∪ join − leave, sorted and deduplicated. It
// returns cur itself when nothing changes, and never changes cur in place:
// listed records share it. Joined IDs are the stored groups' copies, so a
// million users share one copy of each ID.
func (s *Sink) memberships(cur, join, leave []string) []string {
	if len(join) == 0 && len(leave) == 0 {
		return cur
	}
	out := make([]string, 0, len(cur)+len(join))
	out = append(out, cur...)
	for _, id := range join {
		out = append(out, s.groups[id].ID)
	}
	out = slices.DeleteFunc(out, func(id string) bool { return slices.Contains(leave, id) })
	slices.Sort(out)
	out = slices.Compact(out)
	switch {
	case slices.Equal(out, cur):
		return cur
	case len(out) == 0:
		return nil
	}
	return out
}

package main

// How a host plugs its own user directory into usersync: a Sink that turns
// each Change of a plan into calls of the host's UserService, and a Lister
// that shows the reconciler who is there now. TestSinkConformance runs
// usersync's conformance suite (sink/sinktest) on it; run the same on yours.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"sync"

	"github.com/usersync/usersync"
)

// directorySink is a usersync.Sink and usersync.Lister over a UserService.
//
// Every change must be idempotent: applying one that is already in effect
// succeeds and changes nothing, so a run that stopped half-way (a crash, a
// deploy, a change the service refused) is repaired by the next one. Each
// method below therefore reads the user, computes the state the change
// asks for, and writes it with one call, instead of sending increments.
// A change that fails must change nothing: everything that can fail (an
// unknown user or team, a taken key) is checked before the write.
type directorySink struct {
	svc *UserService
	// mu applies one change at a time, so that no two interleave their
	// read and their write of the same user. A Pipeline applies changes
	// one by one anyway; the lock is for other callers.
	mu sync.Mutex
}

// listPage is how many users Users reads from the service at once.
const listPage = 500

// Apply applies one change of a plan. The kinds are documented on
// usersync.ChangeKind; in short:
//
//   - CreateGroup and RenameGroup save a team of the HR system's;
//   - CreateUser creates a user, or takes over the one with that key;
//   - AdoptUser takes over a user created in the app (matched by email);
//   - UpdateUser, RestoreUser and DeactivateUser write the attributes the
//     change names, the memberships, and the active flag;
//   - DeleteUser deletes (only with a reconcile policy that asks for it);
//   - MarkMissing notes since when the files leave a user out, for a grace
//     period before deactivation.
func (d *directorySink) Apply(ctx context.Context, c usersync.Change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch c.Kind {
	case usersync.CreateGroup:
		return d.svc.SaveTeam(ctx, Team{ID: c.Group.ID, Name: cmp.Or(c.Group.Name, c.Group.ID)})
	case usersync.RenameGroup:
		if _, err := d.svc.Team(ctx, c.Group.ID); err != nil {
			return notFound(err)
		}
		return d.svc.SaveTeam(ctx, Team{ID: c.Group.ID, Name: cmp.Or(c.Group.Name, c.Group.ID)})
	case usersync.CreateUser:
		return d.create(ctx, &c)
	case usersync.AdoptUser, usersync.UpdateUser, usersync.RestoreUser, usersync.DeactivateUser:
		return d.update(ctx, &c)
	case usersync.MarkMissing:
		return d.markMissing(ctx, &c)
	case usersync.DeleteUser:
		u, err := d.svc.UserByExternalID(ctx, c.User.Key)
		if errors.Is(err, ErrNoSuchUser) {
			return nil // deleted already
		} else if err != nil {
			return err
		}
		return d.svc.DeleteUser(ctx, u.ID)
	}
	return fmt.Errorf("unknown change kind %v", c.Kind)
}

// create creates the user, or, if one has the key, makes it what the feed
// says and takes it over.
func (d *directorySink) create(ctx context.Context, c *usersync.Change) error {
	if err := d.checkTeams(ctx, c.Join); err != nil {
		return err
	}
	u, err := d.svc.UserByExternalID(ctx, c.User.Key)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrNoSuchUser) {
		return err
	}
	wasSynced := u.Synced
	u.ExternalID = c.User.Key
	u.Profile = mergeProfile(u.Profile, c.User.Attrs.Map()) // every attribute of the feed
	u.Teams = memberships(u.Teams, c.Join, c.Leave)
	u.Active, u.Synced = !c.User.Inactive, true
	u.MissingRuns, u.MissingSince = int(c.User.MissingRuns), c.User.MissingSince
	if exists {
		err = d.svc.UpdateUser(ctx, u)
	} else {
		u, err = d.svc.CreateUser(ctx, u)
	}
	if err != nil {
		return err
	}
	return d.invite(ctx, c, u, wasSynced)
}

// update applies AdoptUser, UpdateUser, RestoreUser and DeactivateUser.
func (d *directorySink) update(ctx context.Context, c *usersync.Change) error {
	u, err := d.find(ctx, c)
	switch {
	case errors.Is(err, ErrNoSuchUser) && c.Kind == usersync.DeactivateUser:
		return nil // a user who is not there is not active either
	case err != nil:
		return notFound(err)
	}
	if err := d.checkTeams(ctx, c.Join); err != nil {
		return err
	}
	wasSynced := u.Synced
	// A new key, when the change found the user by its old one; and only
	// the attributes that changed.
	u.ExternalID = c.User.Key
	u.Profile = mergeProfile(u.Profile, named(c.User.Attrs, c.Attrs))
	u.Teams = memberships(u.Teams, c.Join, c.Leave)
	switch c.Kind {
	case usersync.AdoptUser:
		u.Active, u.Synced = !c.User.Inactive, true
		u.MissingRuns, u.MissingSince = 0, 0
	case usersync.RestoreUser:
		u.Active = true
		u.MissingRuns, u.MissingSince = 0, 0
	case usersync.DeactivateUser:
		u.Active = false
	}
	if err := d.svc.UpdateUser(ctx, u); err != nil {
		return err
	}
	return d.invite(ctx, c, u, wasSynced)
}

// find returns the user a change applies to. A change with an OldKey gives
// the user a new key (the HR system renumbered an employee who kept her
// email): the user is under OldKey, or, if the change was applied before,
// under the new key already. If both are taken, UpdateUser refuses.
func (d *directorySink) find(ctx context.Context, c *usersync.Change) (User, error) {
	if c.OldKey != "" && c.OldKey != c.User.Key {
		u, err := d.svc.UserByExternalID(ctx, c.OldKey)
		if !errors.Is(err, ErrNoSuchUser) {
			return u, err
		}
	}
	return d.svc.UserByExternalID(ctx, c.User.Key)
}

func (d *directorySink) markMissing(ctx context.Context, c *usersync.Change) error {
	u, err := d.svc.UserByExternalID(ctx, c.User.Key)
	if errors.Is(err, ErrNoSuchUser) {
		return nil
	} else if err != nil {
		return err
	}
	u.MissingRuns, u.MissingSince = int(c.User.MissingRuns), c.User.MissingSince
	return d.svc.UpdateUser(ctx, u)
}

// invite sends the welcome email to a user the sync just brought in, when
// the reconcile policy asks for automatic invitations. A real service
// would queue it in the transaction that saves the user, so that it is
// neither lost nor sent twice.
func (d *directorySink) invite(ctx context.Context, c *usersync.Change, u User, wasSynced bool) error {
	if c.Invite != usersync.InviteAuto || wasSynced {
		return nil
	}
	return d.svc.Invite(ctx, u.ID)
}

// checkTeams fails if a team to join does not exist, before anything is
// written.
func (d *directorySink) checkTeams(ctx context.Context, ids []string) error {
	for _, id := range ids {
		if _, err := d.svc.Team(ctx, id); err != nil {
			return notFound(err)
		}
	}
	return nil
}

// Users lists every user, synced or not, a page at a time: the reconciler
// compares them with the file, and leaves alone those that are not Managed.
func (d *directorySink) Users(ctx context.Context) iter.Seq2[usersync.Record, error] {
	return func(yield func(usersync.Record, error) bool) {
		var after int64
		for {
			page, err := d.svc.ListUsers(ctx, after, listPage)
			if err != nil {
				yield(usersync.Record{}, err)
				return
			}
			for _, u := range page {
				if !yield(record(u), nil) {
					return
				}
			}
			if len(page) < listPage {
				return
			}
			after = page[len(page)-1].ID
		}
	}
}

// Groups lists the teams. (Teams an app creates for itself, without an HR
// system's ID, would be left out: the sync must not touch them.)
func (d *directorySink) Groups(ctx context.Context) iter.Seq2[usersync.Group, error] {
	return func(yield func(usersync.Group, error) bool) {
		teams, err := d.svc.ListTeams(ctx)
		if err != nil {
			yield(usersync.Group{}, err)
			return
		}
		for _, t := range teams {
			if !yield(usersync.Group{ID: t.ID, Name: t.Name}, nil) {
				return
			}
		}
	}
}

// record is the user as usersync sees it.
func record(u User) usersync.Record {
	r := usersync.Record{
		Key:          u.ExternalID,
		Attrs:        usersync.AttrsFromMap(u.Profile),
		Inactive:     !u.Active,
		Managed:      u.Synced,
		MissingRuns:  uint16(u.MissingRuns),
		MissingSince: u.MissingSince,
	}
	if len(u.Teams) > 0 {
		r.Groups = u.Teams
	}
	return r
}

// mergeProfile returns profile with the values of set; its other fields,
// such as one an administrator filled in in the app, are kept.
func mergeProfile(profile, set map[string]string) map[string]string {
	out := maps.Clone(profile)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, set)
	return out
}

// named returns the named attributes of attrs; one attrs lacks is "".
func named(attrs usersync.Attrs, names []string) map[string]string {
	m := make(map[string]string, len(names))
	for _, name := range names {
		m[name] = attrs.Value(name)
	}
	return m
}

// memberships returns teams + join - leave, sorted, without duplicates.
func memberships(teams, join, leave []string) []string {
	out := slices.Concat(teams, join)
	out = slices.DeleteFunc(out, func(id string) bool { return slices.Contains(leave, id) })
	slices.Sort(out)
	return slices.Compact(out)
}

// notFound translates the service's "no such user/team" into the error the
// usersync.Sink contract asks for, usersync.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, ErrNoSuchUser) || errors.Is(err, ErrNoSuchTeam) {
		return fmt.Errorf("%w: %w", usersync.ErrNotFound, err)
	}
	return err
}

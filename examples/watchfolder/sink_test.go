package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/sink/sinktest"
)

// TestSinkConformance checks the Sink over the host's UserService against
// the usersync.Sink contract: idempotency, every change kind, re-keying,
// memberships, cancellation, listing, concurrent use. A host writing its
// own Sink copies this test and its harness.
func TestSinkConformance(t *testing.T) {
	sinktest.RunConformanceTests(t, func(context.Context, *testing.T) (sinktest.Harness, error) {
		return &harness{NewUserService()}, nil
	})
}

// harness reaches the UserService directly, as the app's own pages do.
type harness struct{ svc *UserService }

func (h *harness) MakeSink(context.Context) (usersync.Sink, error) {
	return &directorySink{svc: h.svc}, nil
}

func (h *harness) Close() {}

// PutUser stores r as a user created or changed in the app would be.
func (h *harness) PutUser(ctx context.Context, r usersync.Record) error {
	u := User{
		ExternalID: r.Key, Profile: r.Attrs.Map(), Teams: memberships(r.Groups, nil, nil), Active: !r.Inactive,
		Synced: r.Managed, MissingRuns: int(r.MissingRuns), MissingSince: r.MissingSince,
	}
	old, err := h.svc.UserByExternalID(ctx, r.Key)
	if err != nil {
		_, err = h.svc.CreateUser(ctx, u)
		return err
	}
	u.ID = old.ID
	return h.svc.UpdateUser(ctx, u)
}

func (h *harness) PutGroup(ctx context.Context, g usersync.Group) error {
	return h.svc.SaveTeam(ctx, Team{ID: g.ID, Name: g.Name})
}

func (h *harness) State(ctx context.Context) ([]usersync.Record, []usersync.Group, error) {
	users, err := h.svc.ListUsers(ctx, 0, 1<<30)
	if err != nil {
		return nil, nil, err
	}
	teams, err := h.svc.ListTeams(ctx)
	if err != nil {
		return nil, nil, err
	}
	var rs []usersync.Record
	for _, u := range users {
		rs = append(rs, record(u))
	}
	var gs []usersync.Group
	for _, t := range teams {
		gs = append(gs, usersync.Group{ID: t.ID, Name: t.Name})
	}
	return rs, gs, nil
}

// TestInvites checks what the suite leaves to each Sink: a user the sync
// brings in with an automatic invitation gets the welcome email once,
// however often the change is applied.
func TestInvites(t *testing.T) {
	ctx := t.Context()
	svc := NewUserService()
	sink := &directorySink{svc: svc}
	ann := usersync.Record{Key: "E1", Attrs: usersync.NewAttrs("name", "Ann", "email", "ann@example.com")}
	create := usersync.Change{Kind: usersync.CreateUser, User: ann, Invite: usersync.InviteAuto}
	require.NoError(t, sink.Apply(ctx, create))
	require.NoError(t, sink.Apply(ctx, create))

	// A user created in the app, taken over by the sync, is invited too.
	bo, err := svc.CreateUser(ctx, User{ExternalID: "app-2", Profile: map[string]string{"email": "bo@example.com"}, Active: true})
	require.NoError(t, err)
	adopt := usersync.Change{Kind: usersync.AdoptUser, OldKey: "app-2", Invite: usersync.InviteAuto, Attrs: []string{"name"},
		User: usersync.Record{Key: "E2", Attrs: usersync.NewAttrs("name", "Bo", "email", "bo@example.com")}}
	require.NoError(t, sink.Apply(ctx, adopt))
	require.NoError(t, sink.Apply(ctx, adopt))

	// Without InviteAuto, nobody is invited: an administrator does it.
	require.NoError(t, sink.Apply(ctx, usersync.Change{Kind: usersync.CreateUser, User: usersync.Record{Key: "E3"}}))

	annNow, err := svc.UserByExternalID(ctx, "E1")
	require.NoError(t, err)
	assert.Equal(t, []int64{annNow.ID, bo.ID}, svc.invited)
	boNow, err := svc.UserByExternalID(ctx, "E2")
	require.NoError(t, err)
	assert.Equal(t, User{ID: bo.ID, ExternalID: "E2", Profile: map[string]string{"name": "Bo", "email": "bo@example.com"},
		Active: true, Synced: true}, boNow)
}

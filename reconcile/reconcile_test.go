package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/reconcile"
)

// state is a Lister over fixed slices.
type state struct {
	users  []usersync.Record
	groups []usersync.Group
	err    error
}

func (s *state) Users(ctx context.Context) iter.Seq2[usersync.Record, error] {
	return func(yield func(usersync.Record, error) bool) {
		if s.err != nil {
			yield(usersync.Record{}, s.err)
			return
		}
		for _, u := range s.users {
			if !yield(u, nil) {
				return
			}
		}
	}
}

func (s *state) Groups(ctx context.Context) iter.Seq2[usersync.Group, error] {
	return func(yield func(usersync.Group, error) bool) {
		for _, g := range s.groups {
			if !yield(g, nil) {
				return
			}
		}
	}
}

var layout = usersync.NewLayout("name", "email")

// row is a feed record of users.csv; managed and manual are Sink records.
func row(key, name, email string, line int, groups ...string) usersync.Record {
	return usersync.Record{Key: key, Attrs: layout.Make([]string{name, email}), Groups: groups,
		Origin: usersync.Position{File: "users.csv", Line: line}}
}

func managed(key, name, email string, groups ...string) usersync.Record {
	return usersync.Record{Key: key, Attrs: usersync.NewAttrs("name", name, "email", email), Groups: groups, Managed: true}
}

func manual(key, name, email string, groups ...string) usersync.Record {
	r := managed(key, name, email, groups...)
	r.Managed = false
	return r
}

// now is the time of the runs in these tests.
var now = time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)

func plan(t *testing.T, p *reconcile.Policy, feed []usersync.Record, cur *state) *usersync.Plan {
	t.Helper()
	return planFeed(t, p, &usersync.Feed{Records: feed, Time: now}, cur)
}

func planFeed(t *testing.T, p *reconcile.Policy, feed *usersync.Feed, cur *state) *usersync.Plan {
	t.Helper()
	if feed.Time.IsZero() {
		feed.Time = now
	}
	pl, err := reconcile.New(p).Reconcile(context.Background(), feed, cur)
	require.NoError(t, err)
	return pl
}

// kinds renders a plan's changes as "kind key" lines.
func kinds(p *usersync.Plan) []string {
	var out []string
	for c := range p.Changes.All() {
		out = append(out, c.String())
	}
	return out
}

// only returns the plan's only change, failing if there is not exactly one.
func only(t *testing.T, p *usersync.Plan) usersync.Change {
	t.Helper()
	require.Len(t, synctest.Changes(t, p), 1, "changes: %v", kinds(p))
	return synctest.Changes(t, p)[0]
}

func TestCreatesNewUsersInKeyOrderAndTheirGroups(t *testing.T) {
	p := plan(t, nil, []usersync.Record{
		row("e2", "Bo", "bo@x", 2, "sales"),
		row("e1", "Ann", "ann@x", 3, "hr", "sales"),
	}, &state{groups: []usersync.Group{{ID: "hr", Name: "HR"}}})
	assert.Equal(t, []string{"create-group sales", "create e1", "create e2"}, kinds(p))
	assert.Equal(t, []string{"hr", "sales"}, synctest.Changes(t, p)[1].Join)
	assert.Equal(t, usersync.InviteManual, synctest.Changes(t, p)[1].Invite)
	assert.Nil(t, p.Hold)
	assert.Equal(t, now, p.Time)
}

func TestUnchangedUsersMakeNoChange(t *testing.T) {
	p := plan(t, nil, []usersync.Record{row("e1", "Ann", "ann@x", 2)}, &state{users: []usersync.Record{managed("e1", "Ann", "ann@x")}})
	assert.Empty(t, synctest.Changes(t, p))
	assert.Equal(t, 1, p.Unchanged)
	assert.Equal(t, 1, p.Population)
}

func TestUpdateNamesOnlyChangedFeedAttributes(t *testing.T) {
	cur := managed("e1", "Ann", "ann@x")
	cur.Attrs = usersync.NewAttrs("email", "ann@x", "name", "Ann", "nickname", "set by hand")
	c := only(t, plan(t, nil, []usersync.Record{row("e1", "Ann Berg", "ann@x", 2)}, &state{users: []usersync.Record{cur}}))
	assert.Equal(t, usersync.UpdateUser, c.Kind)
	assert.Equal(t, []string{"name"}, c.Attrs)
	assert.Equal(t, map[string]string{"name": "Ann"}, c.Before.Map(), "the old values, for review")
}

func TestUpdateJoinsAndLeavesGroups(t *testing.T) {
	c := only(t, plan(t, nil, []usersync.Record{row("e1", "Ann", "ann@x", 2, "a", "c")},
		&state{users: []usersync.Record{managed("e1", "Ann", "ann@x", "a", "b")}, groups: []usersync.Group{{ID: "a"}, {ID: "b"}, {ID: "c"}}}))
	assert.Equal(t, []string{"c"}, c.Join)
	assert.Equal(t, []string{"b"}, c.Leave)
	assert.Nil(t, c.Attrs)
}

func TestAbsentUsersFollowPolicy(t *testing.T) {
	cur := func() *state {
		already := managed("e3", "Cy", "cy@x")
		already.Inactive = true
		return &state{users: []usersync.Record{managed("e1", "Ann", "ann@x"), managed("e2", "Bo", "bo@x"), already}}
	}
	feed := []usersync.Record{row("e1", "Ann", "ann@x", 2)}
	for _, tc := range []struct {
		absent reconcile.Absent
		want   []string
	}{
		{reconcile.Deactivate, []string{"deactivate e2"}},
		{reconcile.Delete, []string{"delete e2", "delete e3"}},
		{reconcile.Ignore, nil},
	} {
		t.Run(tc.absent.String(), func(t *testing.T) {
			p := plan(t, &reconcile.Policy{Absent: tc.absent}, feed, cur())
			assert.Equal(t, tc.want, kinds(p))
		})
	}
}

func TestUserWithRejectedRowIsNotMissing(t *testing.T) {
	feed := &usersync.Feed{
		Records:  []usersync.Record{row("e1", "Ann", "ann@x", 2)},
		Rejected: []*usersync.RowError{{File: "users.csv", Line: 3, Key: "e2", Err: errors.New("bad email")}},
	}
	cur := &state{users: []usersync.Record{managed("e1", "Ann", "ann@x"), managed("e2", "Bo", "bo@x")}}
	assert.Empty(t, planFeed(t, nil, feed, cur).Changes)
}

func TestDuplicateKeysRejectEveryRowAndKeepTheUser(t *testing.T) {
	p := plan(t, nil, []usersync.Record{
		row("e1", "Ann", "ann@x", 2), row("e2", "Bo", "bo@x", 3), row("e1", "Ann Two", "ann2@x", 7),
	}, &state{users: []usersync.Record{managed("e1", "Ann", "ann@x")}})
	assert.Equal(t, []string{"create e2"}, kinds(p))
	require.Len(t, p.Rejected, 2)
	assert.Equal(t, 2, p.Rejected[0].Line)
	assert.Equal(t, 7, p.Rejected[1].Line)
	assert.ErrorIs(t, p.Rejected[0], usersync.ErrDuplicateKey)
	assert.Contains(t, p.Rejected[0].Error(), "also on users.csv:7")
	assert.Contains(t, p.Rejected[1].Error(), "also on users.csv:2")
}

func TestStatusColumnDeactivatesAndRestores(t *testing.T) {
	off := row("e1", "Ann", "ann@x", 2)
	off.Inactive = true
	back := row("e2", "Bo", "bo@x", 3)
	wasOff := managed("e2", "Bo", "bo@new")
	wasOff.Inactive = true
	newButOff := row("e3", "Cy", "cy@x", 4)
	newButOff.Inactive = true
	p := plan(t, nil, []usersync.Record{off, back, newButOff},
		&state{users: []usersync.Record{managed("e1", "Ann", "ann@x"), wasOff}})
	assert.Equal(t, []string{"restore e2", "deactivate e1"}, kinds(p))
	assert.Equal(t, []string{"email"}, synctest.Changes(t, p)[0].Attrs, "a restore also writes changed attributes")
	assert.Equal(t, "bo@x", synctest.Changes(t, p)[0].User.Attrs.Value("email"))
}

func TestPlanOrderIsDeterministic(t *testing.T) {
	var feed []usersync.Record
	var users []usersync.Record
	for i := range 30 {
		k := fmt.Sprintf("e%02d", i)
		email := k + "@x"
		switch i % 3 {
		case 0:
			feed = append(feed, row(k, "N", email, i+2, "g"+k))
		case 1:
			feed = append(feed, row(k, "Changed", email, i+2))
			users = append(users, managed(k, "N", email))
		case 2:
			users = append(users, managed(k, "N", email))
		}
	}
	policy := &reconcile.Policy{RemoveGuard: reconcile.Guard{Disabled: true}}
	first := kinds(plan(t, policy, feed, &state{users: users}))
	for range 5 {
		// Reverse the Sink's order: the plan must not depend on it.
		for i, j := 0, len(users)-1; i < j; i, j = i+1, j-1 {
			users[i], users[j] = users[j], users[i]
		}
		assert.Equal(t, first, kinds(plan(t, policy, feed, &state{users: users})))
	}
	assert.Equal(t, "create-group ge00", first[0])
	assert.Equal(t, "create e00", first[10])
	assert.Equal(t, "update e01", first[20])
	assert.Equal(t, "deactivate e02", first[30])
}

func TestListErrorsAndCancellationFail(t *testing.T) {
	_, err := reconcile.New(nil).Reconcile(context.Background(), &usersync.Feed{}, &state{err: errors.New("db down")})
	assert.ErrorContains(t, err, "list users: db down")

	feed, cur := population(10000, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = reconcile.New(nil).Reconcile(ctx, &usersync.Feed{Records: feed}, cur)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestInvalidPolicyFailsEveryReconcile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy reconcile.Policy
		want   string
	}{
		{"unknown absent", reconcile.Policy{Absent: 9}, "Policy.Absent"},
		{"negative grace", reconcile.Policy{Grace: reconcile.Grace{Runs: -1}}, "Policy.Grace"},
		{"key twice", reconcile.Policy{MatchKeys: []reconcile.MatchKey{{Attr: "email"}, {Attr: "email"}}}, "email is a match key twice"},
		{"account without group", reconcile.Policy{Accounts: []reconcile.Account{{File: "a.csv"}}}, "Accounts[0]: no Group"},
		{"bad pattern", reconcile.Policy{Accounts: []reconcile.Account{{File: "[", Group: "a"}}}, "not a pattern"},
		{"unknown write", reconcile.Policy{Attrs: map[string]reconcile.AttrRule{"title": {Write: 7}}}, `Attrs["title"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, tc.policy.Validate(), tc.want)
			_, err := reconcile.New(&tc.policy).Reconcile(context.Background(), &usersync.Feed{}, &state{})
			require.ErrorContains(t, err, tc.want)
		})
	}
	require.NoError(t, (&reconcile.Policy{}).Validate())
}

package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
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

// row is a feed record; mk a Sink record.
func row(key, name, email string, line int, groups ...string) usersync.Record {
	return usersync.Record{Key: key, Attrs: layout.Make([]string{name, email}), Groups: groups,
		Origin: usersync.Position{File: "users.csv", Line: line}}
}

func managed(key, name, email string, groups ...string) usersync.Record {
	return usersync.Record{Key: key, Attrs: usersync.NewAttrs("name", name, "email", email), Groups: groups, Managed: true}
}

func plan(t *testing.T, p *reconcile.Policy, feed []usersync.Record, cur *state) *usersync.Plan {
	t.Helper()
	pl, err := reconcile.New(p).Reconcile(context.Background(), &usersync.Feed{Records: feed}, cur)
	require.NoError(t, err)
	return pl
}

// kinds renders a plan's changes as "kind key" lines.
func kinds(p *usersync.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, c.String())
	}
	return out
}

func TestCreatesNewUsersInFeedOrderAndTheirGroups(t *testing.T) {
	p := plan(t, nil, []usersync.Record{
		row("e2", "Bo", "bo@x", 2, "sales"),
		row("e1", "Ann", "ann@x", 3, "hr", "sales"),
	}, &state{groups: []usersync.Group{{ID: "hr", Name: "HR"}}})
	assert.Equal(t, []string{"create-group sales", "create e2", "create e1"}, kinds(p))
	assert.Equal(t, []string{"hr", "sales"}, p.Changes[2].Join)
	assert.Nil(t, p.Hold)
}

func TestUnchangedUsersMakeNoChange(t *testing.T) {
	p := plan(t, nil, []usersync.Record{row("e1", "Ann", "ann@x", 2)}, &state{users: []usersync.Record{managed("e1", "Ann", "ann@x")}})
	assert.Empty(t, p.Changes)
	assert.Equal(t, 1, p.Unchanged)
	assert.Equal(t, 1, p.Population)
}

func TestUpdateNamesOnlyChangedFeedAttributes(t *testing.T) {
	cur := managed("e1", "Ann", "ann@x")
	cur.Attrs = usersync.NewAttrs("email", "ann@x", "name", "Ann", "nickname", "set by hand")
	p := plan(t, nil, []usersync.Record{row("e1", "Ann Berg", "ann@x", 2)}, &state{users: []usersync.Record{cur}})
	require.Len(t, p.Changes, 1)
	assert.Equal(t, usersync.UpdateUser, p.Changes[0].Kind)
	assert.Equal(t, []string{"name"}, p.Changes[0].Attrs)
}

func TestUpdateJoinsAndLeavesGroups(t *testing.T) {
	p := plan(t, nil, []usersync.Record{row("e1", "Ann", "ann@x", 2, "a", "c")},
		&state{users: []usersync.Record{managed("e1", "Ann", "ann@x", "a", "b")}, groups: []usersync.Group{{ID: "a"}, {ID: "b"}, {ID: "c"}}})
	require.Len(t, p.Changes, 1)
	assert.Equal(t, []string{"c"}, p.Changes[0].Join)
	assert.Equal(t, []string{"b"}, p.Changes[0].Leave)
	assert.Nil(t, p.Changes[0].Attrs)
}

func TestAbsentUsersFollowPolicy(t *testing.T) {
	cur := func() *state {
		gone := managed("e2", "Bo", "bo@x")
		already := managed("e3", "Cy", "cy@x")
		already.Inactive = true
		return &state{users: []usersync.Record{managed("e1", "Ann", "ann@x"), gone, already}}
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

func TestManualUsersAreNeverTouched(t *testing.T) {
	byHand := managed("e1", "Ann", "ann@x")
	byHand.Managed = false
	other := managed("m9", "Temp", "temp@x")
	other.Managed = false
	p := plan(t, &reconcile.Policy{Absent: reconcile.Delete},
		[]usersync.Record{row("e1", "Ann Changed", "ann@y", 2)},
		&state{users: []usersync.Record{byHand, other}})
	assert.Empty(t, p.Changes, "a manual user is neither updated, nor recreated, nor deleted")
	assert.Equal(t, 1, p.Manual)
	assert.Equal(t, 0, p.Population)
}

func TestUserWithRejectedRowIsNotMissing(t *testing.T) {
	feed := &usersync.Feed{
		Records:  []usersync.Record{row("e1", "Ann", "ann@x", 2)},
		Rejected: []*usersync.RowError{{File: "users.csv", Line: 3, Key: "e2", Err: errors.New("bad email")}},
	}
	cur := &state{users: []usersync.Record{managed("e1", "Ann", "ann@x"), managed("e2", "Bo", "bo@x")}}
	p, err := reconcile.New(nil).Reconcile(context.Background(), feed, cur)
	require.NoError(t, err)
	assert.Empty(t, p.Changes)
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
	assert.Equal(t, []string{"email"}, p.Changes[0].Attrs, "a restore also writes changed attributes")
	assert.Equal(t, "bo@x", p.Changes[0].User.Attrs.Value("email"))
}

func TestPlanOrderIsDeterministic(t *testing.T) {
	var feed []usersync.Record
	var users []usersync.Record
	for i := range 30 {
		k := fmt.Sprintf("e%02d", i)
		switch i % 3 {
		case 0:
			feed = append(feed, row(k, "N", "n@x", i+2, "g"+k))
		case 1:
			feed = append(feed, row(k, "Changed", "n@x", i+2))
			users = append(users, managed(k, "N", "n@x"))
		case 2:
			users = append(users, managed(k, "N", "n@x"))
		}
	}
	first := kinds(plan(t, &reconcile.Policy{RemoveGuard: reconcile.Guard{Disabled: true}}, feed, &state{users: users}))
	for range 5 {
		// Reverse the Sink's order: the plan must not depend on it.
		for i, j := 0, len(users)-1; i < j; i, j = i+1, j-1 {
			users[i], users[j] = users[j], users[i]
		}
		assert.Equal(t, first, kinds(plan(t, &reconcile.Policy{RemoveGuard: reconcile.Guard{Disabled: true}}, feed, &state{users: users})))
	}
	assert.Equal(t, "create-group ge00", first[0])
}

// population returns n managed users, and a feed that keeps all but drop of them.
func population(n, drop int) ([]usersync.Record, *state) {
	cur := &state{}
	var feed []usersync.Record
	for i := range n {
		k := fmt.Sprintf("e%05d", i)
		cur.users = append(cur.users, managed(k, "N", "n@x"))
		if i >= drop {
			feed = append(feed, row(k, "N", "n@x", i+2))
		}
	}
	return feed, cur
}

func TestRemoveGuard(t *testing.T) {
	for _, tc := range []struct {
		name      string
		n, drop   int
		guard     reconcile.Guard
		held      bool
		wantLimit string
	}{
		{"10% of 100 is allowed", 100, 10, reconcile.Guard{}, false, ""},
		{"11% of 100 is held", 100, 11, reconcile.Guard{}, true, "10% of 100 (10)"},
		{"below the minimum population only Max applies", 40, 30, reconcile.Guard{}, false, ""},
		{"more than Max is held", 6000, 501, reconcile.Guard{}, true, "500"},
		{"own percentage", 100, 30, reconcile.Guard{Percent: 25}, true, "25% of 100 (25)"},
		{"percentage off", 100, 30, reconcile.Guard{Percent: -1}, false, ""},
		{"max off", 10000, 900, reconcile.Guard{Max: -1}, false, ""},
		{"own min population", 40, 30, reconcile.Guard{MinPopulation: 10}, true, "10% of 40 (4)"},
		{"disabled", 100, 100, reconcile.Guard{Disabled: true}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			feed, cur := population(tc.n, tc.drop)
			if len(feed) == 0 {
				feed = []usersync.Record{row("new", "N", "n@x", 2)}
			}
			p := plan(t, &reconcile.Policy{RemoveGuard: tc.guard}, feed, cur)
			assert.Equal(t, tc.drop, p.Counts().Deactivated, "the plan is complete even when held")
			if !tc.held {
				assert.Nil(t, p.Hold)
				return
			}
			var ge *usersync.GuardError
			require.ErrorAs(t, p.Hold, &ge)
			assert.ErrorIs(t, p.Hold, usersync.ErrGuardTripped)
			assert.Equal(t, tc.drop, ge.Count)
			assert.Equal(t, tc.n, ge.Population)
			assert.Equal(t, tc.wantLimit, ge.Limit)
		})
	}
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

func ExampleNew() {
	feed := &usersync.Feed{Records: []usersync.Record{
		{Key: "e1", Attrs: usersync.NewAttrs("name", "Ann Berg"), Groups: []string{"nurses"}},
		{Key: "e3", Attrs: usersync.NewAttrs("name", "Cy Dahl")},
	}}
	current := &state{users: []usersync.Record{
		{Key: "e1", Attrs: usersync.NewAttrs("name", "Ann"), Managed: true},
		{Key: "e2", Attrs: usersync.NewAttrs("name", "Bo"), Managed: true},
		{Key: "m1", Attrs: usersync.NewAttrs("name", "Temp, by hand")},
	}}
	plan, err := reconcile.New(&reconcile.Policy{Absent: reconcile.Deactivate}).Reconcile(context.Background(), feed, current)
	if err != nil {
		panic(err)
	}
	for _, c := range plan.Changes {
		fmt.Println(c, c.Attrs, c.Join)
	}
	// Output:
	// create-group nurses [] []
	// create e3 [] []
	// update e1 [name] [nurses]
	// deactivate e2 [] []
}

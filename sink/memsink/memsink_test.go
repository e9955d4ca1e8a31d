package memsink_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/sink/sinktest"
)

func TestConformance(t *testing.T) {
	sinktest.RunConformanceTests(t, func(context.Context, *testing.T) (sinktest.Harness, error) {
		return &harness{memsink.New()}, nil
	})
}

// TestConformanceZero runs the suite on a zero Sink, which is ready to use.
func TestConformanceZero(t *testing.T) {
	sinktest.RunConformanceTests(t, func(context.Context, *testing.T) (sinktest.Harness, error) {
		return &harness{new(memsink.Sink)}, nil
	})
}

type harness struct{ s *memsink.Sink }

func (h *harness) MakeSink(context.Context) (usersync.Sink, error) { return h.s, nil }
func (h *harness) Close()                                          {}

func (h *harness) PutUser(_ context.Context, r usersync.Record) error {
	h.s.PutUser(r)
	return nil
}

func (h *harness) PutGroup(_ context.Context, g usersync.Group) error {
	h.s.PutGroup(g)
	return nil
}

func (h *harness) State(context.Context) ([]usersync.Record, []usersync.Group, error) {
	users, groups := h.s.Snapshot()
	return users, groups, nil
}

func create(key string, groups ...string) usersync.Change {
	return usersync.Change{
		Kind: usersync.CreateUser,
		User: usersync.Record{Key: key, Attrs: usersync.NewAttrs("name", key), Groups: groups},
		Join: groups,
	}
}

func TestFailOn(t *testing.T) {
	ctx := t.Context()
	errBoom := errors.New("boom")
	s := memsink.New()
	s.FailOn = func(c usersync.Change) error {
		if c.User.Key == "bad" {
			return errBoom
		}
		return nil
	}

	require.ErrorIs(t, s.Apply(ctx, create("bad")), errBoom)
	require.NoError(t, s.Apply(ctx, create("good")))
	errs := s.ApplyBatch(ctx, []usersync.Change{create("a"), create("bad"), create("b")})
	require.Len(t, errs, 3)
	assert.NoError(t, errs[0])
	assert.ErrorIs(t, errs[1], errBoom)
	assert.NoError(t, errs[2])

	users, _ := s.Snapshot()
	var keys []string
	for _, u := range users {
		keys = append(keys, u.Key)
	}
	assert.Equal(t, []string{"a", "b", "good"}, keys, "only the failed changes were left out")
}

// TestFailOnReadsSink checks that FailOn may look at the Sink: it is called
// without the lock held.
func TestFailOnReadsSink(t *testing.T) {
	s := memsink.New()
	s.FailOn = func(c usersync.Change) error {
		if _, ok := s.User(c.User.Key); ok {
			return fmt.Errorf("%s exists", c.User.Key)
		}
		return nil
	}
	require.NoError(t, s.Apply(t.Context(), create("a")))
	require.Error(t, s.Apply(t.Context(), create("a")))
	require.NotNil(t, s.ApplyBatch(t.Context(), []usersync.Change{create("a")}))
}

func TestJoinUnknownGroup(t *testing.T) {
	ctx := t.Context()
	s := memsink.New()
	s.PutGroup(usersync.Group{ID: "g1", Name: "One"})
	require.NoError(t, s.Apply(ctx, create("ann", "g1")))

	err := s.Apply(ctx, usersync.Change{
		Kind:  usersync.UpdateUser,
		User:  usersync.Record{Key: "ann", Attrs: usersync.NewAttrs("name", "Ann")},
		Attrs: []string{"name"},
		Join:  []string{"g2"},
		Leave: []string{"g1"},
	})
	require.ErrorIs(t, err, usersync.ErrNotFound)
	assert.Contains(t, err.Error(), `"g2"`, "the error names the group")

	u, ok := s.User("ann")
	require.True(t, ok)
	assert.Equal(t, "ann", u.Attrs.Value("name"), "the failed change changed nothing")
	assert.Equal(t, []string{"g1"}, u.Groups)
}

func TestCreateGroupNameDefaultsToID(t *testing.T) {
	s := memsink.New()
	require.NoError(t, s.Apply(t.Context(), usersync.Change{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "g1"}}))
	_, groups := s.Snapshot()
	assert.Equal(t, []usersync.Group{{ID: "g1", Name: "g1"}}, groups)
}

func TestInvalidChanges(t *testing.T) {
	for _, c := range []usersync.Change{
		{Kind: usersync.CreateGroup},
		{Kind: usersync.CreateUser},
		{Kind: 0, User: usersync.Record{Key: "a"}},
		{Kind: 99, User: usersync.Record{Key: "a"}},
	} {
		s := memsink.New()
		assert.Error(t, s.Apply(t.Context(), c), "%v", c)
		users, groups := s.Snapshot()
		assert.Empty(t, users)
		assert.Empty(t, groups)
	}
}

func TestCreateAdoptsHandMadeUser(t *testing.T) {
	s := memsink.New()
	s.PutUser(usersync.Record{Key: "ann", Attrs: usersync.NewAttrs("phone", "123"), Groups: []string{"x", "a", "x"}})
	u, _ := s.User("ann")
	assert.False(t, u.Managed)
	assert.Equal(t, []string{"a", "x"}, u.Groups, "PutUser sorts and deduplicates groups")

	require.NoError(t, s.Apply(t.Context(), create("ann")))
	u, _ = s.User("ann")
	assert.True(t, u.Managed)
	assert.Equal(t, map[string]string{"phone": "123", "name": "ann"}, u.Attrs.Map())
	assert.Equal(t, []string{"a", "x"}, u.Groups)
}

// TestLayoutShared checks that a partial update keeps the user's Layout
// instead of making one per user.
func TestLayoutShared(t *testing.T) {
	ctx := t.Context()
	feed := usersync.NewLayout("name", "title")
	s := memsink.New()
	for _, k := range []string{"a", "b"} {
		require.NoError(t, s.Apply(ctx, usersync.Change{Kind: usersync.CreateUser, User: usersync.Record{Key: k, Attrs: feed.Make([]string{k, "Nurse"})}}))
		require.NoError(t, s.Apply(ctx, usersync.Change{Kind: usersync.UpdateUser, User: usersync.Record{Key: k, Attrs: feed.Make([]string{k, "Head"})}, Attrs: []string{"title"}}))
		u, _ := s.User(k)
		assert.Same(t, feed, u.Attrs.Layout())
		assert.Equal(t, "Head", u.Attrs.Value("title"))
	}
}

// TestUsersWhileApplying checks that the loop over Users may change the
// Sink, and that users present throughout are listed once.
func TestUsersWhileApplying(t *testing.T) {
	ctx := t.Context()
	s := memsink.New()
	const n = 5000
	for i := range n {
		s.PutUser(usersync.Record{Key: fmt.Sprintf("u%04d", i)})
	}
	seen := map[string]int{}
	for r, err := range s.Users(ctx) {
		require.NoError(t, err)
		seen[r.Key]++
		if r.Key >= "u2500" { // delete some users, and create others
			require.NoError(t, s.Apply(ctx, usersync.Change{Kind: usersync.DeleteUser, User: r}))
			require.NoError(t, s.Apply(ctx, create("new-"+r.Key)))
		}
	}
	for i := range n / 2 {
		assert.Equal(t, 1, seen[fmt.Sprintf("u%04d", i)], "u%04d", i)
	}
}

func BenchmarkCreate(b *testing.B) {
	ctx := b.Context()
	l := usersync.NewLayout("name", "email", "title")
	s := memsink.New()
	s.PutGroup(usersync.Group{ID: "g1"})
	join := []string{"g1"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		key := fmt.Sprintf("E%07d", i)
		c := usersync.Change{
			Kind: usersync.CreateUser,
			User: usersync.Record{Key: key, Attrs: l.Make([]string{key, key + "@example.com", "Nurse"}), Groups: join},
			Join: join,
		}
		if err := s.Apply(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUsers(b *testing.B) {
	ctx := b.Context()
	s := memsink.New()
	a := usersync.NewAttrs("name", "Someone")
	for i := range 100_000 {
		s.PutUser(usersync.Record{Key: fmt.Sprintf("E%07d", i), Attrs: a})
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, err := range s.Users(ctx) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func TestInvitedOnceWhenBroughtIn(t *testing.T) {
	ctx := t.Context()
	s := memsink.New()
	auto := func(c usersync.Change) usersync.Change {
		c.Invite = usersync.InviteAuto
		return c
	}
	s.PutUser(usersync.Record{Key: "m-1", Attrs: usersync.NewAttrs("name", "By hand")})
	require.Nil(t, s.ApplyBatch(ctx, []usersync.Change{
		auto(create("E1")),
		auto(create("E1")), // applied again: no second invitation
		create("E2"),       // manual invitation: nobody is sent anything
		auto(usersync.Change{Kind: usersync.AdoptUser, User: usersync.Record{Key: "E3"}, OldKey: "m-1"}),
		auto(usersync.Change{Kind: usersync.AdoptUser, User: usersync.Record{Key: "E3"}, OldKey: "m-1"}),
	}))
	assert.Equal(t, []string{"E1", "E3"}, s.Invited())
	u, ok := s.User("E3")
	require.True(t, ok)
	assert.True(t, u.Managed)
	_, ok = s.User("m-1")
	assert.False(t, ok, "the adopted user has its new key")
}

// Drift edits a user by hand through PutUser, which bypasses Apply: the
// Sink's digests, computed from the users as they are, must follow.
func (h *harness) Drift(_ context.Context, d sinktest.Drift) error {
	r, ok := h.s.User(d.Key)
	if !ok {
		return fmt.Errorf("no user %q", d.Key)
	}
	switch d.Kind {
	case sinktest.DriftAttr:
		r.Attrs = r.Attrs.MergeAll(usersync.NewAttrs(d.Name, d.Value))
	case sinktest.DriftLeave:
		r.Groups = slices.DeleteFunc(slices.Clone(r.Groups), func(g string) bool { return g == d.Name })
	case sinktest.DriftInactive:
		r.Inactive = d.Inactive
	}
	h.s.PutUser(r)
	return nil
}

// TestDigestsKeyOrder lists digests after keys come, go, come back and
// move between listings: each key once, in order.
func TestDigestsKeyOrder(t *testing.T) {
	ctx := t.Context()
	s := memsink.New()
	keys := func() []string {
		var out []string
		for d, err := range s.Digests(ctx) {
			require.NoError(t, err)
			out = append(out, d.Key)
		}
		return out
	}
	for _, k := range []string{"c", "a", "b"} {
		require.NoError(t, s.Apply(ctx, create(k)))
	}
	assert.Equal(t, []string{"a", "b", "c"}, keys())
	require.NoError(t, s.Apply(ctx, usersync.Change{Kind: usersync.DeleteUser, User: usersync.Record{Key: "b"}}))
	require.NoError(t, s.Apply(ctx, create("b")))
	require.NoError(t, s.Apply(ctx, usersync.Change{Kind: usersync.DeleteUser, User: usersync.Record{Key: "b"}}))
	require.NoError(t, s.Apply(ctx, create("b")))
	require.NoError(t, s.Apply(ctx, usersync.Change{Kind: usersync.UpdateUser, User: usersync.Record{Key: "a2"}, OldKey: "c"}))
	require.NoError(t, s.Apply(ctx, create("d")))
	assert.Equal(t, []string{"a", "a2", "b", "d"}, keys())
	require.NoError(t, s.Apply(ctx, usersync.Change{Kind: usersync.DeleteUser, User: usersync.Record{Key: "a"}}))
	assert.Equal(t, []string{"a2", "b", "d"}, keys())
	assert.Equal(t, []string{"a2", "b", "d"}, keys())
}

package usersync_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/reconcile"
)

// day2 keeps one user of day1's three: a guard with Max 1 holds it.
const day2 = "id,name,email,groups\ne1,Ann Berg,ann@example.com,nurses\n"

// held runs day1, then day2 under a tight guard, and returns the held plan
// as an administrator would keep it: encoded as JSON.
func held(t *testing.T, e *env) []byte {
	t.Helper()
	e.put(t, "users.csv", day1)
	_, err := e.p.Run(context.Background())
	require.NoError(t, err)
	e.p.Reconciler = reconcile.New(&reconcile.Policy{RemoveGuard: reconcile.Guard{Max: 1}})
	e.put(t, "users.csv", day2)
	res, err := e.p.Run(context.Background())
	require.ErrorIs(t, err, usersync.ErrGuardTripped)
	require.Equal(t, usersync.Held, res.Status)
	b, err := json.Marshal(res.Plan)
	require.NoError(t, err)
	return b
}

func decode(t *testing.T, b []byte) *usersync.Plan {
	t.Helper()
	var p usersync.Plan
	require.NoError(t, json.Unmarshal(b, &p))
	return &p
}

func TestRunApprovedAppliesExactlyTheApprovedPlan(t *testing.T) {
	e := newEnv(t)
	src := tracked(e)
	plan := decode(t, held(t, e))
	assert.ErrorIs(t, plan.Hold, usersync.ErrGuardTripped, "the hold is kept for the reviewer")
	require.Equal(t, []string{"users.csv"}, []string{plan.Files[0].Name})
	assert.NotZero(t, plan.Fingerprint)

	e.events = nil
	res, err := e.p.RunApproved(context.Background(), plan)
	require.NoError(t, err)
	assert.Equal(t, usersync.Succeeded, res.Status)
	assert.Equal(t, 2, res.Applied.Deactivated)
	assert.Same(t, plan, res.Plan)
	assert.Equal(t, []string{"e1 Ann Berg active [nurses]", "e2 Bo Ek inactive [doctors nurses]", "e3 Cy Dahl inactive []"}, e.users())
	assert.Equal(t, map[string]error{"users.csv": nil}, src.finished, "the file is done with")
	assert.Equal(t, 1, res.Files[0].Records, "the file's counts come from the plan")

	var kinds []usersync.EventKind
	for _, ev := range e.events {
		kinds = append(kinds, ev.Kind)
	}
	assert.Equal(t, []usersync.EventKind{usersync.RunStarted, usersync.FileRead, usersync.PlanReady,
		usersync.ChangeApplied, usersync.ChangeApplied, usersync.RunFinished}, kinds)

	// Applied once, the plan is stale: the Sink is not what it was.
	_, err = e.p.RunApproved(context.Background(), plan)
	assert.ErrorIs(t, err, usersync.ErrStalePlan)
}

func TestRunApprovedRefusesWhenTheSinkChanged(t *testing.T) {
	e := newEnv(t)
	src := tracked(e)
	plan := decode(t, held(t, e))
	e.sink.PutUser(usersync.Record{Key: "m1", Attrs: usersync.NewAttrs("name", "Added by hand")})

	res, err := e.p.RunApproved(context.Background(), plan)
	var stale *usersync.StalePlanError
	require.ErrorAs(t, err, &stale)
	assert.Equal(t, plan.Fingerprint, stale.Want)
	assert.NotEqual(t, stale.Want, stale.Got)
	assert.Contains(t, err.Error(), "the sink changed since the plan was computed")
	assert.Equal(t, usersync.Failed, res.Status)
	assert.Zero(t, res.Applied.Total())
	assert.Contains(t, e.users(), "e2 Bo Ek active [doctors nurses]", "nothing applied")
	assert.ErrorIs(t, src.finished["users.csv"], usersync.ErrStalePlan, "the file stays for the next run")
}

func TestRunApprovedRefusesWhenTheFilesChanged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, e *env)
		file   string
		reason string
	}{
		{"changed", func(t *testing.T, e *env) { e.put(t, "users.csv", day2+"e4,Di,di@example.com,\n") }, "users.csv", "changed"},
		{"new", func(t *testing.T, e *env) { e.put(t, "b.csv", day1) }, "b.csv", "new"},
		{"gone", func(t *testing.T, e *env) { e.remove(t, "users.csv") }, "users.csv", "gone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			plan := decode(t, held(t, e))
			tc.change(t, e)
			_, err := e.p.RunApproved(context.Background(), plan)
			var stale *usersync.StalePlanError
			require.ErrorAs(t, err, &stale)
			assert.Equal(t, tc.file, stale.File)
			assert.Equal(t, tc.reason, stale.Reason)
			assert.Contains(t, e.users(), "e3 Cy Dahl active []", "nothing applied")
		})
	}
}

func TestRunApprovedDryRunOnlyChecks(t *testing.T) {
	e := newEnv(t)
	src := tracked(e)
	plan := decode(t, held(t, e))
	clear(src.finished)
	e.p.DryRun = true
	res, err := e.p.RunApproved(context.Background(), plan)
	require.NoError(t, err)
	assert.Equal(t, usersync.Planned, res.Status)
	assert.Contains(t, e.users(), "e3 Cy Dahl active []")
	assert.Empty(t, src.finished)
}

func TestRunApprovedWantsAPlanAPipelineComputed(t *testing.T) {
	e := newEnv(t)
	_, err := e.p.RunApproved(context.Background(), &usersync.Plan{})
	assert.ErrorContains(t, err, "the plan has no Fingerprint")
	_, err = e.p.RunApproved(context.Background(), nil)
	assert.ErrorContains(t, err, "nil plan")
}

func TestDryRunPlanCanBeApprovedLater(t *testing.T) {
	e := newEnv(t)
	e.put(t, "users.csv", day1)
	e.p.DryRun = true
	res, err := e.p.Run(context.Background())
	require.NoError(t, err)
	fp, err := usersync.ListFingerprint(context.Background(), e.sink)
	require.NoError(t, err)
	assert.Equal(t, fp, res.Plan.Fingerprint, "the plan's fingerprint is that of the state it was computed from")
	assert.Empty(t, e.users())

	e.p.DryRun = false
	res, err = e.p.RunApproved(context.Background(), res.Plan)
	require.NoError(t, err)
	assert.Equal(t, 3, res.Applied.Created)
}

// The users and groups of a small directory, to fingerprint.
func fingerprintState() ([]usersync.Record, []usersync.Group) {
	users := []usersync.Record{
		{Key: "e1", Attrs: usersync.NewAttrs("name", "Ann"), Groups: []string{"a", "b"}, Managed: true},
		{Key: "e2", Attrs: usersync.NewAttrs("name", "Bo", "title", "Nurse"), Managed: true, MissingRuns: 1, MissingSince: 1_790_000_000},
		{Key: "m1", Attrs: usersync.NewAttrs("name", "By hand")},
	}
	return users, []usersync.Group{{ID: "a", Name: "A"}, {ID: "b", Name: "B"}}
}

func TestFingerprintSeesEveryFieldButNotTheOrder(t *testing.T) {
	users, groups := fingerprintState()
	base := fingerprint(t, users, groups)
	assert.Equal(t, base, fingerprint(t, []usersync.Record{users[2], users[0], users[1]}, []usersync.Group{groups[1], groups[0]}))

	for _, tc := range []struct {
		name   string
		change func(u []usersync.Record, g []usersync.Group) ([]usersync.Record, []usersync.Group)
	}{
		{"key", func(u []usersync.Record, g []usersync.Group) ([]usersync.Record, []usersync.Group) {
			u[0].Key = "e9"
			return u, g
		}},
		{"value", func(u []usersync.Record, g []usersync.Group) ([]usersync.Record, []usersync.Group) {
			u[0].Attrs = usersync.NewAttrs("name", "Anne")
			return u, g
		}},
		{"attribute name", func(u []usersync.Record, g []usersync.Group) ([]usersync.Record, []usersync.Group) {
			u[0].Attrs = usersync.NewAttrs("nick", "Ann")
			return u, g
		}},
		{"membership", func(u []usersync.Record, g []usersync.Group) ([]usersync.Record, []usersync.Group) {
			u[0].Groups = u[0].Groups[:1]
			return u, g
		}},
		{"inactive", func(u []usersync.Record, g []usersync.Group) ([]usersync.Record, []usersync.Group) {
			u[0].Inactive = true
			return u, g
		}},
		{"managed", func(u []usersync.Record, g []usersync.Group) ([]usersync.Record, []usersync.Group) {
			u[2].Managed = true
			return u, g
		}},
		{"missing runs", func(u []usersync.Record, g []usersync.Group) ([]usersync.Record, []usersync.Group) {
			u[1].MissingRuns = 2
			return u, g
		}},
		{"missing since", func(u []usersync.Record, g []usersync.Group) ([]usersync.Record, []usersync.Group) {
			u[1].MissingSince++
			return u, g
		}},
		{"a user more", func(u []usersync.Record, g []usersync.Group) ([]usersync.Record, []usersync.Group) {
			return append(u, usersync.Record{Key: "m2"}), g
		}},
		{"group name", func(u []usersync.Record, g []usersync.Group) ([]usersync.Record, []usersync.Group) {
			g[0].Name = "AA"
			return u, g
		}},
		{"a group less", func(u []usersync.Record, g []usersync.Group) ([]usersync.Record, []usersync.Group) { return u, g[:1] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, g := fingerprintState()
			u, g = tc.change(u, g)
			assert.NotEqual(t, base, fingerprint(t, u, g))
		})
	}
}

func fingerprint(t *testing.T, users []usersync.Record, groups []usersync.Group) usersync.Fingerprint {
	t.Helper()
	f, err := usersync.ListFingerprint(context.Background(), fixedLister{users, groups})
	require.NoError(t, err)
	return f
}

type fixedLister struct {
	users  []usersync.Record
	groups []usersync.Group
}

func (l fixedLister) Users(context.Context) iter.Seq2[usersync.Record, error] {
	return func(yield func(usersync.Record, error) bool) {
		for _, u := range l.users {
			if !yield(u, nil) {
				return
			}
		}
	}
}

func (l fixedLister) Groups(context.Context) iter.Seq2[usersync.Group, error] {
	return func(yield func(usersync.Group, error) bool) {
		for _, g := range l.groups {
			if !yield(g, nil) {
				return
			}
		}
	}
}

// groupNaming is a Mapper whose readers know group names.
type groupNaming struct{ usersync.Mapper }

func (m groupNaming) NewReader(r io.Reader, f usersync.FileInfo) (usersync.RecordReader, error) {
	rr, err := m.Mapper.NewReader(r, f)
	return namedGroups{rr}, err
}

type namedGroups struct{ usersync.RecordReader }

func (namedGroups) Groups() []usersync.Group { return []usersync.Group{{ID: "nurses", Name: "Nurses"}} }

// feedCatcher is a Reconciler that keeps the feed it is given, and lists
// the Sink's users only halfway.
type feedCatcher struct{ feed *usersync.Feed }

func (c *feedCatcher) Reconcile(ctx context.Context, feed *usersync.Feed, l usersync.Lister) (*usersync.Plan, error) {
	c.feed = feed
	for range l.Users(ctx) {
		break
	}
	return &usersync.Plan{}, nil
}

func TestFeedCarriesTheRunsTimeAndGroupNames(t *testing.T) {
	e := newEnv(t)
	start := time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)
	e.p.Now = func() time.Time { return start }
	e.p.Mapper = groupNaming{e.p.Mapper}
	catcher := &feedCatcher{}
	e.p.Reconciler = catcher
	e.sink.PutUser(usersync.Record{Key: "m1"})
	e.put(t, "users.csv", day1)
	res, err := e.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, start, catcher.feed.Time)
	assert.Equal(t, start, res.Plan.Time)
	assert.Equal(t, []usersync.Group{{ID: "nurses", Name: "Nurses"}}, catcher.feed.Groups)
	fp, err := usersync.ListFingerprint(context.Background(), e.sink)
	require.NoError(t, err)
	assert.Equal(t, fp, res.Plan.Fingerprint, "what the Reconciler did not list, the Pipeline lists")
}

func TestPlanJSONKeepsEverything(t *testing.T) {
	users, _ := fingerprintState()
	plan := &usersync.Plan{
		Changes: usersync.NewChangeList([]usersync.Change{
			{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "a", Name: "A"}},
			{Kind: usersync.AdoptUser, Invite: usersync.InviteAuto, User: users[0], Attrs: []string{"name"}, Join: []string{"a"},
				Leave: []string{"c"}, OldKey: "m-17", Before: usersync.NewAttrs("name", "Annie")},
			{Kind: usersync.MarkMissing, User: users[1]},
		}...),
		Unchanged: 3, Manual: 1, Population: 10,
		Rejected: []*usersync.RowError{{File: "users.csv", Line: 7, Column: "Mail", Value: "x", Key: "e7", Err: errors.New("invalid email address")}},
		Warnings: []*usersync.RowError{{File: "users.csv", Line: 9, Column: "manager", Value: "boss@x", Key: "e9", Err: errors.New("manager not found")}},
		Hold: errors.Join(
			&usersync.GuardError{Guard: "updates and restores", Count: 9, Population: 10, Limit: "75% of 10 (7)"},
			&usersync.GuardError{Guard: "deactivations and deletions", Count: 2, Population: 10, Limit: "1"}),
		WarningsTotal: 1,
		Time:          time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC),
		Files:         []usersync.PlanFile{{Name: "users.csv", Size: 123, SHA256: "ab", Records: 9, Rejected: 1}},
		Fingerprint:   usersync.Fingerprint{1, 2, 3},
	}
	b, err := json.Marshal(plan)
	require.NoError(t, err)
	back := decode(t, b)
	again, err := json.Marshal(back)
	require.NoError(t, err)
	assert.Equal(t, string(b), string(again))

	var guards []*usersync.GuardError
	for _, err := range back.Hold.(interface{ Unwrap() []error }).Unwrap() {
		var ge *usersync.GuardError
		require.ErrorAs(t, err, &ge)
		guards = append(guards, ge)
	}
	assert.Len(t, guards, 2)
	assert.ErrorIs(t, back.Hold, usersync.ErrGuardTripped)
	assert.Equal(t, plan.Rejected[0].Error(), back.Rejected[0].Error())
	assert.Equal(t, plan.Warnings[0].Error(), back.Warnings[0].Error())
	assert.Equal(t, []string{"name", "title"}, synctest.Changes(t, back)[2].User.Attrs.Layout().Names(), "attributes keep their order")
	assert.Same(t, synctest.Changes(t, back)[1].User.Attrs.Layout(), synctest.Changes(t, back)[1].Before.Layout(), "one Layout per set of names")
	assert.JSONEq(t, `{"kind":"adopt","invite":"auto","user":{"key":"e1","attrs":{"name":"Ann"},"groups":["a","b"],"managed":true},
		"attrs":["name"],"join":["a"],"leave":["c"],"old_key":"m-17","before":{"name":"Annie"}}`, mustJSON(t, synctest.Changes(t, plan)[1]))

	for _, bad := range []string{`{"changes":[{"user":{"key":"x","attrs":{"a":"1","a":"2"}}}]}`, `{"changes":[{"user":{"attrs":{"a":1}}}]}`, `{"fingerprint":"zz"}`} {
		assert.Error(t, json.Unmarshal([]byte(bad), new(usersync.Plan)), bad)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// openFails is a Source whose files cannot be opened.
type openFails struct{ usersync.Source }

func (openFails) Open(context.Context, string) (io.ReadCloser, error) {
	return nil, errors.New("permission denied")
}

func TestRunApprovedFailsOnAFileItCannotRead(t *testing.T) {
	e := newEnv(t)
	plan := decode(t, held(t, e))
	e.p.Source = openFails{e.src}
	res, err := e.p.RunApproved(context.Background(), plan)
	var fe *usersync.FileError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "open", fe.Op)
	assert.Equal(t, res.Files[0].Err, err)
	assert.Contains(t, e.users(), "e3 Cy Dahl active []", "nothing applied")
}

func TestRecordAndHoldJSON(t *testing.T) {
	r := usersync.Record{Key: "e1", Attrs: usersync.NewAttrs("title", "Nurse", "name", "Ann"), Groups: []string{"a"},
		Inactive: true, Managed: true, MissingRuns: 2, MissingSince: 1_790_000_000, Origin: usersync.Position{File: "users.csv", Line: 3}}
	b := mustJSON(t, r)
	assert.JSONEq(t, `{"key":"e1","attrs":{"title":"Nurse","name":"Ann"},"groups":["a"],"inactive":true,"managed":true,
		"missing_runs":2,"missing_since":1790000000,"file":"users.csv","line":3}`, b)
	var back usersync.Record
	require.NoError(t, json.Unmarshal([]byte(b), &back))
	assert.Equal(t, b, mustJSON(t, back))
	assert.True(t, back.Missing())

	// A hold that is not a GuardError keeps its message, and ErrGuardTripped.
	p := decode(t, []byte(mustJSON(t, &usersync.Plan{Hold: errors.New("held by the host")})))
	assert.EqualError(t, p.Hold, "held by the host")
	assert.ErrorIs(t, p.Hold, usersync.ErrGuardTripped)
}

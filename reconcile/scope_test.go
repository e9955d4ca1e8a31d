package reconcile_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/report"
)

// A user whose row a filter leaves out of scope is absent, as one whose row
// is gone, and the change says why.
func TestOutOfScopeUsersAreAbsentWithAReason(t *testing.T) {
	cur := &state{users: []usersync.Record{
		managed("e1", "Ann", "ann@x"), managed("e2", "Bo", "bo@x"), managed("e3", "Cy", "cy@x"), manual("e4", "Di", "di@x"),
	}}
	feed := func() *usersync.Feed {
		return &usersync.Feed{
			Records: []usersync.Record{row("e1", "Ann", "ann@x", 2)},
			// Not in order of key: a feed built by hand need not be.
			OutOfScope: []usersync.OutOfScope{{Key: "e4", Rule: "contractors"}, {Key: "e2", Rule: "contractors"}, {Key: "e9", Rule: "acme-only"}},
		}
	}
	noGuard := reconcile.Guard{Disabled: true}
	for _, tc := range []struct {
		name   string
		policy reconcile.Policy
		want   []string
	}{
		{"deactivate", reconcile.Policy{RemoveGuard: noGuard},
			[]string{"deactivate e2: out of scope: rule contractors", "deactivate e3: "}},
		{"delete", reconcile.Policy{Absent: reconcile.Delete, RemoveGuard: noGuard},
			[]string{"delete e2: out of scope: rule contractors", "delete e3: "}},
		{"grace", reconcile.Policy{Grace: reconcile.Grace{Runs: 2}, RemoveGuard: noGuard},
			[]string{"mark-missing e2: out of scope: rule contractors", "mark-missing e3: "}},
		{"ignore", reconcile.Policy{Absent: reconcile.Ignore}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := planFeed(t, &tc.policy, feed(), cur)
			var got []string
			for _, c := range synctest.Changes(t, p) {
				got = append(got, c.String()+": "+c.Reason)
			}
			assert.Equal(t, tc.want, got, "a user created by hand (e4) is left alone, in scope or not")
			var diff strings.Builder
			require.NoError(t, reconcile.WriteDiff(&diff, p))
			if tc.want != nil {
				assert.Contains(t, diff.String(), "e2: ")
				assert.Contains(t, diff.String(), "out of scope: rule contractors")
			}
		})
	}
}

// Through the Pipeline: a user who moves out of scope is deactivated, the
// report says why, and the rows out of scope are counted, never rejected.
func TestOutOfScope_ThroughThePipeline(t *testing.T) {
	n := newNightly(t, &reconcile.Policy{RemoveGuard: reconcile.Guard{Disabled: true}})
	m, err := csvmap.New(csvmap.Schema{
		Columns: []csvmap.Column{
			{Name: "id", Role: csvmap.Key},
			{Name: "name", Required: true},
			{Name: "email", Kind: csvmap.Email},
			{Name: "type", Role: csvmap.Ignore},
		},
		Filters: []csvmap.Filter{{Name: "contractors", Mode: csvmap.Exclude, Column: "type", Values: []string{"Contractor"}}},
	}, nil)
	require.NoError(t, err)
	n.p.Mapper = m

	res := n.run(map[string]string{"users.csv": "id,name,email,type\ne1,Ann,ann@x,Employee\ne2,Bo,bo@x,Employee\ne3,Cy,not an email,Contractor\n"})
	assert.Equal(t, 2, res.Applied.Created)
	assert.Equal(t, 1, res.OutOfScope())
	assert.Empty(t, res.Rejected, "a row out of scope is not checked")

	// Bo becomes a contractor.
	res = n.run(map[string]string{"users.csv": "id,name,email,type\ne1,Ann,ann@x,Employee\ne2,Bo,bo@x,Contractor\ne3,Cy,cy@x,Contractor\n"})
	assert.Equal(t, 1, res.Applied.Deactivated)
	assert.True(t, n.user("e2").Inactive)
	assert.Equal(t, 2, res.Files[0].Format.OutOfScope)

	s := report.NewSummary(res, nil)
	assert.Equal(t, 2, s.Counts.OutOfScope)
	var reasons []string
	for _, l := range s.Changes {
		for _, c := range l.Items {
			reasons = append(reasons, c.Key+": "+c.Reason)
		}
	}
	assert.Equal(t, []string{"e2: out of scope: rule contractors"}, reasons)
	var b strings.Builder
	require.NoError(t, report.WriteText(&b, s))
	assert.Contains(t, b.String(), "Bo (e2): out of scope: rule contractors")
	assert.Contains(t, b.String(), "2 out of scope")
	assert.Contains(t, b.String(), "Rows out of scope")
}

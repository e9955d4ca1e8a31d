package reconcile_test

import (
	"archive/zip"
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/decrypt/unpack"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source/memsource"
)

// nightly is a Pipeline over in-memory parts, run night after night.
type nightly struct {
	t    *testing.T
	src  *memsource.Source
	sink *memsink.Sink
	p    *usersync.Pipeline
	day  time.Time
}

func newNightly(t *testing.T, policy *reconcile.Policy) *nightly {
	m, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Role: csvmap.Key},
		{Name: "name", Required: true},
		{Name: "email", Kind: csvmap.Email},
	}}, nil)
	require.NoError(t, err)
	n := &nightly{t: t, src: memsource.New(), sink: memsink.New(), day: now}
	n.p = &usersync.Pipeline{Source: n.src, Mapper: m, Reconciler: reconcile.New(policy), Sink: n.sink,
		Now: func() time.Time { return n.day }}
	return n
}

// run puts the files and syncs them; the next run is a day later.
func (n *nightly) run(files map[string]string) *usersync.Result {
	n.t.Helper()
	for _, f := range must(n.src.List(n.t.Context())) {
		require.NoError(n.t, n.src.Remove(n.t.Context(), f.Name))
	}
	for name, data := range files {
		require.NoError(n.t, n.src.Put(name, []byte(data), n.day))
	}
	res, err := n.p.Run(n.t.Context())
	require.NoError(n.t, err)
	n.day = n.day.Add(24 * time.Hour)
	return res
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func (n *nightly) user(key string) usersync.Record {
	n.t.Helper()
	u, ok := n.sink.User(key)
	require.True(n.t, ok, "no user %s", key)
	return u
}

const (
	threeUsers = "id,name,email\ne1,Ann,ann@x\ne2,Bo,bo@x\ne3,Cy,cy@x\n"
	twoUsers   = "id,name,email\ne1,Ann,ann@x\ne2,Bo,bo@x\n"
)

func TestGrace_ThroughThePipeline(t *testing.T) {
	n := newNightly(t, &reconcile.Policy{Grace: reconcile.Grace{Runs: 1}, RemoveGuard: reconcile.Guard{Disabled: true}})
	n.run(map[string]string{"users.csv": threeUsers})

	// Night two: Cy is missing, and kept, marked.
	res := n.run(map[string]string{"users.csv": twoUsers})
	assert.Equal(t, 1, res.Applied.MarkedMissing)
	cy := n.user("e3")
	assert.False(t, cy.Inactive)
	assert.Equal(t, uint16(1), cy.MissingRuns)
	assert.Equal(t, now.Add(24*time.Hour).Unix(), cy.MissingSince, "the run's start")

	// A dry run counts no run.
	n.p.DryRun = true
	res = n.run(map[string]string{"users.csv": twoUsers})
	assert.Equal(t, 1, res.Plan.Counts().Deactivated, "it would deactivate")
	assert.False(t, n.user("e3").Inactive)
	n.p.DryRun = false

	// Night three: the grace period is over.
	res = n.run(map[string]string{"users.csv": twoUsers})
	assert.Equal(t, 1, res.Applied.Deactivated)
	assert.True(t, n.user("e3").Inactive)

	// Night four: Cy is back, the same user as before.
	res = n.run(map[string]string{"users.csv": threeUsers})
	assert.Equal(t, 1, res.Applied.Restored)
	cy = n.user("e3")
	assert.False(t, cy.Inactive)
	assert.False(t, cy.Missing())
}

func TestAccounts_ThroughThePipeline(t *testing.T) {
	n := newNightly(t, &reconcile.Policy{Accounts: []reconcile.Account{
		{File: "akron.csv", Group: "akron", Name: "Akron Branch"},
		{File: "scranton.csv", Group: "scranton", Name: "Scranton branch"},
	}})
	n.run(map[string]string{
		"akron.csv":    "id,name,email\ne1,Ann,ann@x\ne2,Bo,bo@x\n",
		"scranton.csv": "id,name,email\ne2,Bo,bo@x\ne3,Cy,cy@x\n",
	})
	assert.Equal(t, []string{"akron", "scranton"}, n.user("e2").Groups, "a regional manager in two accounts")
	_, groups := n.sink.Snapshot()
	assert.Equal(t, []usersync.Group{{ID: "akron", Name: "Akron Branch"}, {ID: "scranton", Name: "Scranton branch"}}, groups)

	res := n.run(map[string]string{
		"akron.csv":    "id,name,email\ne1,Ann,ann@x\n",
		"scranton.csv": "id,name,email\ne2,Bo,bo@x\n",
	})
	assert.Equal(t, 1, res.Applied.Updated)
	assert.Equal(t, 1, res.Applied.Deactivated)
	assert.Equal(t, []string{"scranton"}, n.user("e2").Groups, "Bo left Akron only")
	assert.True(t, n.user("e3").Inactive, "Cy is in no file any more")
}

// The files of a zip belong to the accounts their own names match.
func TestAccounts_FilesOfAZip(t *testing.T) {
	n := newNightly(t, &reconcile.Policy{Accounts: []reconcile.Account{
		{File: "akron.csv", Group: "akron", Name: "Akron Branch"},
		{File: "scranton.csv", Group: "scranton", Name: "Scranton branch"},
	}})
	n.p.Unpacker = unpack.New(nil)
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	for name, data := range map[string]string{
		"akron.csv":    "id,name,email\ne1,Ann,ann@x\ne2,Bo,bo@x\n",
		"scranton.csv": "id,name,email\ne2,Bo,bo@x\ne3,Cy,cy@x\n",
	} {
		w, err := zw.Create(name)
		require.NoError(t, err)
		_, err = w.Write([]byte(data))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	res := n.run(map[string]string{"branches.zip": zipped.String()})
	assert.Equal(t, 3, res.Applied.Created)
	assert.Equal(t, []string{"akron", "scranton"}, n.user("e2").Groups)
	assert.Equal(t, []string{"scranton"}, n.user("e3").Groups)
}

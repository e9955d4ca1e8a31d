package usersync_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
	"github.com/usersync/usersync/source/memsource"
)

// relatedMapper reads a users file, a groups file and a memberships file.
func relatedMapper(t testing.TB) usersync.Mapper {
	t.Helper()
	users, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Role: csvmap.Key},
		{Name: "name", Required: true},
	}}, nil)
	require.NoError(t, err)
	groups, err := csvmap.New(csvmap.Schema{File: csvmap.GroupsFile, Columns: []csvmap.Column{
		{Name: "id", Header: "group_id", Role: csvmap.Key},
		{Name: csvmap.GroupName, Required: true},
		{Name: csvmap.GroupParent},
		{Name: csvmap.GroupAccount},
	}}, nil)
	require.NoError(t, err)
	members, err := csvmap.New(csvmap.Schema{File: csvmap.MembershipsFile, Columns: []csvmap.Column{
		{Name: "user", Header: "user_id", Role: csvmap.Key},
		{Name: "group", Header: "group_id", Role: csvmap.Groups},
	}}, nil)
	require.NoError(t, err)
	m, err := csvmap.NewByName(
		csvmap.Route{Pattern: "users*.csv", Mapper: users},
		csvmap.Route{Pattern: "groups*.csv", Mapper: groups},
		csvmap.Route{Pattern: "memberships*.csv", Mapper: members},
	)
	require.NoError(t, err)
	return m
}

const (
	relUsers  = "id,name\ne1,Ann\ne2,Bo\ne3,Cy\n"
	relGroups = "group_id,name,parent,account\n" +
		"staff,All staff,,acme\n" +
		"nurses,Nurses,staff,acme\n" +
		"icu,ICU,nurses,acme\n"
	relMembers = "user_id,group_id\n" +
		"e1,icu\n" +
		"e1,nurses\n" +
		"e2,nurses\n" +
		"e9,nurses\n" + // line 5: a user in no users file
		"e3,night\n" // line 6: a group the groups file does not list
)

// relatedSink is a Sink that lists, and how to close it.
type relatedSink interface {
	usersync.Sink
	usersync.Lister
}

// relatedSinks are the Sinks the related-files tests run over.
var relatedSinks = map[string]func(t *testing.T) relatedSink{
	"memsink": func(*testing.T) relatedSink { return memsink.New() },
	"sqlsink SQLite": func(t *testing.T) relatedSink {
		db, err := sqlite.Open(filepath.Join(t.TempDir(), "users.db"))
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		s, err := sqlsink.New(t.Context(), db, sqlsink.SQLite, nil)
		require.NoError(t, err)
		return s
	},
}

// listed returns what the Sink holds: users as "key name [groups]", groups
// as "id name parent account".
func listed(t *testing.T, l usersync.Lister) (users, groups []string) {
	t.Helper()
	for u, err := range l.Users(t.Context()) {
		require.NoError(t, err)
		users = append(users, fmt.Sprintf("%s %s %v", u.Key, u.Attrs.Value("name"), u.Groups))
	}
	for g, err := range l.Groups(t.Context()) {
		require.NoError(t, err)
		groups = append(groups, strings.TrimSpace(fmt.Sprintf("%s %q %s %s", g.ID, g.Name, g.Parent, g.Account)))
	}
	return users, groups
}

func TestRelatedFiles(t *testing.T) {
	for name, newSink := range relatedSinks {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			src := memsource.New()
			sink := newSink(t)
			p := &usersync.Pipeline{Source: src, Mapper: relatedMapper(t), Reconciler: reconcile.New(nil), Sink: sink,
				MemoryBudget: 1 << 10} // the smallest spool chunks
			put := func(name, data string) { require.NoError(t, src.Put(name, []byte(data), time.Now())) }
			put("users.csv", relUsers)
			put("groups.csv", relGroups)
			put("memberships.csv", relMembers)

			res, err := p.Run(ctx)
			require.NoError(t, err)
			require.Equal(t, usersync.Succeeded, res.Status)
			users, groups := listed(t, sink)
			assert.ElementsMatch(t, []string{"e1 Ann [icu nurses]", "e2 Bo [nurses]", "e3 Cy []"}, users)
			assert.ElementsMatch(t, []string{`icu "ICU" nurses acme`, `nurses "Nurses" staff acme`, `staff "All staff"  acme`}, groups,
				"display names and parents from the groups file; staff is created as a parent")

			var msgs []string
			for _, re := range res.Rejected {
				msgs = append(msgs, re.Error())
			}
			assert.Equal(t, []string{
				`memberships.csv:5: user "e9" is not in the users file users.csv`,
				`memberships.csv:6: group "night" is not in the groups file groups.csv`,
			}, msgs, "references to a missing user or group are rows rejected, naming both files")
			var ref *usersync.ReferenceError
			require.ErrorAs(t, res.Rejected[0], &ref)
			assert.Equal(t, "user", ref.Kind)
			assert.Equal(t, 2, res.RejectedTotal)
			for _, f := range res.Files {
				switch f.Name {
				case "memberships.csv":
					assert.Equal(t, 3, f.Records, "every good row counts")
					assert.Equal(t, 2, f.Rejected)
				case "users.csv":
					assert.Equal(t, 3, f.Records)
				case "groups.csv":
					assert.Equal(t, 0, f.Records, "a groups file gives groups, not records")
					assert.NoError(t, f.Err)
				}
			}

			// The next night: e1 left icu, nurses moved under a new group.
			put("groups.csv", strings.Replace(relGroups, "nurses,Nurses,staff", "nurses,Nurses,care", 1)+"care,Care,,acme\n")
			put("memberships.csv", "user_id,group_id\ne1,nurses\ne2,nurses\ne2,care\n")
			res, err = p.Run(ctx)
			require.NoError(t, err)
			require.Equal(t, usersync.Succeeded, res.Status)
			assert.Empty(t, res.Rejected)
			assert.Equal(t, usersync.Counts{GroupsCreated: 1, GroupsRenamed: 1, Updated: 2, Unchanged: 1}, res.Applied)
			users, groups = listed(t, sink)
			assert.ElementsMatch(t, []string{"e1 Ann [nurses]", "e2 Bo [care nurses]", "e3 Cy []"}, users)
			assert.ElementsMatch(t, []string{`care "Care"  acme`, `icu "ICU" nurses acme`, `nurses "Nurses" care acme`, `staff "All staff"  acme`}, groups)

			// A memberships file that fails fails the run: nothing applies.
			put("users.csv", relUsers+"e4,Dee\n")
			put("memberships.csv", "user_id,group_id\ne1,icu\ne4,\"nurses\n")
			res, err = p.Run(ctx)
			require.Error(t, err)
			assert.Equal(t, usersync.Failed, res.Status)
			var fe *usersync.FileError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, "memberships.csv", fe.File)
			assert.Nil(t, res.Plan)
			after, _ := listed(t, sink)
			assert.Equal(t, users, after, "the snapshot is all or nothing")
		})
	}
}

func TestRelatedFilesWithoutGroupsFile(t *testing.T) {
	src := memsource.New()
	sink := memsink.New()
	p := &usersync.Pipeline{Source: src, Mapper: relatedMapper(t), Reconciler: reconcile.New(nil), Sink: sink}
	require.NoError(t, src.Put("users.csv", []byte(relUsers), time.Now()))
	require.NoError(t, src.Put("memberships.csv", []byte(relMembers), time.Now()))
	res, err := p.Run(context.Background())
	require.NoError(t, err)
	require.Len(t, res.Rejected, 1, "without a groups file, any group goes")
	assert.Equal(t, `memberships.csv:5: user "e9" is not in the users file users.csv`, res.Rejected[0].Error())
	users, groups := listed(t, sink)
	assert.ElementsMatch(t, []string{"e1 Ann [icu nurses]", "e2 Bo [nurses]", "e3 Cy [night]"}, users)
	assert.ElementsMatch(t, []string{`icu "icu"`, `night "night"`, `nurses "nurses"`}, groups)
}

// TestRelatedFilesSpill syncs memberships that spill to disk in many runs.
func TestRelatedFilesSpill(t *testing.T) {
	const n = 3000
	var us, ms strings.Builder
	us.WriteString("id,name\n")
	ms.WriteString("user_id,group_id\n")
	for i := range n {
		fmt.Fprintf(&us, "u%05d,User %d\n", n-i, i) // keys in falling order
		fmt.Fprintf(&ms, "u%05d,g%d\nu%05d,all\n", i+1, i%7, i+1)
	}
	src := memsource.New()
	sink := memsink.New()
	p := &usersync.Pipeline{Source: src, Mapper: relatedMapper(t), Reconciler: reconcile.New(nil), Sink: sink, MemoryBudget: 1 << 10}
	require.NoError(t, src.Put("users.csv", []byte(us.String()), time.Now()))
	require.NoError(t, src.Put("memberships.csv", []byte(ms.String()), time.Now()))
	res, err := p.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, usersync.Succeeded, res.Status)
	assert.Equal(t, n, res.Applied.Created)
	for i := range n {
		u, ok := sink.User(fmt.Sprintf("u%05d", i+1))
		require.True(t, ok)
		require.Equal(t, []string{"all", fmt.Sprintf("g%d", i%7)}, u.Groups, "user %d", i+1)
	}
}

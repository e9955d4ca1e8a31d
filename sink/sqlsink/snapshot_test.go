package sqlsink

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
)

// TestSQLiteSnapshot commits a change while a SQLite listing opens its
// second connection, right where the second could see a state the first
// does not: the listing must notice, and try again, or, if changes keep
// coming, read from its first connection alone. Either way each user is
// in the group its attribute names, as the change writes both at once.
func TestSQLiteSnapshot(t *testing.T) {
	for _, commits := range []int{1, snapshotAttempts} {
		t.Run(fmt.Sprintf("%d commits", commits), func(t *testing.T) {
			ctx := t.Context()
			db, err := sqlite.Open(filepath.Join(t.TempDir(), "users.db"))
			require.NoError(t, err)
			defer db.Close()
			s, err := New(ctx, db, SQLite, nil)
			require.NoError(t, err)
			cs := []usersync.Change{
				{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "a", Name: "A"}},
				{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "b", Name: "B"}},
			}
			for k := range 3 * listBatch {
				r := usersync.Record{Key: fmt.Sprintf("U%04d", k), Attrs: usersync.NewAttrs("in", "a"), Groups: []string{"a"}}
				cs = append(cs, usersync.Change{Kind: usersync.CreateUser, User: r, Join: r.Groups})
			}
			require.NoError(t, errors.Join(s.ApplyBatch(ctx, cs)...))

			calls, moved := 0, 0
			s.testHookSnapshot = func() {
				if calls++; moved < commits {
					require.NoError(t, errors.Join(s.ApplyBatch(ctx, moveAll(moved%2 == 0))...))
					moved++
				}
			}
			n := 0
			for r, err := range s.Users(ctx) {
				require.NoError(t, err)
				require.Equal(t, []string{r.Attrs.Value("in")}, r.Groups, "user %s", r.Key)
				n++
			}
			require.Equal(t, 3*listBatch, n)
			require.Equal(t, min(commits+1, snapshotAttempts), calls, "attempts")
		})
	}
}

// moveAll moves every user of TestSQLiteSnapshot to group b, or back to a.
func moveAll(toB bool) []usersync.Change {
	from, to := "a", "b"
	if !toB {
		from, to = to, from
	}
	var cs []usersync.Change
	for k := range 3 * listBatch {
		r := usersync.Record{Key: fmt.Sprintf("U%04d", k), Attrs: usersync.NewAttrs("in", to)}
		cs = append(cs, usersync.Change{Kind: usersync.UpdateUser, User: r, Attrs: []string{"in"}, Join: []string{to}, Leave: []string{from}})
	}
	return cs
}

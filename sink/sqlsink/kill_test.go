package sqlsink_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
)

// killEnv makes the test binary a child that syncs killUsers users into
// the database it names ("dialect prefix dsn") and is killed meanwhile.
const killEnv = "USERSYNC_SQLSINK_KILL_CHILD"

const (
	killUsers = 20000
	killBatch = 200
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(killEnv); spec != "" {
		if err := killChild(spec); err != nil {
			fmt.Fprintln(os.Stderr, "kill child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// killFeed is the desired directory: every user in two of ten groups.
func killFeed() *usersync.Feed {
	l := usersync.NewLayout("name", "email", "title")
	feed := &usersync.Feed{Time: time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)}
	for i := range killUsers {
		key := fmt.Sprintf("E%06d", i)
		g1, g2 := fmt.Sprintf("g%d", i%10), fmt.Sprintf("g%d", (i+3)%10)
		if g2 < g1 {
			g1, g2 = g2, g1
		}
		feed.Records = append(feed.Records, usersync.Record{
			Key:    key,
			Attrs:  l.Make([]string{"User " + key, key + "@example.com", "Nurse"}),
			Groups: []string{g1, g2},
			Origin: usersync.Position{File: "users.csv", Line: i + 2},
		})
	}
	return feed
}

// syncAll plans against the Sink and applies the plan in batches, as the
// Pipeline does.
func syncAll(ctx context.Context, s *sqlsink.Sink) error {
	plan, err := reconcile.New(nil).Reconcile(ctx, killFeed(), s)
	if err != nil {
		return err
	}
	if plan.Hold != nil {
		return plan.Hold
	}
	all, err := plan.Changes.Collect()
	if err != nil {
		return err
	}
	for cs := range slicesChunk(all, killBatch) {
		for _, err := range s.ApplyBatch(ctx, cs) {
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func slicesChunk(cs []usersync.Change, n int) func(func([]usersync.Change) bool) {
	return func(yield func([]usersync.Change) bool) {
		for len(cs) > 0 {
			k := min(n, len(cs))
			if !yield(cs[:k]) {
				return
			}
			cs = cs[k:]
		}
	}
}

func killChild(spec string) error {
	parts := strings.SplitN(spec, "\t", 3)
	if len(parts) != 3 {
		return fmt.Errorf("bad %s %q", killEnv, spec)
	}
	dialect, prefix, dsn := parts[0], parts[1], parts[2]
	d, driver := sqlsink.PostgreSQL, "pgx"
	if dialect == sqlsink.SQLite.String() {
		d, driver, dsn = sqlsink.SQLite, "sqlite", sqlite.DSN(dsn)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	ctx := context.Background()
	s, err := sqlsink.New(ctx, db, d, &sqlsink.Options{Tables: sqlsink.Tables{Prefix: prefix}})
	if err != nil {
		return err
	}
	return syncAll(ctx, s)
}

// TestKillMidApply kills a sync in the middle of applying a large plan,
// then syncs again: the directory is then exactly the feed, with no user or
// membership twice.
func TestKillMidApply(t *testing.T) {
	forEachDB(t, func(t *testing.T, tdb *testDB) {
		ctx := t.Context()
		h, err := newHarness(ctx, t, tdb, sqlsink.Options{})
		require.NoError(t, err)
		where := tdb.where
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), killEnv+"="+tdb.dialect.String()+"\t"+h.prefix+"\t"+where)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		count := func() int {
			var n int
			require.NoError(t, tdb.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+h.t("users")).Scan(&n))
			return n
		}
		deadline := time.Now().Add(time.Minute)
		for count() < killUsers/10 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		require.NoError(t, cmd.Process.Kill())
		cmd.Wait()
		killedAt := count()
		t.Logf("killed the sync with %d of %d users applied", killedAt, killUsers)
		require.Less(t, killedAt, killUsers, "the sync finished before it was killed: make the plan larger")

		require.NoError(t, syncAll(ctx, h.s), "the sync after the kill")

		users, _, err := h.State(ctx)
		require.NoError(t, err)
		require.Len(t, users, killUsers)
		want := killFeed().Records
		byKey := map[string]usersync.Record{}
		for _, u := range users {
			byKey[u.Key] = u
		}
		for _, w := range want {
			got := byKey[w.Key]
			require.True(t, got.Managed, w.Key)
			require.Equal(t, w.Attrs.Map(), got.Attrs.Map(), w.Key)
			require.ElementsMatch(t, w.Groups, got.Groups, w.Key)
		}
		var dupUsers, members, dupMembers int
		require.NoError(t, tdb.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT key FROM `+h.t("users")+` GROUP BY tenant, key HAVING COUNT(*) > 1) d`).Scan(&dupUsers))
		require.NoError(t, tdb.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+h.t("memberships")).Scan(&members))
		require.NoError(t, tdb.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT user_id FROM `+h.t("memberships")+` GROUP BY user_id, group_id HAVING COUNT(*) > 1) d`).Scan(&dupMembers))
		assert.Zero(t, dupUsers, "users held twice")
		assert.Zero(t, dupMembers, "memberships held twice")
		assert.Equal(t, 2*killUsers, members)

		plan, err := reconcile.New(nil).Reconcile(ctx, killFeed(), h.s)
		require.NoError(t, err)
		assert.Empty(t, synctest.Changes(t, plan), "a third sync has nothing to do")
		requireDigestsKnown(t, h.s)
	})
}

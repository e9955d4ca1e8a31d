package reconcile_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/internal/gen"
	"github.com/usersync/usersync/internal/testenv"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
	"github.com/usersync/usersync/source/memsource"
)

// directReconciler hides reconcile.Reconciler's MergesDigests, so that the
// Pipeline lists nothing ahead and the merge lists the digests itself.
type directReconciler struct{ usersync.Reconciler }

// TestLookupsWaitForTheListingOnOneConnection plans a night that reads
// thousands of users in full (every stored user left the file) from a Sink
// whose pool has one connection: on PostgreSQL the listing of digests holds
// it until the merge has read the listing to its end (SQLite's lists in
// chunks, each on a connection of the moment), so the lookups must queue
// behind the listing rather than stall the merge. Then a night that
// changes every user, under a small budget, whose rows the merge defers.
func TestLookupsWaitForTheListingOnOneConnection(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		db, err := sqlite.Open(filepath.Join(t.TempDir(), "one.db"))
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		testLookupsOnOneConnection(t, db, sqlsink.SQLite, "")
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		dsn := testenv.Getenv(t, "USERSYNC_TEST_POSTGRES_DSN", "PostgreSQL")
		db, err := sql.Open("pgx", dsn)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		var b [6]byte
		_, _ = rand.Read(b[:])
		prefix := "lookahead_" + hex.EncodeToString(b[:]) + "_"
		t.Cleanup(func() {
			for _, table := range []string{"memberships", "users", "groups", "state", "locks", "invites", "migrations"} {
				db.Exec(`DROP TABLE IF EXISTS "` + prefix + table + `" CASCADE`)
			}
		})
		testLookupsOnOneConnection(t, db, sqlsink.PostgreSQL, prefix)
	})
}

func testLookupsOnOneConnection(t *testing.T, db *sql.DB, dialect sqlsink.Dialect, prefix string) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	db.SetMaxOpenConns(1)
	sink, err := sqlsink.New(ctx, db, dialect, &sqlsink.Options{Tenant: "acme", Tables: sqlsink.Tables{Prefix: prefix}})
	require.NoError(t, err)
	mapper, err := csvmap.New(csvmap.Cosafe(), nil)
	require.NoError(t, err)
	src := memsource.New()
	guards := &reconcile.Policy{RemoveGuard: reconcile.Guard{Disabled: true}, CreateGuard: reconcile.Guard{Disabled: true}, UpdateGuard: reconcile.Guard{Disabled: true}}
	p := usersync.Pipeline{Source: src, Mapper: mapper, Reconciler: reconcile.New(guards), Sink: sink, TempDir: t.TempDir()}

	const users = 20000 // more keys than a bounded queue of lookups and the listing's prefetch would hold
	require.NoError(t, src.Put("users.csv", gen.Bytes(gen.Config{Rows: users, First: 1, Seed: 1, SkipEvery: -1}), time.Now()))
	res, err := p.Run(ctx)
	require.NoError(t, err)
	require.Equal(t, users, res.Applied.Created)

	require.NoError(t, src.Put("users.csv", gen.Bytes(gen.Config{Rows: 10, First: 100000, Seed: 2, SkipEvery: -1}), time.Now()))
	p.Reconciler, p.DryRun = directReconciler{reconcile.New(guards)}, true
	res, err = p.Run(ctx)
	require.NoError(t, err, "the plan must not wait for itself")
	assert.Equal(t, usersync.Planned, res.Status)
	c := res.Plan.Counts()
	assert.Equal(t, 10, c.Created)
	assert.Equal(t, users, c.Deactivated+c.Deleted+c.MarkedMissing, "every stored user was read in full and planned as gone")

	// A night that changes every user, under a budget that holds a few
	// hundred of their rows: the merge defers the others, and looks their
	// users up once it is done with the listing.
	require.NoError(t, src.Put("users.csv", gen.Bytes(gen.Config{Rows: users, First: 1, Seed: 1, SkipEvery: -1, Vary: 1, VarySeed: 3}), time.Now()))
	p.MemoryBudget = 1 << 20
	res, err = p.Run(ctx)
	require.NoError(t, err, "the deferred lookups must not wait for the listing")
	assert.Equal(t, users, res.Plan.Counts().Updated, "every user changed")
}

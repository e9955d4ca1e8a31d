// Command sqlbench measures sink/sqlsink against baselines taken in the
// same run:
//
//   - creates: applying -creates new users (Cosafe's attributes, two groups
//     each) to PostgreSQL through the Sink, against psql's \copy of the same
//     rows into tables of the same schema; the target is a ratio of 3 or
//     less;
//   - listing: streaming -list users back through Lister.Users, from
//     PostgreSQL and from SQLite, against the driver's bare scan of the
//     same rows (sqlbench.Floor); the target is 500,000 users a second.
//     Each is measured -rounds times, after a round that warms the caches,
//     and the best is reported.
//
// PostgreSQL comes from -dsn, by default $USERSYNC_TEST_POSTGRES_DSN (which
// .ci/services/postgres.sh exports); without one, only SQLite is measured.
//
//	go run ./examples/sqlbench -creates 100000 -list 1000000
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"github.com/usersync/usersync/internal/sqlbench"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
)

func main() {
	dsn := flag.String("dsn", os.Getenv("USERSYNC_TEST_POSTGRES_DSN"), "PostgreSQL DSN (pgx); empty: SQLite only")
	creates := flag.Int("creates", 100_000, "users to create")
	list := flag.Int("list", 1_000_000, "users to list")
	batch := flag.Int("batch", 10_000, "changes per ApplyBatch when creating")
	rounds := flag.Int("rounds", 3, "listings measured, each after a bare scan")
	flag.Parse()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sqlbench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// SQLite first: after PostgreSQL loads its tables, its background
	// writers work on for a while, on the same machine.
	if err := sqliteList(ctx, dir, *list, *rounds); err != nil {
		log.Fatal(err)
	}
	if *dsn != "" {
		if err := postgres(ctx, *dsn, dir, *creates, *list, *batch, *rounds); err != nil {
			log.Fatal(err)
		}
	}
}

func postgres(ctx context.Context, dsn, dir string, creates, list, batch, rounds int) error {
	psql, err := exec.LookPath("psql")
	if err != nil {
		return fmt.Errorf("the baseline needs psql: %w", err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	prefix := fmt.Sprintf("sqlbench_%d_", os.Getpid())
	defer drop(db, prefix, prefix+"copy_")

	cs := sqlbench.Changes(creates)
	s, err := sqlsink.New(ctx, db, sqlsink.PostgreSQL, &sqlsink.Options{Tables: sqlsink.Tables{Prefix: prefix}})
	if err != nil {
		return err
	}
	base, err := sqlbench.CopyBaseline(ctx, db, psql, dsn, prefix+"copy_", cs, dir)
	if err != nil {
		return err
	}
	took, err := sqlbench.Apply(ctx, s, cs, batch)
	if err != nil {
		return err
	}
	fmt.Printf("postgresql: %d creates in batches of %d: %v; psql \\copy of the same rows: %v; ratio %.2f (target <= 3)\n",
		creates, batch, took.Round(time.Millisecond), base.Round(time.Millisecond), took.Seconds()/base.Seconds())

	if list > creates {
		more := sqlbench.Changes(list)[sqlbench.Groups+creates:]
		if _, err := sqlbench.Apply(ctx, s, more, 50_000); err != nil {
			return err
		}
	}
	if err := sqlbench.Settle(ctx, db, sqlsink.PostgreSQL, prefix); err != nil {
		return err
	}
	return report(ctx, "postgresql", s, db, prefix+"users", rounds)
}

func sqliteList(ctx context.Context, dir string, list, rounds int) error {
	db, err := sqlite.Open(filepath.Join(dir, "users.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := sqlsink.New(ctx, db, sqlsink.SQLite, nil)
	if err != nil {
		return err
	}
	took, err := sqlbench.Apply(ctx, s, sqlbench.Changes(list), 50_000)
	if err != nil {
		return err
	}
	fmt.Printf("sqlite: %d creates in batches of 50000: %v\n", list, took.Round(time.Millisecond))
	return report(ctx, "sqlite", s, db, sqlsink.DefaultPrefix+"users", rounds)
}

// report lists the users rounds times, each right after the driver's bare
// scan of the users table, after a round that warms the caches, and prints
// the best of each and their ratio.
func report(ctx context.Context, name string, s *sqlsink.Sink, db *sql.DB, users string, rounds int) error {
	var lists, floors []time.Duration
	var n int
	for i := range rounds + 1 {
		rows, floor, err := sqlbench.Floor(ctx, db, users)
		if err != nil {
			return err
		}
		var took time.Duration
		if n, took, err = sqlbench.List(ctx, s); err != nil {
			return err
		}
		if n != rows {
			return fmt.Errorf("%s: listed %d users of %d rows", name, n, rows)
		}
		if i > 0 {
			lists, floors = append(lists, took), append(floors, floor)
		}
	}
	list, floor := slices.Min(lists), slices.Min(floors)
	fmt.Printf("%s: listed %d users in %v: %.0f users/s (target >= 500000); the driver's bare scan of the same rows: %v, %.0f rows/s; listing takes %.2fx the scan (best of %d)\n",
		name, n, list.Round(time.Millisecond), float64(n)/list.Seconds(), floor.Round(time.Millisecond), float64(n)/floor.Seconds(), list.Seconds()/floor.Seconds(), rounds)
	return nil
}

func drop(db *sql.DB, prefixes ...string) {
	for _, p := range prefixes {
		for _, t := range []string{"memberships", "users", "groups", "state", "locks", "invites", "migrations"} {
			db.Exec(`DROP TABLE IF EXISTS "` + p + t + `" CASCADE`)
		}
	}
}

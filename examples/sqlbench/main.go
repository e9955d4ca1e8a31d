// Command sqlbench measures sink/sqlsink against baselines taken in the
// same run:
//
//   - creates: applying -creates new users (Cosafe's attributes, two groups
//     each) to PostgreSQL through the Sink, against psql's \copy of the same
//     rows into tables of the same schema; the target is a ratio of 3 or
//     less;
//   - listing: streaming -list users back through Lister.Users, from
//     PostgreSQL and from SQLite; the target is 500,000 users a second.
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
	flag.Parse()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sqlbench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	if *dsn != "" {
		if err := postgres(ctx, *dsn, dir, *creates, *list, *batch); err != nil {
			log.Fatal(err)
		}
	}
	if err := sqliteList(ctx, dir, *list); err != nil {
		log.Fatal(err)
	}
}

func postgres(ctx context.Context, dsn, dir string, creates, list, batch int) error {
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
	if _, err := db.ExecContext(ctx, `VACUUM ANALYZE "`+prefix+`users"`); err != nil {
		return err
	}
	return report(ctx, "postgresql", s)
}

func sqliteList(ctx context.Context, dir string, list int) error {
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
	return report(ctx, "sqlite", s)
}

// report lists the users twice, the first time to warm the caches, and
// prints the second.
func report(ctx context.Context, name string, s *sqlsink.Sink) error {
	var n int
	var took time.Duration
	for range 2 {
		var err error
		if n, took, err = sqlbench.List(ctx, s); err != nil {
			return err
		}
	}
	fmt.Printf("%s: listed %d users in %v: %.0f users/s (target >= 500000)\n", name, n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	return nil
}

func drop(db *sql.DB, prefixes ...string) {
	for _, p := range prefixes {
		for _, t := range []string{"memberships", "users", "groups", "state", "locks", "invites", "migrations"} {
			db.Exec(`DROP TABLE IF EXISTS "` + p + t + `" CASCADE`)
		}
	}
}

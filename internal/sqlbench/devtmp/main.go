// TEMPORARY dev harness; delete before reporting.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime/pprof"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/usersync/usersync/internal/sqlbench"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
)

func main() {
	seed := flag.Bool("seed", false, "")
	which := flag.String("db", "both", "pg|sqlite|both")
	prof := flag.String("prof", "", "")
	n := flag.Int("n", 1_000_000, "")
	rounds := flag.Int("rounds", 3, "")
	shape := flag.Bool("shapes", false, "")
	flag.Parse()
	ctx := context.Background()
	if *which == "sqlite-shapes" {
		db, err := sqlite.Open(fmt.Sprintf("/tmp/dev/users%d.db", *n))
		if err != nil {
			log.Fatal(err)
		}
		sqliteShapes(ctx, db, flag.Args())
		return
	}
	if *shape {
		t := fmt.Sprintf("dev%d_", *n)
		shapes(ctx, t, flag.Args())
		return
	}
	var sinks []*sqlsink.Sink
	var names []string
	var dbs []*sql.DB
	if *which != "sqlite" {
		db, err := sql.Open("pgx", os.Getenv("USERSYNC_TEST_POSTGRES_DSN"))
		if err != nil {
			log.Fatal(err)
		}
		s, err := sqlsink.New(ctx, db, sqlsink.PostgreSQL, &sqlsink.Options{Tables: sqlsink.Tables{Prefix: fmt.Sprintf("dev%d_", *n)}})
		if err != nil {
			log.Fatal(err)
		}
		if *seed {
			if _, err := sqlbench.Apply(ctx, s, sqlbench.Changes(*n), 50000); err != nil {
				log.Fatal(err)
			}
			db.Exec(fmt.Sprintf(`VACUUM ANALYZE "dev%d_users"`, *n))
		}
		sinks, names, dbs = append(sinks, s), append(names, "pg"), append(dbs, db)
	}
	if *which != "pg" {
		db, err := sqlite.Open(fmt.Sprintf("/tmp/dev/users%d.db", *n))
		if err != nil {
			log.Fatal(err)
		}
		s, err := sqlsink.New(ctx, db, sqlsink.SQLite, nil)
		if err != nil {
			log.Fatal(err)
		}
		if *seed {
			if _, err := sqlbench.Apply(ctx, s, sqlbench.Changes(*n), 50000); err != nil {
				log.Fatal(err)
			}
		}
		sinks, names, dbs = append(sinks, s), append(names, "sqlite"), append(dbs, db)
	}
	if *seed {
		return
	}
	if *prof != "" {
		f, _ := os.Create(*prof)
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	for i, s := range sinks {
		_ = dbs
		for r := 0; r < *rounds; r++ {
			start := time.Now()
			cnt, took, err := sqlbench.List(ctx, s)
			if err != nil {
				log.Fatal(err)
			}
			_ = start
			fmt.Printf("%s list: %d in %v: %.0f/s\n", names[i], cnt, took.Round(time.Millisecond), float64(cnt)/took.Seconds())
		}
	}
}

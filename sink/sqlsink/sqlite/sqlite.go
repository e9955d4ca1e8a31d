// Package sqlite opens SQLite databases (modernc.org/sqlite, pure Go, no
// cgo) with the settings sink/sqlsink expects, for the embedded default
// directory:
//
//	db, err := sqlite.Open("/var/lib/myapp/users.db")
//	...
//	defer db.Close()
//	sink, err := sqlsink.New(ctx, db, sqlsink.SQLite, &sqlsink.Options{Tenant: "acme"})
package sqlite

import (
	"database/sql"
	"fmt"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

// BusyTimeout is how long a connection waits for another's write lock
// before it reports the database busy.
const BusyTimeout = 30 * time.Second

// DSN returns the data source name of the database file at path: WAL
// journal, so that listings neither wait for writers nor hold them up;
// synchronous=FULL, so that a commit survives a power loss (the Store
// promises durable writes); foreign keys enforced; statement journals and
// temporary tables in memory (temp_store=MEMORY: they are undo logs of one
// statement, never needed after a crash); a busy timeout, so that
// writers queue instead of failing; and no double-quoted strings, so that
// a misspelled column name fails instead of reading as a string. The page
// cache stays SQLite's (2 MiB a connection): 16 MiB made a nightly sync's
// batches of updates about 15% faster (sqlsink's BenchmarkUpdate), but
// every connection of the pool that lists users fills its cache too, which
// took a OneRoster bundle's nightly sync past its memory budget.
func DSN(path string) string {
	q := url.Values{}
	for _, p := range []string{
		"journal_mode(WAL)",
		"synchronous(FULL)",
		"foreign_keys(1)",
		"temp_store(MEMORY)",
		fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()),
	} {
		q.Add("_pragma", p)
	}
	q.Set("_dqs", "0") // a misspelled column is an error, not a string
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Open opens (creating if needed) the database file at path with the
// settings of DSN.
func Open(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return db, nil
}

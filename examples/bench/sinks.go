package main

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/bench"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
)

// A target is a Sink the bench syncs into, put back into yesterday's
// state before each round.
type target interface {
	name() string
	// seed fills the seed state with yesterday's users, by a first sync.
	seed(ctx context.Context, b *benchmark) error
	// fresh opens a Sink in the seed state, for one round.
	fresh(ctx context.Context) (usersync.Sink, usersync.Store, error)
	// keyScan is the driver's bare scan of the stored users' keys in the
	// Sink fresh opened; nil where there is no database.
	keyScan() func(ctx context.Context) (int, error)
	// closeRound closes what fresh opened.
	closeRound() error
	close() error
}

// sqlTarget is what SQLite and PostgreSQL share: a database open for the
// round, and the scan of its keys.
type sqlTarget struct {
	dialect sqlsink.Dialect
	db      *sql.DB
	sink    *sqlsink.Sink
}

// keyScan is the floor of listing the stored users: the driver's scan of
// the key column alone, into one reused sql.RawBytes.
func (t *sqlTarget) keyScan() func(ctx context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		return scanKeys(ctx, t.db, t.dialect)
	}
}

func scanKeys(ctx context.Context, db *sql.DB, d sqlsink.Dialect) (int, error) {
	q := `SELECT "key" FROM "usersync_users" WHERE "tenant" = ?`
	if d == sqlsink.PostgreSQL {
		q = strings.Replace(q, "?", "$1", 1)
	}
	rows, err := db.QueryContext(ctx, q, "")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var key sql.RawBytes
	n := 0
	for rows.Next() {
		if err := rows.Scan(&key); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

func (t *sqlTarget) closeRound() error {
	t.sink = nil
	if t.db == nil {
		return nil
	}
	err := t.db.Close()
	t.db = nil
	return err
}

// sqliteTarget is the embedded default: a SQLite file, opened as
// sink/sqlsink/sqlite opens it. Each round syncs into a copy of the
// seeded file.
type sqliteTarget struct {
	sqlTarget
	dir      string
	seedPath string // the seeded database file
}

func newSQLite(dir string) *sqliteTarget {
	return &sqliteTarget{sqlTarget: sqlTarget{dialect: sqlsink.SQLite}, dir: dir, seedPath: filepath.Join(dir, "seed.db")}
}

func (t *sqliteTarget) name() string { return "SQLite" }

func (t *sqliteTarget) seed(ctx context.Context, b *benchmark) error {
	bench.RemoveSQLite(t.seedPath)
	db, s, err := openSQLite(ctx, t.seedPath)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := b.firstLoad(ctx, s); err != nil {
		return err
	}
	return db.Close() // the last connection checkpoints the WAL into the file
}

// fresh copies the seeded file and opens the copy.
func (t *sqliteTarget) fresh(ctx context.Context) (usersync.Sink, usersync.Store, error) {
	p, err := t.copySeed(roundDB)
	if err != nil {
		return nil, nil, err
	}
	if t.db, t.sink, err = openSQLite(ctx, p); err != nil {
		return nil, nil, err
	}
	return t.sink, t.sink.Store(), nil
}

// roundDB names the copy of the seeded file a round syncs into, and
// floorDB the one a floor makes the same changes to.
const (
	roundDB = "round.db"
	floorDB = "floor.db"
)

// roundPath is the path of the copy fresh made.
func (t *sqliteTarget) roundPath() string { return filepath.Join(t.dir, roundDB) }

// copySeed copies the seeded file to name in the same folder, flushed to
// disk so that its writing back does not fall into a timed step.
func (t *sqliteTarget) copySeed(name string) (string, error) {
	p := filepath.Join(t.dir, name)
	bench.RemoveSQLite(p)
	return p, bench.CopyFile(t.seedPath, p)
}

func (t *sqliteTarget) close() error {
	err := t.closeRound()
	for _, n := range []string{"seed.db", roundDB, floorDB} {
		bench.RemoveSQLite(filepath.Join(t.dir, n))
	}
	return err
}

func openSQLite(ctx context.Context, path string) (*sql.DB, *sqlsink.Sink, error) {
	db, err := sqlite.Open(path)
	if err != nil {
		return nil, nil, err
	}
	s, err := sqlsink.New(ctx, db, sqlsink.SQLite, nil)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, s, nil
}

// pgTarget is a PostgreSQL server. The seed is a database of its own;
// each round syncs into a copy made with CREATE DATABASE ... TEMPLATE
// (STRATEGY FILE_COPY copies the files at the speed of the disk, and with
// them the statistics and visibility map that VACUUM ANALYZE set on the
// seed). It needs a role that may create databases.
type pgTarget struct {
	sqlTarget
	dsn   string
	admin *sql.DB
	// the databases it creates, all removed by close
	seedDB, roundDB, loadDB string
}

func newPostgres(ctx context.Context, dsn string) (*pgTarget, error) {
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		return nil, err
	}
	p := "usersync_bench_" + strconv.Itoa(os.Getpid()) + "_"
	return &pgTarget{
		sqlTarget: sqlTarget{dialect: sqlsink.PostgreSQL},
		dsn:       dsn, admin: admin,
		seedDB: p + "seed", roundDB: p + "round", loadDB: p + "load",
	}, nil
}

func (t *pgTarget) name() string { return "PostgreSQL" }

func (t *pgTarget) seed(ctx context.Context, b *benchmark) error {
	if err := t.recreate(ctx, t.seedDB, ""); err != nil {
		return err
	}
	db, err := sql.Open("pgx", withDatabase(t.dsn, t.seedDB))
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := sqlsink.New(ctx, db, sqlsink.PostgreSQL, nil)
	if err != nil {
		return err
	}
	if err := b.firstLoad(ctx, s); err != nil {
		return err
	}
	// As autovacuum would have by the next night: statistics for the
	// planner, and the visibility map for index-only scans.
	for _, table := range []string{"users", "groups", "memberships"} {
		if _, err := db.ExecContext(ctx, `VACUUM ANALYZE "`+sqlsink.DefaultPrefix+table+`"`); err != nil {
			return err
		}
	}
	return db.Close() // a template has no connections
}

func (t *pgTarget) fresh(ctx context.Context) (usersync.Sink, usersync.Store, error) {
	if err := t.recreate(ctx, t.roundDB, t.seedDB); err != nil {
		return nil, nil, err
	}
	var err error
	if t.db, t.sink, err = t.open(ctx, t.roundDB); err != nil {
		return nil, nil, err
	}
	return t.sink, t.sink.Store(), nil
}

func (t *pgTarget) open(ctx context.Context, name string) (*sql.DB, *sqlsink.Sink, error) {
	db, err := sql.Open("pgx", withDatabase(t.dsn, name))
	if err != nil {
		return nil, nil, err
	}
	s, err := sqlsink.New(ctx, db, sqlsink.PostgreSQL, nil)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, s, nil
}

// recreate drops the database name and creates it again, empty or as a
// copy of template.
func (t *pgTarget) recreate(ctx context.Context, name, template string) error {
	if _, err := t.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
		return err
	}
	q := `CREATE DATABASE "` + name + `"`
	if template != "" {
		q += ` TEMPLATE "` + template + `" STRATEGY FILE_COPY`
	}
	_, err := t.admin.ExecContext(ctx, q)
	return err
}

func (t *pgTarget) drop(ctx context.Context, name string) error {
	_, err := t.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`)
	return err
}

func (t *pgTarget) close() error {
	errs := []error{t.closeRound()}
	ctx := context.Background()
	for _, n := range []string{t.roundDB, t.loadDB, t.seedDB} {
		errs = append(errs, t.drop(ctx, n))
	}
	errs = append(errs, t.admin.Close())
	return errors.Join(errs...)
}

// withDatabase returns dsn (a URL or key=value pairs, as pgx and psql
// take) naming the database name instead.
func withDatabase(dsn, name string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		return u.String()
	}
	return dsn + " dbname=" + name
}

// memTarget is memsink, seeded afresh for each round: the Sink holds
// yesterday's users in this process, and so in its RSS.
type memTarget struct {
	s    *memsink.Sink
	load func() (*memsink.Sink, error) // yesterday's users
}

func (t *memTarget) name() string { return "memsink" }

func (t *memTarget) seed(context.Context, *benchmark) error { return nil }

func (t *memTarget) fresh(context.Context) (usersync.Sink, usersync.Store, error) {
	var err error
	t.s, err = t.load()
	return t.s, &usersync.MemStore{}, err
}

func (t *memTarget) keyScan() func(ctx context.Context) (int, error) { return nil }
func (t *memTarget) closeRound() error                               { t.s = nil; return nil }
func (t *memTarget) close() error                                    { return t.closeRound() }

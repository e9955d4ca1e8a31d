package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
)

// Writing rows the way the sync does, for the statement copy.
const (
	copyBatch = 5000 // users a transaction, as usersync.DefaultBatchSize
	copyRows  = 256  // rows a statement, as sqlsink's SQLite inserts
)

// A rowSet holds what a statement copy writes: a loaded database's
// schema, and its users and memberships, read into memory beforehand so
// that the copy times the writing alone.
type rowSet struct {
	from           string
	schema         *schema
	users, members table
}

// A table holds the rows of a table, ordered by their first column (the
// user's ID for both), their values one after the other.
type table struct {
	name string
	cols []string
	vals []any
}

// rows returns the number of rows t holds.
func (t *table) rows() int { return len(t.vals) / len(t.cols) }

// id returns the first column of row i.
func (t *table) id(i int) int64 { return t.vals[i*len(t.cols)].(int64) }

// readRows reads the schema, users and memberships of the SQLite database
// at from.
func readRows(ctx context.Context, from string) (*rowSet, error) {
	db, err := openReadOnly(from)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rs := &rowSet{from: from}
	if rs.schema, err = readSchema(ctx, db); err != nil {
		return nil, err
	}
	rs.users.name, rs.members.name = sqlsink.DefaultPrefix+"users", sqlsink.DefaultPrefix+"memberships"
	for _, t := range []*table{&rs.users, &rs.members} {
		if err := t.read(ctx, db); err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
	}
	return rs, nil
}

func (t *table) read(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT * FROM "`+t.name+`" ORDER BY 1, 2`)
	if err != nil {
		return err
	}
	defer rows.Close()
	if t.cols, err = rows.Columns(); err != nil {
		return err
	}
	ptrs := make([]any, len(t.cols))
	for rows.Next() {
		at := len(t.vals)
		t.vals = append(t.vals, make([]any, len(t.cols))...)
		for i := range ptrs {
			ptrs[i] = &t.vals[at+i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
	}
	return rows.Err()
}

// statementCopy writes rs into an empty database at to, of the same
// schema, through the statements of the engine the sync writes through
// (modernc.org/sqlite, opened as sqlite.Open does): prepared INSERTs of
// copyRows rows each, copyBatch users and their memberships a
// transaction, foreign key checks off and the triggers created only after
// the rows, so that none fires. It is what writing a first load's rows
// costs that engine, without reading, planning or encoding anything.
func statementCopy(ctx context.Context, rs *rowSet, to string) error {
	db, err := sqlite.Open(to)
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	setup := append(append([]string{"PRAGMA foreign_keys = OFF"}, rs.schema.ddl...), "ATTACH "+quoteSQL(rs.from)+" AS src")
	for _, t := range rs.schema.tables {
		if t != rs.users.name && t != rs.members.name {
			setup = append(setup, `INSERT INTO main."`+t+`" SELECT * FROM src."`+t+`"`)
		}
	}
	for _, q := range append(setup, "DETACH src") {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	uw, mw := &rowWriter{t: &rs.users}, &rowWriter{t: &rs.members}
	defer uw.close()
	defer mw.close()
	for m, u := 0, 0; u < rs.users.rows(); {
		last := min(u+copyBatch, rs.users.rows())
		n := m
		for n < rs.members.rows() && rs.members.id(n) <= rs.users.id(last-1) {
			n++
		}
		if err := inTx(ctx, conn, func() error {
			if err := uw.write(ctx, conn, u, last); err != nil {
				return err
			}
			return mw.write(ctx, conn, m, n)
		}); err != nil {
			return err
		}
		u, m = last, n
	}
	for _, q := range rs.schema.triggers {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// inTx runs fn in a write transaction on conn.
func inTx(ctx context.Context, conn *sql.Conn, fn func() error) error {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	if err := fn(); err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}
	_, err := conn.ExecContext(ctx, "COMMIT")
	return err
}

// A schema is what readSchema read of a SQLite database.
type schema struct {
	ddl      []string // creates its tables and indexes
	triggers []string // creates its triggers
	tables   []string // its tables' names
}

// readSchema reads the statements that create db's tables, indexes and
// triggers, in the order they were created.
func readSchema(ctx context.Context, db *sql.DB) (*schema, error) {
	rows, err := db.QueryContext(ctx, `SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite%' ORDER BY rowid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	s := &schema{}
	for rows.Next() {
		var typ, name, stmt string
		if err := rows.Scan(&typ, &name, &stmt); err != nil {
			return nil, err
		}
		switch typ {
		case "trigger":
			s.triggers = append(s.triggers, stmt)
		case "table":
			s.tables = append(s.tables, name)
			fallthrough
		default:
			s.ddl = append(s.ddl, stmt)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(s.tables) == 0 {
		return nil, fmt.Errorf("the database holds no tables")
	}
	return s, nil
}

// A rowWriter inserts rows of a table, copyRows a statement.
type rowWriter struct {
	t    *table
	full *sql.Stmt // the statement of copyRows rows, prepared once
}

// write inserts rows from to to-1.
func (w *rowWriter) write(ctx context.Context, conn *sql.Conn, from, to int) error {
	width := len(w.t.cols)
	for ; from < to; from += copyRows {
		n := min(copyRows, to-from)
		args := w.t.vals[from*width : (from+n)*width]
		var err error
		switch {
		case n < copyRows:
			_, err = conn.ExecContext(ctx, w.insert(n), args...)
		case w.full == nil:
			if w.full, err = conn.PrepareContext(ctx, w.insert(n)); err != nil {
				return err
			}
			fallthrough
		default:
			_, err = w.full.ExecContext(ctx, args...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// insert returns an INSERT of n rows.
func (w *rowWriter) insert(n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(w.t.cols)), ", ") + ")"
	return `INSERT INTO "` + w.t.name + `" ("` + strings.Join(w.t.cols, `", "`) + `") VALUES ` +
		strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// close closes the prepared statement.
func (w *rowWriter) close() {
	if w.full != nil {
		w.full.Close()
	}
}

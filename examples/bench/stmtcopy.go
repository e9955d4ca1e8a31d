package main

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
)

// Writing rows the way the sync does, for the statement copy.
const (
	copyBatch = 5000 // users a transaction, as usersync.DefaultBatchSize
	copyRows  = 256  // rows a statement, as sqlsink's SQLite inserts
)

// statementCopy copies the SQLite database at from into an empty one at
// to, of the same schema, writing its users and memberships through the
// statements of the engine the sync writes through (modernc.org/sqlite,
// opened as sqlite.Open does): prepared INSERTs of copyRows rows each,
// copyBatch users and their memberships a transaction, foreign key checks
// off and the triggers created only after the rows, so that none fires.
// It is what writing a first load's rows costs that engine, without
// planning or encoding anything: a goroutine reads the rows, as they are
// stored, a batch ahead, on the other core.
func statementCopy(ctx context.Context, from, to string) error {
	src, err := openReadOnly(from)
	if err != nil {
		return err
	}
	defer src.Close()
	s, err := readSchema(ctx, src)
	if err != nil {
		return err
	}
	conn, closeDB, err := openConn(ctx, to)
	if err != nil {
		return err
	}
	defer closeDB()
	users, members := sqlsink.DefaultPrefix+"users", sqlsink.DefaultPrefix+"memberships"
	setup := append(append([]string{"PRAGMA foreign_keys = OFF"}, s.ddl...), "ATTACH "+quoteSQL(from)+" AS src")
	for _, t := range s.tables {
		if t != users && t != members {
			setup = append(setup, `INSERT INTO main."`+t+`" SELECT * FROM src."`+t+`"`)
		}
	}
	for _, q := range append(setup, "DETACH src") {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan copied, 1)
	read := make(chan error, 1)
	go func() { read <- readBatches(ctx, src, users, members, batches) }()
	uw, mw := &rowWriter{table: users}, &rowWriter{table: members}
	defer uw.close()
	defer mw.close()
	for b := range batches {
		if err := inTx(ctx, conn, func() error {
			if err := uw.write(ctx, conn, b.users); err != nil {
				return err
			}
			return mw.write(ctx, conn, b.members)
		}); err != nil {
			return err
		}
	}
	if err := <-read; err != nil {
		return err
	}
	for _, q := range s.triggers {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// copied is a batch of rows to copy: users, and their memberships.
type copied struct{ users, members rowsOf }

// rowsOf are rows of a table: its columns, and their values one row after
// the other.
type rowsOf struct {
	cols []string
	vals []any
	ptrs []any // scan's, kept from row to row
}

// readBatches reads the users, copyBatch at a time, and their memberships,
// into batches, which it closes.
func readBatches(ctx context.Context, db *sql.DB, users, members string, batches chan<- copied) error {
	defer close(batches)
	u, err := db.QueryContext(ctx, `SELECT * FROM "`+users+`" ORDER BY 1`)
	if err != nil {
		return err
	}
	defer u.Close()
	m, err := db.QueryContext(ctx, `SELECT * FROM "`+members+`" ORDER BY 1, 2`)
	if err != nil {
		return err
	}
	defer m.Close()
	ucols, err := u.Columns()
	if err != nil {
		return err
	}
	mcols, err := m.Columns()
	if err != nil {
		return err
	}
	var next []any // a membership read ahead, of the next batch's users
	for {
		b := copied{rowsOf{cols: ucols}, rowsOf{cols: mcols}}
		for i := 0; i < copyBatch && u.Next(); i++ {
			if err := b.users.scan(u); err != nil {
				return err
			}
		}
		if len(b.users.vals) == 0 {
			return u.Err()
		}
		last := b.users.vals[len(b.users.vals)-len(b.users.cols)].(int64)
		for {
			if next == nil {
				if !m.Next() {
					break
				}
				if err := b.members.scan(m); err != nil {
					return err
				}
			} else {
				b.members.vals = append(b.members.vals, next...)
			}
			row := b.members.vals[len(b.members.vals)-len(b.members.cols):]
			if next = nil; row[0].(int64) > last {
				next = append(next, row...)
				b.members.vals = b.members.vals[:len(b.members.vals)-len(row)]
				break
			}
		}
		if err := m.Err(); err != nil {
			return err
		}
		select {
		case batches <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// scan appends the row rows is on.
func (r *rowsOf) scan(rows *sql.Rows) error {
	at := len(r.vals)
	r.vals = append(r.vals, make([]any, len(r.cols))...)
	r.ptrs = slices.Grow(r.ptrs[:0], len(r.cols))[:len(r.cols)]
	for i := range r.ptrs {
		r.ptrs[i] = &r.vals[at+i]
	}
	return rows.Scan(r.ptrs...)
}

// openConn opens the SQLite database at path as sqlite.Open does, and a
// connection to it, which a floor writes through; closeDB closes both.
func openConn(ctx context.Context, path string) (conn *sql.Conn, closeDB func(), err error) {
	db, err := sqlite.Open(path)
	if err != nil {
		return nil, nil, err
	}
	if conn, err = db.Conn(ctx); err != nil {
		db.Close()
		return nil, nil, err
	}
	return conn, func() { conn.Close(); db.Close() }, nil
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

// A rowWriter inserts rows into a table, copyRows a statement.
type rowWriter struct {
	table string
	full  *sql.Stmt // the statement of copyRows rows, prepared once
}

// write inserts rows.
func (w *rowWriter) write(ctx context.Context, conn *sql.Conn, rows rowsOf) error {
	width := len(rows.cols)
	for from := 0; from < len(rows.vals); from += copyRows * width {
		args := rows.vals[from:min(from+copyRows*width, len(rows.vals))]
		n := len(args) / width
		var err error
		switch {
		case n < copyRows:
			_, err = conn.ExecContext(ctx, insertOf(w.table, rows.cols, n), args...)
		case w.full == nil:
			if w.full, err = conn.PrepareContext(ctx, insertOf(w.table, rows.cols, n)); err != nil {
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

// insertOf returns an INSERT of n rows into table's cols.
func insertOf(table string, cols []string, n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	return `INSERT INTO "` + table + `" ("` + strings.Join(cols, `", "`) + `") VALUES ` +
		strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// close closes the prepared statement.
func (w *rowWriter) close() {
	if w.full != nil {
		w.full.Close()
	}
}

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

// statementCopy writes the rows of the SQLite database at from into an
// empty database at to, of the same schema, through the statements of the
// engine the sync writes through (modernc.org/sqlite, opened as
// sqlite.Open does): prepared INSERTs of copyRows rows each, copyBatch
// users and their memberships a transaction, foreign key checks off and
// the triggers created only after the rows, so that none fires. It is
// what writing a first load's rows costs that engine, without reading,
// planning or encoding anything: the rows come from a second connection
// to from, as they are stored.
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
	dst, err := sqlite.Open(to)
	if err != nil {
		return err
	}
	defer dst.Close()
	conn, err := dst.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
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
	c := &rowCopy{src: src, dst: conn}
	if err := c.copy(ctx, users, members); err != nil {
		return err
	}
	for _, q := range s.triggers {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
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

// A rowCopy copies the users table and the memberships table, whose first
// column is the user's ID, from src to dst, a batch of users and their
// memberships a transaction.
type rowCopy struct {
	src *sql.DB
	dst *sql.Conn
	// The rows read ahead: a user's memberships come after it.
	users, members *sql.Rows
	member         []any // the membership read but not yet written
}

func (c *rowCopy) copy(ctx context.Context, users, members string) (err error) {
	if c.users, err = c.src.QueryContext(ctx, `SELECT * FROM "`+users+`" ORDER BY 1`); err != nil {
		return err
	}
	defer c.users.Close()
	if c.members, err = c.src.QueryContext(ctx, `SELECT * FROM "`+members+`" ORDER BY 1, 2`); err != nil {
		return err
	}
	defer c.members.Close()
	ucols, err := c.users.Columns()
	if err != nil {
		return err
	}
	mcols, err := c.members.Columns()
	if err != nil {
		return err
	}
	uw, mw := newRowWriter(users, ucols), newRowWriter(members, mcols)
	defer uw.close()
	defer mw.close()
	for more := true; more; {
		if _, err := c.dst.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			return err
		}
		if more, err = c.batch(ctx, uw, mw); err != nil {
			c.dst.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			return err
		}
		if _, err := c.dst.ExecContext(ctx, "COMMIT"); err != nil {
			return err
		}
	}
	if err := c.users.Err(); err != nil {
		return err
	}
	return c.members.Err()
}

// batch copies up to copyBatch users, then their memberships; more
// reports whether users are left.
func (c *rowCopy) batch(ctx context.Context, uw, mw *rowWriter) (more bool, err error) {
	var last int64
	for range copyBatch {
		if !c.users.Next() {
			break
		}
		row, err := scanRow(c.users, len(uw.cols))
		if err != nil {
			return false, err
		}
		last, more = row[0].(int64), true
		if err := uw.add(ctx, c.dst, row); err != nil {
			return false, err
		}
	}
	if err := uw.flush(ctx, c.dst); err != nil {
		return false, err
	}
	for {
		if c.member == nil {
			if !c.members.Next() {
				break
			}
			if c.member, err = scanRow(c.members, len(mw.cols)); err != nil {
				return false, err
			}
		}
		if c.member[0].(int64) > last {
			break
		}
		if err := mw.add(ctx, c.dst, c.member); err != nil {
			return false, err
		}
		c.member = nil
	}
	return more, mw.flush(ctx, c.dst)
}

// scanRow scans a row of n columns into values.
func scanRow(rows *sql.Rows, n int) ([]any, error) {
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	return vals, rows.Scan(ptrs...)
}

// A rowWriter inserts rows into a table, copyRows a statement.
type rowWriter struct {
	table string
	cols  []string
	args  []any
	full  *sql.Stmt // the statement of copyRows rows, prepared once
}

func newRowWriter(table string, cols []string) *rowWriter {
	return &rowWriter{table: table, cols: cols}
}

// insertOf returns an INSERT of n rows into table's cols.
func insertOf(table string, cols []string, n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	return `INSERT INTO "` + table + `" ("` + strings.Join(cols, `", "`) + `") VALUES ` +
		strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

func (w *rowWriter) add(ctx context.Context, conn *sql.Conn, row []any) error {
	w.args = append(w.args, row...)
	if len(w.args) < copyRows*len(w.cols) {
		return nil
	}
	return w.flush(ctx, conn)
}

// flush inserts the rows added since the last flush.
func (w *rowWriter) flush(ctx context.Context, conn *sql.Conn) error {
	n := len(w.args) / len(w.cols)
	if n == 0 {
		return nil
	}
	var err error
	switch {
	case n < copyRows:
		_, err = conn.ExecContext(ctx, insertOf(w.table, w.cols, n), w.args...)
	case w.full == nil:
		if w.full, err = conn.PrepareContext(ctx, insertOf(w.table, w.cols, n)); err != nil {
			return err
		}
		fallthrough
	default:
		_, err = w.full.ExecContext(ctx, w.args...)
	}
	w.args = w.args[:0]
	return err
}

// close closes the prepared statement.
func (w *rowWriter) close() {
	if w.full != nil {
		w.full.Close()
	}
}

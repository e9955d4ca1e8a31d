package main

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/usersync/usersync/sink/sqlsink"
)

// A rowDiff is what a sync changed in a SQLite database of the sync's
// schema, found by comparing the database before and after it: the rows
// of users it inserted, the new rows of those it updated, the IDs of those
// it deleted, and the memberships it added and removed, each by user ID.
type rowDiff struct {
	inserted, updated  rowsOf
	deleted            []int64
	added, removed     rowsOf
	users, memberships string // the tables
	writes             string // the table that tells the drift triggers a write is the library's
}

// diffDatabases compares the SQLite database at after with the one at
// before. The groups must be the same in both.
func diffDatabases(ctx context.Context, before, after string) (*rowDiff, error) {
	db, err := openReadOnly(after)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	conn, err := db.Conn(ctx) // ATTACH is the connection's
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "ATTACH "+quoteSQL("file:"+before+"?mode=ro")+" AS b"); err != nil {
		return nil, err
	}
	p := sqlsink.DefaultPrefix
	d := &rowDiff{users: p + "users", memberships: p + "memberships", writes: p + "users_usersync_writes"}
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT * FROM "`+p+`groups" EXCEPT SELECT * FROM b."`+p+`groups")`).Scan(&n); err != nil || n > 0 {
		return nil, fmt.Errorf("the sync changed %d groups, which the floor does not copy (%v)", n, err)
	}
	u, m := `"`+d.users+`"`, `"`+d.memberships+`"`
	for _, q := range []struct {
		rows  *rowsOf
		query string
	}{
		{&d.inserted, `SELECT * FROM ` + u + ` WHERE id NOT IN (SELECT id FROM b.` + u + `) ORDER BY id`},
		{&d.updated, `SELECT * FROM ` + u + ` WHERE id IN (SELECT id FROM b.` + u + `) AND id NOT IN (SELECT id FROM (SELECT * FROM b.` + u + ` INTERSECT SELECT * FROM ` + u + `)) ORDER BY id`},
		{&d.added, `SELECT * FROM ` + m + ` EXCEPT SELECT * FROM b.` + m + ` ORDER BY 1, 2`},
		{&d.removed, `SELECT * FROM b.` + m + ` EXCEPT SELECT * FROM ` + m + ` ORDER BY 1, 2`},
	} {
		if err := q.rows.query(ctx, conn, q.query); err != nil {
			return nil, err
		}
	}
	rows, err := conn.QueryContext(ctx, `SELECT id FROM b.`+u+` WHERE id NOT IN (SELECT id FROM `+u+`) ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		d.deleted = append(d.deleted, id)
	}
	return d, rows.Err()
}

// query reads the rows of query into r.
func (r *rowsOf) query(ctx context.Context, conn *sql.Conn, query string) error {
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	if r.cols, err = rows.Columns(); err != nil {
		return err
	}
	for rows.Next() {
		if err := r.scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// empty reports whether the databases d compared were the same.
func (d *rowDiff) empty() bool {
	return d.inserted.len()+d.updated.len()+len(d.deleted)+d.added.len()+d.removed.len() == 0
}

// statementApply makes the changes d holds to the SQLite database at path
// through the statements of the engine the sync writes through, as the
// sync makes them: copyBatch users a transaction in the order of their
// IDs (which follows their keys), the drift triggers told the writes are
// the library's, removed memberships and deleted users a statement each,
// updated users a prepared statement each, inserted users and memberships
// copyRows a statement. It is what the changes of a nightly sync cost
// that engine, without reading a file, planning or encoding anything.
func statementApply(ctx context.Context, d *rowDiff, path string) error {
	conn, closeDB, err := openConn(ctx, path)
	if err != nil {
		return err
	}
	defer closeDB()
	ids := slices.Concat(d.inserted.ids(), d.updated.ids(), d.deleted)
	slices.Sort(ids)
	ins, add := &rowWriter{table: d.users}, &rowWriter{table: d.memberships}
	defer ins.close()
	defer add.close()
	setCols := d.updated.cols[1:]
	update, err := conn.PrepareContext(ctx, `UPDATE "`+d.users+`" SET ("`+strings.Join(setCols, `", "`)+`") = (`+
		strings.TrimSuffix(strings.Repeat("?, ", len(setCols)), ", ")+`) WHERE id = ?`)
	if err != nil {
		return err
	}
	defer update.Close()
	var at [5]int // how far each list was applied
	for lo := 0; lo < len(ids); lo += copyBatch {
		last := ids[min(lo+copyBatch, len(ids))-1]
		err := inTx(ctx, conn, func() error {
			if _, err := conn.ExecContext(ctx, `INSERT OR IGNORE INTO "`+d.writes+`" ("writing") VALUES (1)`); err != nil {
				return err
			}
			for _, r := range d.removed.upTo(&at[0], last) {
				if _, err := conn.ExecContext(ctx, `DELETE FROM "`+d.memberships+`" WHERE user_id = ? AND group_id = ?`, r...); err != nil {
					return err
				}
			}
			for ; at[1] < len(d.deleted) && d.deleted[at[1]] <= last; at[1]++ {
				if _, err := conn.ExecContext(ctx, `DELETE FROM "`+d.users+`" WHERE id = ?`, d.deleted[at[1]]); err != nil {
					return err
				}
			}
			for _, r := range d.updated.upTo(&at[2], last) {
				if _, err := update.ExecContext(ctx, append(r[1:len(r):len(r)], r[0])...); err != nil {
					return err
				}
			}
			if err := ins.write(ctx, conn, d.inserted.rowsUpTo(&at[3], last)); err != nil {
				return err
			}
			if err := add.write(ctx, conn, d.added.rowsUpTo(&at[4], last)); err != nil {
				return err
			}
			_, err := conn.ExecContext(ctx, `DELETE FROM "`+d.writes+`"`)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// len returns the number of rows r holds.
func (r *rowsOf) len() int {
	if len(r.cols) == 0 {
		return 0
	}
	return len(r.vals) / len(r.cols)
}

// ids returns the first column of each row.
func (r *rowsOf) ids() []int64 {
	var ids []int64
	for i := 0; i < len(r.vals); i += len(r.cols) {
		ids = append(ids, r.vals[i].(int64))
	}
	return ids
}

// upTo returns the rows from row *at on whose first column is at most
// last, each a slice of its values, and moves *at past them.
func (r *rowsOf) upTo(at *int, last int64) [][]any {
	var out [][]any
	for w := len(r.cols); *at*w < len(r.vals) && r.vals[*at*w].(int64) <= last; *at++ {
		out = append(out, r.vals[*at*w:(*at+1)*w])
	}
	return out
}

// rowsUpTo is upTo, its rows as a rowsOf.
func (r *rowsOf) rowsUpTo(at *int, last int64) rowsOf {
	from := *at * len(r.cols)
	r.upTo(at, last)
	return rowsOf{cols: r.cols, vals: r.vals[from : *at*len(r.cols)]}
}

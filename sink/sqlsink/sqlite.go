package sqlsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// sqliteDialect speaks SQLite through modernc.org/sqlite. The database is
// in process, so a statement costs no round trip: batches run prepared
// single-row statements inside one transaction, which is what SQLite does
// fastest.
type sqliteDialect struct {
	insertUser, updateUser, addMember, removeMember string
}

func (*sqliteDialect) idType() string       { return "INTEGER PRIMARY KEY" }
func (*sqliteDialect) jsonType() string     { return "TEXT" }
func (*sqliteDialect) blobType() string     { return "BLOB" }
func (*sqliteDialect) withoutRowID() string { return " WITHOUT ROWID" }
func (*sqliteDialect) bind(q string) string { return q }

// maxArgs stays well under SQLite's limit of 32766 bound values.
func (*sqliteDialect) maxArgs() int      { return 10000 }
func (*sqliteDialect) arrays() bool      { return false }
func (*sqliteDialect) forUpdate() string { return "" }

// beginWrite takes the write lock at once: a deferred transaction that
// reads first and writes later fails, instead of waiting, when another
// writer committed in between.
func (*sqliteDialect) beginWrite() string { return "BEGIN IMMEDIATE" }

// lockMigrations needs nothing: BEGIN IMMEDIATE already excludes other
// writers.
func (*sqliteDialect) lockMigrations(context.Context, *txn) error { return nil }

// SQLite result codes (the low byte of extended codes) worth a retry.
const (
	sqliteBusy   = 5
	sqliteLocked = 6
)

func (*sqliteDialect) retryable(err error) bool {
	var e interface{ Code() int }
	if !errors.As(err, &e) {
		return false
	}
	code := e.Code() & 0xff
	return code == sqliteBusy || code == sqliteLocked
}

func (d *sqliteDialect) prepare(_ context.Context, _ *sql.DB, n *names) error {
	cols := n.writeColumns()
	d.insertUser = fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", n.users, strings.Join(cols, ", "), placeholders(len(cols)))
	set := make([]string, 0, len(cols)-2)
	for _, c := range cols[2:] { // not tenant and key
		set = append(set, c+" = ?")
	}
	d.updateUser = fmt.Sprintf("UPDATE %s SET %s WHERE %s = ?", n.users, strings.Join(set, ", "), n.uID)
	d.addMember = fmt.Sprintf("INSERT INTO %s (%s, %s) VALUES (?, ?) ON CONFLICT DO NOTHING", n.members, n.mUser, n.mGroup)
	d.removeMember = fmt.Sprintf("DELETE FROM %s WHERE %s = ? AND %s = ?", n.members, n.mUser, n.mGroup)
	return nil
}

func (*sqliteDialect) columnTypes(ctx context.Context, db *sql.DB, table string) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name, type FROM pragma_table_info(?)`, unquote(table))
	if err != nil {
		return nil, err
	}
	return scanTypes(rows)
}

func (d *sqliteDialect) insertUsers(ctx context.Context, tx *txn, s *Sink, rows []row) (map[string]int64, error) {
	stmt, err := tx.PrepareContext(ctx, d.insertUser)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	ids := make(map[string]int64, len(rows))
	for i := range rows {
		res, err := stmt.ExecContext(ctx, s.n.rowArgs(s.tenant, &rows[i])...)
		if err != nil {
			return nil, err
		}
		if ids[rows[i].key], err = res.LastInsertId(); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func (d *sqliteDialect) updateUsers(ctx context.Context, tx *txn, s *Sink, ids []int64, rows []row) error {
	return execEach(ctx, tx, d.updateUser, len(rows), func(i int) []any {
		return append(s.n.rowArgs(s.tenant, &rows[i])[2:], ids[i])
	})
}

func (d *sqliteDialect) addMembers(ctx context.Context, tx *txn, _ *Sink, ms []membership, _ bool) error {
	return execEach(ctx, tx, d.addMember, len(ms), func(i int) []any { return []any{ms[i].user, ms[i].group} })
}

func (d *sqliteDialect) removeMembers(ctx context.Context, tx *txn, _ *Sink, ms []membership) error {
	return execEach(ctx, tx, d.removeMember, len(ms), func(i int) []any { return []any{ms[i].user, ms[i].group} })
}

package sqlsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// sqliteDialect speaks SQLite through modernc.org/sqlite. The database is
// in process, so a statement costs no round trip; what costs is crossing
// database/sql and the driver, once for each statement and each value. So
// batches write many rows per statement, inside one transaction: INSERTs
// of many rows, UPDATE ... FROM (VALUES ...) and DELETE ... IN (VALUES
// ...), each prepared once for its full size.
type sqliteDialect struct {
	// insertUsers1, addMembers1, updateUsers1 and removeMembers1 return
	// statements that write n rows.
	insertUsers1, addMembers1, updateUsers1, removeMembers1 func(rows int) string
}

func (*sqliteDialect) idType() string       { return "INTEGER PRIMARY KEY" }
func (*sqliteDialect) jsonType() string     { return "TEXT" }
func (*sqliteDialect) blobType() string     { return "BLOB" }
func (*sqliteDialect) withoutRowID() string { return " WITHOUT ROWID" }
func (*sqliteDialect) bind(q string) string { return q }

// sqliteMaxArgs stays well under SQLite's limit of 32766 bound values.
const sqliteMaxArgs = 10000

func (*sqliteDialect) maxArgs() int      { return sqliteMaxArgs }
func (*sqliteDialect) arrays() bool      { return false }
func (*sqliteDialect) forUpdate() string { return "" }
func (*sqliteDialect) keyShare() string  { return "" }

// membershipChecks keeps SQLite's foreign keys, which a transaction that
// inserts new rows only turns off (see suspendForeignKeys).
func (*sqliteDialect) membershipChecks(*names) []string { return nil }

// beginWrite takes the write lock at once: a deferred transaction that
// reads first and writes later fails, instead of waiting, when another
// writer committed in between.
func (*sqliteDialect) beginWrite() string { return "BEGIN IMMEDIATE" }

// suspendForeignKeys turns foreign_keys off on the connection if it is on
// (sqlite.DSN turns it on), which SQLite allows only outside a
// transaction.
func (*sqliteDialect) suspendForeignKeys(ctx context.Context, conn *sql.Conn) (func(context.Context) error, error) {
	var on bool
	if err := conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&on); err != nil || !on {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		_, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = ON")
		return err
	}, nil
}

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
	set := make([]string, 0, len(cols)-2)
	for i, c := range n.updateColumns() {
		set = append(set, fmt.Sprintf("%s = v.column%d", c, i+2)) // column1 is the ID
	}
	d.updateUsers1 = func(rows int) string {
		return fmt.Sprintf("UPDATE %s SET %s FROM (VALUES %s) AS v WHERE %s = v.column1", n.users, strings.Join(set, ", "), rowsOf(rows, len(set)+1), n.uID)
	}
	d.insertUsers1 = func(rows int) string {
		return fmt.Sprintf("INSERT INTO %s (%s, %s) VALUES %s", n.users, n.uID, strings.Join(cols, ", "), rowsOf(rows, len(cols)+1))
	}
	d.addMembers1 = func(rows int) string {
		return fmt.Sprintf("INSERT INTO %s (%s, %s) VALUES %s ON CONFLICT DO NOTHING", n.members, n.mUser, n.mGroup, rowsOf(rows, 2))
	}
	// A row value IN a subquery, rather than IN (VALUES ...) itself, so
	// that SQLite searches the primary key instead of scanning the table.
	d.removeMembers1 = func(rows int) string {
		return fmt.Sprintf("DELETE FROM %s WHERE (%s, %s) IN (SELECT column1, column2 FROM (VALUES %s))", n.members, n.mUser, n.mGroup, rowsOf(rows, 2))
	}
	return nil
}

func (*sqliteDialect) columnTypes(ctx context.Context, db *sql.DB, table string) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name, type FROM pragma_table_info(?)`, unquote(table))
	if err != nil {
		return nil, err
	}
	return scanTypes(rows)
}

// insertRows and changeRows are how many rows one multi-row statement
// inserts, and updates or deletes, at most (and no more than sqliteMaxArgs
// values): SQLite steps one statement for all of them, and database/sql
// and the driver are crossed once, which is what costs most per row.
// Inserts of 256 rows took a first load of 1M users about 6% less time
// than 64 (18.3 s against 19.5 s, medians of nine alternated runs), but
// updates and deletes of 256 rows took a nightly's apply about 25% more
// (four alternated pairs).
const (
	insertRows = 256
	changeRows = 64
)

// insertUsers inserts rows, insertRows at a time, with IDs it assigns
// itself following the largest there is: the write transaction excludes
// every other writer, and the IDs need not come back one by one.
func (d *sqliteDialect) insertUsers(ctx context.Context, tx *txn, s *Sink, rows []row) (map[string]int64, error) {
	var last int64
	if err := tx.QueryRowContext(ctx, fmt.Sprintf("SELECT COALESCE(MAX(%s), 0) FROM %s", s.n.uID, s.n.users)).Scan(&last); err != nil {
		return nil, err
	}
	ids := make(map[string]int64, len(rows))
	err := multiRow(ctx, tx, d.insertUsers1, insertRows, len(rows), len(s.n.writeColumns())+1, func(i int, args []any) []any {
		ids[rows[i].key] = last + int64(i) + 1
		return s.n.appendRowArgs(append(args, last+int64(i)+1), s.tenant, &rows[i])
	})
	return ids, err
}

// multiRow writes n rows of width values each, up to most rows per
// statement, which stmt returns for a number of rows: one prepared
// statement for every full chunk. args appends row i's values.
func multiRow(ctx context.Context, tx *txn, stmt func(rows int) string, most, n, width int, args func(i int, args []any) []any) error {
	per := max(1, min(most, sqliteMaxArgs/width))
	buf := make([]any, 0, per*width)
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	for from := 0; from < n; from += per {
		k := min(per, n-from)
		buf = buf[:0]
		for i := from; i < from+k; i++ {
			buf = args(i, buf)
		}
		if k < per {
			if _, err := tx.ExecContext(ctx, stmt(k), buf...); err != nil {
				return err
			}
			continue
		}
		if full == nil {
			var err error
			if full, err = tx.PrepareContext(ctx, stmt(per)); err != nil {
				return err
			}
		}
		if _, err := full.ExecContext(ctx, buf...); err != nil {
			return err
		}
	}
	return nil
}

// rowsOf returns n rows of width placeholders, for a multi-row VALUES.
func rowsOf(n, width int) string {
	row := "(" + placeholders(width) + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

func (d *sqliteDialect) updateUsers(ctx context.Context, tx *txn, s *Sink, ids []int64, rows []row) error {
	return multiRow(ctx, tx, d.updateUsers1, changeRows, len(rows), len(s.n.updateColumns())+1, func(i int, args []any) []any {
		return s.n.appendUpdateArgs(append(args, ids[i]), &rows[i])
	})
}

func (d *sqliteDialect) addMembers(ctx context.Context, tx *txn, _ *Sink, ms []membership, _ bool) error {
	return multiRow(ctx, tx, d.addMembers1, insertRows, len(ms), 2, func(i int, args []any) []any {
		return append(args, ms[i].user, ms[i].group)
	})
}

func (d *sqliteDialect) removeMembers(ctx context.Context, tx *txn, _ *Sink, ms []membership) error {
	return multiRow(ctx, tx, d.removeMembers1, changeRows, len(ms), 2, func(i int, args []any) []any {
		return append(args, ms[i].user, ms[i].group)
	})
}

// digestSchema adds the digest columns, an index that covers a listing of
// them in key order (SQLite's BINARY collation compares bytes), and the
// drift triggers. A trigger does nothing while the writes table holds a
// row, which only a Sink's own write transaction inserts, and deletes
// before it commits: no other connection ever sees it.
func (*sqliteDialect) digestSchema(n *names) []string {
	t := func(suffix string) string { return derivedName(n.usersRaw, "_usersync_"+suffix) }
	hand := fmt.Sprintf("WHEN NOT EXISTS (SELECT 1 FROM %s)", n.writes)
	bump := func(id string) string {
		return fmt.Sprintf("UPDATE %s SET %s = %s + 1 WHERE %s = %s;", n.users, n.uRev, n.uRev, n.uID, id)
	}
	return []string{
		fmt.Sprintf(`ALTER TABLE %s ADD COLUMN %s INTEGER`, n.users, n.uAttrsDigest),
		fmt.Sprintf(`ALTER TABLE %s ADD COLUMN %s INTEGER`, n.users, n.uGroupsDigest),
		fmt.Sprintf(`ALTER TABLE %s ADD COLUMN %s INTEGER NOT NULL DEFAULT 0`, n.users, n.uRev),
		fmt.Sprintf(`ALTER TABLE %s ADD COLUMN %s INTEGER`, n.users, n.uDigestRev),
		fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (%s, %s, %s, %s, %s, %s)`, indexName(n.usersRaw, "digests"), n.users,
			n.uTenant, n.uKey, n.uAttrsDigest, n.uGroupsDigest, n.uRev, n.uDigestRev),
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s ("writing" INTEGER NOT NULL PRIMARY KEY)`, n.writes),
		// A user inserted by hand gets a random revision, so that one
		// deleted and inserted again lists other digests.
		fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS %s AFTER INSERT ON %s %s BEGIN UPDATE %s SET %s = random() WHERE %s = NEW.%s; END`,
			t("inserted"), n.users, hand, n.users, n.uRev, n.uID, n.uID),
		fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS %s AFTER UPDATE OF %s ON %s %s BEGIN %s END`,
			t("updated"), strings.Join(n.dataColumns(), ", "), n.users, hand, bump("NEW."+n.uID)),
		fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS %s AFTER INSERT ON %s %s BEGIN %s END`,
			t("member_added"), n.members, hand, bump("NEW."+n.mUser)),
		fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS %s AFTER DELETE ON %s %s BEGIN %s END`,
			t("member_removed"), n.members, hand, bump("OLD."+n.mUser)),
		fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS %s AFTER UPDATE ON %s %s BEGIN %s %s END`,
			t("member_changed"), n.members, hand, bump("OLD."+n.mUser), bump("NEW."+n.mUser)),
		fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS %s AFTER UPDATE OF %s, %s ON %s %s BEGIN %s END`,
			t("group_changed"), n.gExtID, n.gTenant, n.groups, hand, bumpGroup(n, "OLD."+n.gID)),
		fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS %s AFTER DELETE ON %s %s BEGIN %s END`,
			t("group_removed"), n.groups, hand, bumpGroup(n, "OLD."+n.gID)),
	}
}

// bumpGroup bumps the revisions of the members of a group.
func bumpGroup(n *names, id string) string {
	return fmt.Sprintf("UPDATE %s SET %s = %s + 1 WHERE %s IN (SELECT %s FROM %s WHERE %s = %s);",
		n.users, n.uRev, n.uRev, n.uID, n.mUser, n.members, n.mGroup, id)
}

func (*sqliteDialect) keyOrder() string  { return "" }
func (*sqliteDialect) beginRead() string { return "BEGIN" }

// markWrites fills or empties the writes table. A transaction that inserts
// new rows only also drops the triggers that fire on inserts while it
// writes, and creates them again, as they were, before it commits. They
// would do nothing for its rows, yet SQLite runs each one's WHEN (a query
// of the writes table) for every row inserted: about a tenth of the
// engine's work in a first load. No other connection sees them missing:
// SQLite's DDL is part of the transaction, which holds the write lock, and
// a rollback restores them with the rest.
func (*sqliteDialect) markWrites(ctx context.Context, tx *txn, s *Sink, on bool) error {
	q := "DELETE FROM " + s.n.writes
	if on {
		q = "INSERT OR IGNORE INTO " + s.n.writes + ` ("writing") VALUES (1)`
	}
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return err
	}
	switch {
	case !tx.insertOnly():
		return nil
	case on:
		return dropInsertTriggers(ctx, tx, s.n)
	default:
		return createAgain(ctx, tx)
	}
}

// asideMin is the least number of changes in a batch whose transaction
// checkpoints aside: below it, the goroutine and the connection cost more
// than the checkpoint of the batches before, which are as small.
const asideMin = 1000

// checkpointAside turns off the connection's automatic checkpoint for tx,
// and runs a passive checkpoint on another connection of the pool while
// tx writes: SQLite's WAL mode writes each page twice, to the WAL at
// commit, then into the database at the next checkpoint, which the
// committing connection runs itself once the WAL holds 1,000 pages,
// while the batch after waits, and the second core idles. tx's own pages
// are checkpointed beside the next batch, or in line by the next commit
// of a connection that checkpoints automatically, as before. Every fourth
// batch checkpoints its own pages in line all the same, so that the WAL,
// which SQLite starts again from its beginning only once it was
// checkpointed whole, stays about four batches long. A pool of one
// connection gets no second one: the checkpoint waits for one only as
// long as tx writes.
func (*sqliteDialect) checkpointAside(ctx context.Context, s *Sink, tx *txn, n int) (func(), error) {
	if n < asideMin {
		return func() {}, nil
	}
	var was int
	if err := tx.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&was); err != nil {
		return nil, err
	}
	if was <= 0 { // the host checkpoints itself
		return func() {}, nil
	}
	if s.asides.Add(1)%4 != 0 {
		if _, err := tx.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 0"); err != nil {
			return nil, err
		}
		tx.restore = func(ctx context.Context) error {
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", was))
			return err
		}
	}
	acquire, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := s.db.Conn(acquire)
		if err != nil {
			return // no connection came while tx wrote
		}
		defer conn.Close()
		// PASSIVE waits for no reader nor writer. An error (another
		// checkpoint running, say) leaves the pages to the next one.
		conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA wal_checkpoint(PASSIVE)")
	}()
	return func() { stop(); <-done }, nil
}

// dropInsertTriggers drops the drift triggers that fire on inserts, and
// keeps the statements that created them in tx.
func dropInsertTriggers(ctx context.Context, tx *txn, n *names) error {
	for _, suffix := range []string{"_usersync_inserted", "_usersync_member_added"} {
		var create string
		err := tx.QueryRowContext(ctx, "SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = ?", n.usersRaw+suffix).Scan(&create)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DROP TRIGGER "+derivedName(n.usersRaw, suffix)); err != nil {
			return err
		}
		tx.dropped = append(tx.dropped, create)
	}
	return nil
}

// createAgain creates the triggers dropInsertTriggers dropped.
func createAgain(ctx context.Context, tx *txn) error {
	for _, create := range tx.dropped {
		if _, err := tx.ExecContext(ctx, create); err != nil {
			return err
		}
	}
	tx.dropped = nil
	return nil
}

func (*sqliteDialect) rawQuery(ctx context.Context, s *Sink, query string, args []any, fn func(rowSource) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, err := driverConn(dc)
		if err != nil {
			return err
		}
		rows, err := driverQuerier{c}.rows(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.close()
		return fn(rows)
	})
}

package sqlsink

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// A dialect is what differs between SQLite and PostgreSQL. Statements
// common to both are written once, with ? placeholders that bind numbers
// for PostgreSQL.
type dialect interface {
	// Types for the migrations.
	idType() string       // an integer primary key the database assigns
	jsonType() string     // the attributes column
	blobType() string     // bytes
	withoutRowID() string // a suffix for tables keyed by their primary key
	// digestSchema returns the statements of the migration that adds the
	// digest columns, their index and the drift triggers.
	digestSchema(n *names) []string
	// membershipChecks returns the statements of the migration that
	// checks memberships otherwise than by foreign keys, if the dialect
	// does.
	membershipChecks(n *names) []string
	// keyOrder ends an ORDER BY of the key column so that it sorts bytes.
	keyOrder() string
	// markWrites tells the drift triggers, for the rest of tx, that its
	// writes are the library's (on), or no longer (off).
	markWrites(ctx context.Context, tx *txn, s *Sink, on bool) error
	// checkpointAside lets tx, which applies a batch of n changes, leave
	// to another connection the copying of what the transactions before
	// it wrote from the journal into the database, to run while tx
	// writes; wait waits for that copy.
	checkpointAside(ctx context.Context, s *Sink, tx *txn, n int) (wait func(), err error)
	// rawQuery runs query on a connection of the pool, in no transaction,
	// and calls fn with its rows, read through the driver's own
	// interface.
	rawQuery(ctx context.Context, s *Sink, query string, args []any, fn func(rowSource) error) error
	// beginRead is the statement that begins a read transaction on one
	// snapshot.
	beginRead() string

	// prepare learns what the dialect needs from the schema, once.
	prepare(ctx context.Context, db *sql.DB, n *names) error
	// columnTypes maps the columns of a table, by their unquoted names, to
	// their types; it is empty if there is no such table.
	columnTypes(ctx context.Context, db *sql.DB, table string) (map[string]string, error)
	// bind rewrites ? placeholders as the driver wants them.
	bind(query string) string
	// maxArgs is how many values one statement may bind.
	maxArgs() int
	// arrays reports whether a list is bound as one array value.
	arrays() bool
	beginWrite() string
	// suspendForeignKeys turns off the foreign key checks of conn, outside
	// any transaction, for a transaction that inserts new rows only (see
	// Sink.inInsertTx), and returns the func that turns them back on; nil
	// if it leaves them as they are.
	suspendForeignKeys(ctx context.Context, conn *sql.Conn) (resume func(context.Context) error, err error)
	// forUpdate ends a SELECT that reads rows a transaction will write.
	forUpdate() string
	// keyShare ends a SELECT that reads rows a transaction's new rows
	// will refer to, so that nobody deletes them meanwhile.
	keyShare() string
	lockMigrations(ctx context.Context, tx *txn) error
	// retryable reports whether a transaction that failed with err may
	// succeed if tried again: a deadlock, a serialization failure, a
	// database busy beyond its timeout.
	retryable(err error) bool

	// The writes of a batch, in a write transaction. insertUsers returns
	// the new rows' IDs by key.
	insertUsers(ctx context.Context, tx *txn, s *Sink, rows []row) (map[string]int64, error)
	updateUsers(ctx context.Context, tx *txn, s *Sink, ids []int64, rows []row) error
	// addMembers adds memberships; fresh says none can exist already,
	// the users being new.
	addMembers(ctx context.Context, tx *txn, s *Sink, ms []membership, fresh bool) error
	removeMembers(ctx context.Context, tx *txn, s *Sink, ms []membership) error

	// snapshot calls fn with one consistent state of the database, for a
	// listing.
	snapshot(ctx context.Context, s *Sink, fn func(snapshot) error) error

	// tryLock takes the tenant's sync lock for l, or fails with a
	// *LockError.
	tryLock(ctx context.Context, s *Sink, l *Lock) error
	// keepLock renews or checks l; an error means it is lost.
	keepLock(ctx context.Context, s *Sink, l *Lock) error
	// checkLock fails with ErrLockLost, in a write transaction, if l is
	// no longer held.
	checkLock(ctx context.Context, tx *txn, s *Sink, l *Lock) error
	unlock(ctx context.Context, s *Sink, l *Lock) error
}

// A membership is a row of the memberships table.
type membership struct{ user, group int64 }

// A querier runs queries that stream their rows.
type querier interface {
	query(ctx context.Context, query string, args ...any) (rowSource, error)
}

// A snapshot is one consistent state of the database, which a listing
// reads.
type snapshot interface {
	querier
	// users runs a listing's query of the tenant's users, whose rows start
	// with the user's ID in ascending order, and returns its rows and a
	// reader of their memberships.
	users(ctx context.Context, query string, args ...any) (rowSource, memberReader, error)
}

// A rowSource is a result read row by row, a column at a time.
type rowSource interface {
	next() bool
	// text returns column i as text, and false if it is NULL. The text is
	// valid only until the next call to next.
	text(i int) (string, bool)
	// str returns column i as a string the caller may keep; "" for NULL.
	str(i int) string
	// null reports whether column i is NULL.
	null(i int) bool
	int(i int) (int64, error)
	bool(i int) (bool, error)
	err() error
	close()
}

// rawRow is a row as pgx and database/sql give it: each column as text,
// nil for NULL.
type rawRow [][]byte

func (r rawRow) text(i int) (string, bool) { return view(r[i]), r[i] != nil }
func (r rawRow) str(i int) string          { return string(r[i]) }
func (r rawRow) null(i int) bool           { return r[i] == nil }
func (r rawRow) int(i int) (int64, error)  { return parseInt(r[i]) }
func (r rawRow) bool(i int) (bool, error)  { return parseBool(r[i]) }

// placeholders returns n comma-separated ? placeholders.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// in returns a condition that col is one of vals, and its arguments: one
// array value, or one argument per value.
func in[T any](d dialect, col string, vals []T) (string, []any) {
	if d.arrays() {
		return col + " = ANY(?)", []any{vals}
	}
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return fmt.Sprintf("%s IN (%s)", col, placeholders(len(vals))), args
}

// chunks calls fn with successive parts of vals that fit in one statement
// with room for extra other arguments.
func chunks[T any](d dialect, vals []T, extra int, fn func([]T) error) error {
	size := len(vals)
	if !d.arrays() {
		size = d.maxArgs() - extra
	}
	for len(vals) > 0 {
		n := min(size, len(vals))
		if err := fn(vals[:n]); err != nil {
			return err
		}
		vals = vals[n:]
	}
	return nil
}

// sqlRows is a rowSource over database/sql rows. database/sql reads an
// empty string into a nil RawBytes, as if it were NULL, while its buffer
// is still empty: the first column of a row must not be text.
type sqlRows struct {
	rawRow
	rows *sql.Rows
	dest []any
	e    error
}

func newSQLRows(rows *sql.Rows) (*sqlRows, error) {
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return nil, err
	}
	r := &sqlRows{rows: rows, rawRow: make(rawRow, len(cols)), dest: make([]any, len(cols))}
	for i := range r.dest {
		r.dest[i] = (*sql.RawBytes)(&r.rawRow[i])
	}
	return r, nil
}

func (r *sqlRows) next() bool {
	if !r.rows.Next() {
		return false
	}
	r.e = r.rows.Scan(r.dest...)
	return r.e == nil
}

func (r *sqlRows) err() error {
	if r.e != nil {
		return r.e
	}
	return r.rows.Err()
}

func (r *sqlRows) close() { r.rows.Close() }

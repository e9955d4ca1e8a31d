package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/usersync/usersync/report"
)

// A Dialect is the SQL flavor of the database behind an SQL Store. The
// names are those of sink/sqlsink, whose database the history may share.
type Dialect uint8

// The dialects an SQL Store speaks.
const (
	// SQLite through modernc.org/sqlite (driver name "sqlite"); a database
	// shared with the SQL sink is opened with sink/sqlsink/sqlite.Open.
	SQLite Dialect = iota + 1
	// PostgreSQL through github.com/jackc/pgx/v5/stdlib (driver "pgx") or
	// any driver that binds $1, $2, ...
	PostgreSQL
)

// DefaultTable is the table an SQL Store uses when SQLOptions.Table is "".
const DefaultTable = "usersync_history"

// SQLOptions tune an SQL Store. A nil *SQLOptions means the defaults.
type SQLOptions struct {
	// Table is the table's name, letters, digits and underscores; "" means
	// DefaultTable. Hosts that keep the history of several products in one
	// database give each its own.
	Table string
}

// SQL is a Store in a table of a database/sql database: SQLite or
// PostgreSQL. Give it the *sql.DB the host already has, such as the one the
// SQL sink keeps the directory in; it only ever touches its own table.
//
// The table has a row per run:
//
//	id          VARCHAR(64) PRIMARY KEY  -- Entry.ID
//	name        VARCHAR(255)             -- the feed's name, "" if none
//	started_us  BIGINT                   -- run start, Unix microseconds
//	finished_us BIGINT                   -- run end, Unix microseconds
//	status      VARCHAR(32)              -- "succeeded", "partly failed", ...
//	headline    TEXT                     -- Summary.Headline
//	summary     TEXT                     -- the Summary as JSON (WriteJSON)
//
// with indexes on (started_us) and (name, started_us), so that a host's own
// queries can list runs without decoding the JSON. Rows are only ever
// inserted.
type SQL struct {
	db      *sql.DB
	table   string
	dialect Dialect
}

var _ Store = (*SQL)(nil)

// tableName is what a table's name may be: it is put into the statements,
// so it must never come from a user unchecked.
var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// NewSQL returns a Store in db, which the caller keeps and closes, creating
// its table and indexes if they do not exist.
func NewSQL(ctx context.Context, db *sql.DB, d Dialect, opts *SQLOptions) (*SQL, error) {
	s := &SQL{db: db, table: DefaultTable, dialect: d}
	if opts != nil && opts.Table != "" {
		s.table = opts.Table
	}
	if !tableName.MatchString(s.table) {
		return nil, fmt.Errorf("history: table name %q: use letters, digits and underscores", s.table)
	}
	if d != SQLite && d != PostgreSQL {
		return nil, fmt.Errorf("history: unknown SQL dialect %d", d)
	}
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS ` + s.table + ` (
	id VARCHAR(64) PRIMARY KEY,
	name VARCHAR(255) NOT NULL,
	started_us BIGINT NOT NULL,
	finished_us BIGINT NOT NULL,
	status VARCHAR(32) NOT NULL,
	headline TEXT NOT NULL,
	summary TEXT NOT NULL
)`,
		`CREATE INDEX IF NOT EXISTS ` + s.table + `_started ON ` + s.table + ` (started_us)`,
		`CREATE INDEX IF NOT EXISTS ` + s.table + `_name_started ON ` + s.table + ` (name, started_us)`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("history: create table %s: %w", s.table, err)
		}
	}
	return s, nil
}

// Append inserts the entry of s.
func (s *SQL) Append(ctx context.Context, sum *report.Summary) (Entry, error) {
	e := newEntry(sum)
	data, err := json.Marshal(sum)
	if err != nil {
		return Entry{}, err
	}
	_, err = s.db.ExecContext(ctx, s.bind(`INSERT INTO `+s.table+
		` (id, name, started_us, finished_us, status, headline, summary) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		e.ID, sum.Name, micros(sum.Started), micros(sum.Finished), sum.Status.String(), sum.Headline, string(data))
	if err != nil {
		return Entry{}, fmt.Errorf("history: insert into %s: %w", s.table, err)
	}
	return e, nil
}

// Query selects the entries of q in the database, newest first.
func (s *SQL) Query(ctx context.Context, q Query) ([]Entry, error) {
	var where []string
	var args []any
	if !q.Since.IsZero() {
		where, args = append(where, "started_us >= ?"), append(args, micros(q.Since))
	}
	if !q.Until.IsZero() {
		where, args = append(where, "started_us < ?"), append(args, micros(q.Until))
	}
	if q.Name != "" {
		where, args = append(where, "name = ?"), append(args, q.Name)
	}
	if len(q.Statuses) > 0 {
		marks := make([]string, len(q.Statuses))
		for i, st := range q.Statuses {
			marks[i] = "?"
			args = append(args, st.String())
		}
		where = append(where, "status IN ("+strings.Join(marks, ", ")+")")
	}
	query := `SELECT id, summary FROM ` + s.table
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY started_us DESC, id DESC`
	if q.Limit > 0 {
		query += ` LIMIT ` + strconv.Itoa(q.Limit)
	}
	rows, err := s.db.QueryContext(ctx, s.bind(query), args...)
	if err != nil {
		return nil, fmt.Errorf("history: query %s: %w", s.table, err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, fmt.Errorf("history: query %s: %w", s.table, err)
		}
		e := Entry{ID: id, Summary: &report.Summary{}}
		if err := json.Unmarshal([]byte(data), e.Summary); err != nil {
			return nil, fmt.Errorf("history: entry %s: %w", id, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: query %s: %w", s.table, err)
	}
	return out, nil
}

// bind writes the query's "?" as the dialect wants them.
func (s *SQL) bind(query string) string {
	if s.dialect != PostgreSQL {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// micros is t in Unix microseconds: an integer every database compares
// alike, unlike their many kinds of timestamp.
func micros(t time.Time) int64 { return t.UnixMicro() }

package sqlsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/usersync/usersync"
)

var (
	_ usersync.Sink         = (*Sink)(nil)
	_ usersync.Lister       = (*Sink)(nil)
	_ usersync.BatchApplier = (*Sink)(nil)
)

// digestVersion is the schema version that adds the digests, whose
// migration also computes them for the users there are.
const digestVersion = 3

// A Dialect is the SQL flavor of the database behind a Sink.
type Dialect uint8

// The dialects a Sink speaks.
const (
	// SQLite through modernc.org/sqlite (driver name "sqlite"); open the
	// database with sink/sqlsink/sqlite.Open for the settings a Sink
	// expects: WAL journal and a busy timeout.
	SQLite Dialect = iota + 1
	// PostgreSQL through github.com/jackc/pgx/v5/stdlib (driver name
	// "pgx"). The Sink reaches the pgx connection underneath for COPY and
	// for listing, so no other driver will do.
	PostgreSQL
)

// String returns the dialect's name.
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case PostgreSQL:
		return "postgresql"
	}
	return fmt.Sprintf("Dialect(%d)", uint8(d))
}

func (d Dialect) impl() (dialect, error) {
	switch d {
	case SQLite:
		return &sqliteDialect{}, nil
	case PostgreSQL:
		return &pgDialect{}, nil
	}
	return nil, fmt.Errorf("sqlsink: unknown dialect %v", d)
}

// Defaults for Options.
const (
	// DefaultLockLease is how long a SQLite lock outlives a sync that
	// stopped renewing it, killed say; the holder renews it every third of
	// that.
	DefaultLockLease = time.Minute
	// DefaultCopyMin is how many new users a batch needs before PostgreSQL
	// loads them with COPY instead of an INSERT: low enough that a batch
	// of usersync.DefaultBatchSize creates takes COPY.
	DefaultCopyMin = 200
)

// Options configure a Sink. The zero value, like a nil *Options, is the
// default schema for the tenant "".
type Options struct {
	// Tenant is the customer whose directory the Sink holds. Every table
	// has a tenant column, and a Sink reads and writes only its tenant's
	// rows: one Sink per tenant, sharing the tables and the *sql.DB.
	Tenant string
	// Tables names the tables and columns; the zero value is the default
	// schema, with table names starting with DefaultPrefix.
	Tables Tables
	// NoMigrate leaves the schema alone: the tables exist already, created
	// from [Migrations] or by the host. New still checks that every
	// column it needs is there.
	NoMigrate bool
	// Holder describes this process in the lock table, for the message a
	// second sync gets; empty means "host:pid".
	Holder string
	// LockLease is the lease of a SQLite lock; 0 means DefaultLockLease.
	// PostgreSQL's locks end with the session that holds them.
	LockLease time.Duration
	// CopyMin is how many new users a batch needs before PostgreSQL loads
	// them with COPY; 0 means DefaultCopyMin, and a negative value never
	// uses COPY.
	CopyMin int
	// Now returns the current time, for lock leases; nil means time.Now.
	Now func() time.Time
}

func (o *Options) tables() Tables {
	if o == nil {
		return Tables{}
	}
	return o.Tables
}

// A Sink is a user directory in SQL tables: a [usersync.Sink],
// [usersync.Lister] and [usersync.BatchApplier] for one tenant. It is safe
// for concurrent use.
type Sink struct {
	db      *sql.DB
	d       dialect
	n       *names
	tenant  string
	holder  string
	lease   time.Duration
	copyMin int
	now     func() time.Time
	// lock is the tenant lock this Sink holds, if any: while it does,
	// every write transaction first checks that it still holds it.
	lock atomic.Pointer[Lock]
	// asides counts the batches that could checkpoint aside (see
	// [sqliteDialect.checkpointAside]).
	asides atomic.Uint64
	// testHookSnapshot, if set, runs when a SQLite listing has begun
	// reading on its second connection, before it checks that nothing
	// was committed since it began on its first.
	testHookSnapshot func()
}

// New returns a Sink over db, which the caller keeps and closes. Unless
// opts.NoMigrate is set, it first brings the schema up to date, creating
// the tables on first use; then it checks that the tables have every column
// the Sink needs.
func New(ctx context.Context, db *sql.DB, d Dialect, opts *Options) (*Sink, error) {
	dl, err := d.impl()
	if err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &Options{}
	}
	n, err := opts.Tables.resolve()
	if err != nil {
		return nil, err
	}
	if d == SQLite && strings.Contains(n.users+n.groups+n.members+n.state+n.locks+n.invites+n.migrations, ".") {
		return nil, errors.New("sqlsink: SQLite table names cannot name a schema")
	}
	s := &Sink{
		db: db, d: dl, n: n, tenant: opts.Tenant,
		holder:  opts.Holder,
		lease:   opts.LockLease,
		copyMin: opts.CopyMin,
		now:     opts.Now,
	}
	s.setDefaults()
	if !opts.NoMigrate {
		if err := s.migrate(ctx); err != nil {
			return nil, fmt.Errorf("sqlsink: migrating the schema: %w", err)
		}
	}
	if err := s.checkSchema(ctx); err != nil {
		return nil, fmt.Errorf("sqlsink: checking the schema: %w", err)
	}
	if err := dl.prepare(ctx, db, n); err != nil {
		return nil, fmt.Errorf("sqlsink: checking the schema: %w", err)
	}
	return s, nil
}

func (s *Sink) setDefaults() {
	if s.holder == "" {
		host, _ := os.Hostname()
		s.holder = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	if s.lease <= 0 {
		s.lease = DefaultLockLease
	}
	if s.copyMin == 0 {
		s.copyMin = DefaultCopyMin
	}
	if s.now == nil {
		s.now = time.Now
	}
}

// migrate applies the migrations the database lacks, in one transaction
// that other migrators wait for.
func (s *Sink) migrate(ctx context.Context) error {
	return s.inTx(ctx, func(tx *txn) error {
		if err := s.d.lockMigrations(ctx, tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
  version INTEGER NOT NULL PRIMARY KEY,
  description TEXT NOT NULL,
  applied_at BIGINT NOT NULL
)`, s.n.migrations))
		if err != nil {
			return err
		}
		var have int
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM "+s.n.migrations).Scan(&have); err != nil {
			return err
		}
		for _, m := range migrations(s.d, s.n) {
			if m.Version <= have {
				continue
			}
			for _, stmt := range m.Statements {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("version %d: %w", m.Version, err)
				}
			}
			if m.Version == digestVersion {
				if err := s.refreshAll(ctx, tx); err != nil {
					return fmt.Errorf("version %d: digesting the users: %w", m.Version, err)
				}
			}
			_, err := tx.ExecContext(ctx, s.d.bind("INSERT INTO "+s.n.migrations+" (version, description, applied_at) VALUES (?, ?, ?)"),
				m.Version, m.Description, s.now().UnixMilli())
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// checkSchema selects every column the Sink uses from each table, so that
// a host's schema that lacks one fails here, naming it, rather than in the
// middle of a sync.
func (s *Sink) checkSchema(ctx context.Context) error {
	n := s.n
	userCols := []string{n.uID, n.uTenant, n.uKey, n.uInactive, n.uManaged, n.uMissingRuns, n.uMissingSince,
		n.uAttrsDigest, n.uGroupsDigest, n.uRev, n.uDigestRev}
	if n.uAttrs != "" {
		userCols = append(userCols, n.uAttrs)
	}
	for _, c := range n.attrCols {
		userCols = append(userCols, c.col)
	}
	for _, q := range []struct {
		table string
		cols  []string
	}{
		{n.users, userCols},
		{n.groups, []string{n.gID, n.gTenant, n.gExtID, n.gName, n.gParent, n.gAccount}},
		{n.members, []string{n.mUser, n.mGroup}},
		{n.state, []string{`"tenant"`, `"key"`, `"value"`}},
		{n.locks, []string{`"tenant"`, `"holder"`, `"token"`, `"since"`, `"expires"`}},
		{n.invites, []string{`"tenant"`, `"key"`, `"since"`}},
	} {
		have, err := s.d.columnTypes(ctx, s.db, q.table)
		if err != nil {
			return fmt.Errorf("table %s: %w", q.table, err)
		}
		if len(have) == 0 {
			return fmt.Errorf("there is no table %s", q.table)
		}
		for _, c := range q.cols {
			if _, ok := have[unquote(c)]; !ok {
				return fmt.Errorf("table %s has no column %s", q.table, c)
			}
		}
	}
	return nil
}

// Tenant returns the tenant whose rows the Sink reads and writes.
func (s *Sink) Tenant() string { return s.tenant }

var _ usersync.GroupLinker = (*Sink)(nil)

// LinksGroups reports true: a Sink stores its groups' Parent and Account
// (see [GroupsTable]).
func (s *Sink) LinksGroups() bool { return true }

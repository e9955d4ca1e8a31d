// Package sqlsink is a [usersync.Sink] in SQL tables: SQLite
// (modernc.org/sqlite, pure Go) as the embedded default, and PostgreSQL
// (github.com/jackc/pgx/v5/stdlib) for production. A [Sink] is also a
// [usersync.Lister] and a [usersync.BatchApplier], passes sink/sinktest on
// both databases, and offers a [usersync.Store] in the same database
// ([Sink.Store]), a per-tenant sync lock ([Sink.Lock]) and an invitation
// queue ([Sink.PendingInvites]).
//
//	db, err := sqlite.Open("users.db") // or sql.Open("pgx", dsn)
//	sink, err := sqlsink.New(ctx, db, sqlsink.SQLite, &sqlsink.Options{Tenant: "acme"})
//	lock, err := sink.Lock(ctx) // a *LockError if acme is syncing already
//	defer lock.Unlock(ctx)
//	res, err := pipeline.Run(ctx) // with Sink: sink
//
// # Schema
//
// New creates the tables on first use, and later adds what newer versions
// need, through numbered migrations recorded in a migrations table
// ([Migrations] lists them for hosts that run their own). The default
// tables, all starting with "usersync_":
//
//   - users: id, tenant, key (unique per tenant), attrs (a JSON object of
//     strings), inactive, managed, missing_runs, missing_since;
//   - groups: id, tenant, ext_id (unique per tenant; NULL for groups made by
//     hand, which the sync never lists nor touches), name;
//   - memberships: user_id, group_id;
//   - state (the Store), locks, invites and migrations.
//
// [Tables] renames any of them and any column, so that a Sink can write to
// a host's own tables, and maps attributes to columns of their own (an
// email column, say) instead of the JSON object.
//
// Attributes are one JSON object per user rather than a row per attribute:
// listing a million users reads a million rows, not eight million, and a
// batch writes one value per user. On PostgreSQL the column is JSON, not
// JSONB: it is written and read as text, which JSONB would parse on the way
// in and print on the way out (listing a million users took 1.9 s of server
// time as JSONB, 0.7 s as JSON), and it keeps the attributes in the order
// they were written, which usersync.Fingerprint relies on. A host can still
// query it (attrs->>'email') and index expressions of it.
//
// # Tenants
//
// Each table has a tenant column, and a Sink reads and writes the rows of
// its Options.Tenant only: one Sink per tenant, all sharing one *sql.DB and
// one set of tables. A host that prefers tables per tenant gives each
// tenant its own Tables.Prefix instead.
//
// # Applying changes
//
// ApplyBatch applies a batch in one transaction: it reads the users and
// groups the batch names (one query each), plays the changes on them in
// memory with memsink's semantics, and writes the outcome with multi-row
// statements: unnest()ed arrays on PostgreSQL, and COPY for batches with
// many new users; prepared statements in one transaction on SQLite, where
// a statement costs no round trip. Changes that fail the contract's checks
// (an absent user, an absent group) fail alone before anything is written.
// A change the database itself refuses, such as one breaking a constraint
// of the host's, rolls the transaction back; the batch then runs again
// change by change, each in a savepoint, so that only that change fails.
// Every change is idempotent, so a sync killed in the middle is repaired by
// the next one.
//
// # Concurrency
//
// A Sink is safe for concurrent use. Two syncs of one tenant must not
// interleave: each takes [Sink.Lock] first, and the second fails with a
// *[LockError]. On PostgreSQL it is a session advisory lock, released when
// its session ends; on SQLite a row with a lease the holder renews.
// Listings read a consistent snapshot without holding any lock, so they
// neither wait for writers nor hold them up.
//
// # Listing
//
// [Sink.Users] streams the users in batches, with their memberships merged
// in. A listing takes two connections from the pool until its loop ends:
// on PostgreSQL the users and the memberships stream from two backends
// sharing an exported snapshot, which the server merge-joins; on SQLite a
// goroutine steps the users on one connection, a batch ahead, while the
// listing decodes them and looks up each batch's memberships on the other
// (when the pool allows fewer than three connections, the goroutine looks
// them up on its own).
package sqlsink

// Package sqlsink is a [usersync.Sink] in SQL tables: SQLite
// (modernc.org/sqlite, pure Go) as the embedded default, and PostgreSQL
// (github.com/jackc/pgx/v5/stdlib) for production. A [Sink] is also a
// [usersync.Lister], a [usersync.DigestLister] and a
// [usersync.BatchApplier], passes sink/sinktest on both databases, and offers a [usersync.Store] in the same database
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
//     hand, which the sync never lists nor touches), name, parent and
//     account (usersync.Group's Parent and Account, NULL for none; added by
//     migration 4: a Sink is a usersync.GroupLinker);
//   - memberships: user_id, group_id, each naming a row of users or
//     groups (foreign keys on SQLite; on PostgreSQL, since migration 5,
//     triggers that check the same, see Applying changes);
//   - state (the Store), locks, invites and migrations.
//
// The users table also has four columns of the Sink's own, whatever
// [Tables] says: usersync_attrs_digest, usersync_groups_digest,
// usersync_rev and usersync_digest_rev (see Digests below), with an index
// on (tenant, key) that covers them, and triggers on the users,
// memberships and groups tables; on SQLite, a table named after the users
// table with "_usersync_writes" appended, empty but while the Sink writes.
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
// [DefaultCopyMin] new users or more; prepared statements in one
// transaction on SQLite, where a statement costs no round trip, inserting
// 256 rows a statement and updating or deleting 64 (crossing database/sql
// and the driver is what costs most per row). Changes that fail the contract's checks
// (an absent user, an absent group) fail alone before anything is written.
// A change the database itself refuses, such as one breaking a constraint
// of the host's, rolls the transaction back; the batch then runs again
// change by change, each in a savepoint, so that only that change fails.
// Every change is idempotent, so a sync killed in the middle is repaired by
// the next one.
//
// A first load (a million creates) is a run of such batches. Larger
// batches load faster: each is a transaction, a commit (an fsync) and, on
// PostgreSQL, a dozen round trips, so batches of 5,000 creates load
// markedly faster than batches of 500. On SQLite the pragmas are
// sqlite.DSN's, none relaxed for loads: journal_mode=WAL and
// synchronous=FULL, so that a load killed at any point (kill -9, or a
// power loss) leaves every committed batch and nothing of the one in
// flight, which the next sync applies again; no synchronous=OFF nor
// journal_mode=OFF or MEMORY, which trade that for speed. (With WAL,
// synchronous=NORMAL would be as safe against a killed process, but may
// lose the last commits on a power loss, which the Store's promise of
// durable writes rules out.) One pragma does change for speed, and only
// where no durability lives: temp_store=MEMORY keeps SQLite's statement
// journals (the undo log of one multi-row INSERT, so that a failed
// statement leaves nothing of itself) in memory instead of a temporary
// file; the database and its WAL are written exactly as before. That took a
// fifth of a first load's time, all of it in write system calls. And a
// batch of creates that writes new users and groups only (every batch of
// a first load) runs with foreign_keys off on its connection, turned back
// on before the connection returns to the pool: SQLite would otherwise look
// up each new membership's user and group, and the memberships of each new
// user, none of which can fail when the transaction itself inserted them
// under its write lock; and since it inserts new rows only, no foreign key
// of a host's table can be broken either. A batch that meets a user or
// group the database holds runs again with the checks on. Batches of 5,000
// creates take about 15% less time. Such a batch also drops, for its
// transaction only, the drift triggers that fire on inserts (see Digests),
// and creates them again, as they were, before it commits: they do
// nothing for the library's rows, yet SQLite runs each one's WHEN for
// every row; no other connection sees them missing.
//
// SQLite's WAL mode writes each page twice: to the WAL when a transaction
// commits, then into the database at a checkpoint, which the committing
// connection runs itself, in line, once the WAL holds 1,000 pages (the
// default wal_autocheckpoint). A batch of 1,000 changes or more
// turns that off on its connection, and a passive checkpoint of what the
// batches before it wrote runs on another connection of the pool while it
// writes, on the second core. Every fourth such batch checkpoints its own
// pages in line as before, so that the WAL, which SQLite starts again from
// its beginning only once it was checkpointed whole, stays about four
// batches long. The connection's setting is set back when it returns to
// the pool; a pool of one connection skips the checkpoints aside. A first
// load of 1M users applied in 14.6 s without the triggers (16.0 s with
// them), and in 13.2 s with the checkpoints aside too (medians of six
// loads each, alternated).
//
// PostgreSQL loads new users with COPY, their IDs taken from the users'
// sequence beforehand, and their memberships with a second COPY. The
// memberships have no foreign keys there (schema version 5 drops them):
// PostgreSQL checks a foreign key with a query for each row, which took
// more than half of a first load of 1M users (22 s of 35 to 42), and only a
// superuser may turn that off. Triggers check the same a statement at a
// time instead: a statement that inserts or updates memberships locks the
// users and groups they name (FOR KEY SHARE, as a foreign key does) and
// fails with foreign_key_violation (SQLSTATE 23503) if one is missing, and
// deleting a user or group that memberships name, changing its ID, or
// truncating its table without the memberships, fails the same way; so a
// host's writes are held to what the foreign keys held them to. A batch
// that writes new rows only, as SQLite's above, skips the check (it sets
// usersync.fresh for its transaction): its memberships name users it
// inserted, which nobody else sees before it commits, and groups it
// inserted or read with FOR KEY SHARE. A first load of 1M users took 18.7 s
// instead of 35 to 42 s.
//
// # Digests
//
// The Sink is a [usersync.DigestLister]: [Sink.Digests] lists every user's
// key and digests, in byte order of key, from one index that covers them
// (SQLite's BINARY collation; COLLATE "C" on PostgreSQL, whatever the
// database's default), without decoding attributes nor reading
// memberships; [Sink.LookupUsers] reads chosen users in full. A sync then
// reads in full only the users that changed.
//
// The digests are those of [usersync.DigestUser]: the Sink computes them
// from the full user whenever it writes one (it knows a new user whole; for
// others whose memberships the batch changes, it reads their memberships
// before it writes and applies the batch's joins and leaves to them) and
// stores them with usersync_digest_rev set to the row's usersync_rev, in
// the same UPDATE as the user's data when it writes that too.
// A digest kept only by the library would miss a change made by hand (an
// UPDATE of a title, a membership row deleted), so the revision is kept
// where the data lives: triggers move usersync_rev on every UPDATE of a
// users column the Sink reads (key, attributes, flags, missing marker),
// on every INSERT, UPDATE or DELETE of a membership, and on a change of a
// group's external ID or tenant, or its deletion, for its members. A row
// inserted by hand gets a random revision and no digests. Digests lists
// a user whose two revisions differ as not Known, with digests made of the
// revision, so that every change by hand also changes
// [usersync.ListFingerprint]; the Reconciler reads such a user in full,
// and if it differs from the feed, the change that repairs it writes its
// digests again. [Sink.RefreshDigests] digests the users left unknown (a
// change by hand that the feed agrees with).
//
// The triggers leave the Sink's own writes alone, which write their
// digests themselves, so that a load pays for no trigger's work, only its
// WHEN test: on PostgreSQL,
// the Sink's write transactions set usersync.writes, which the triggers'
// WHEN clause tests; on SQLite, whose triggers cannot see a setting of the
// connection, they hold a row in the writes table, deleted before they
// commit, so that no other connection ever sees it. The revision the Sink
// records is the one it read, under the write lock, so that a change by
// hand that slips in between still reads as one. Migration 3 adds the
// columns, index and triggers and digests the users there are; a host
// that applies [Migrations] itself calls [Sink.RefreshDigests] after it,
// for each tenant.
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

package fleet

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// engine is the River client of a Fleet, whatever its driver's
// transaction type.
type engine interface {
	start(ctx context.Context) error
	stop(ctx context.Context) error
	insertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	jobRetry(ctx context.Context, id int64) error
	jobDelete(ctx context.Context, id int64) error
	jobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	// finish ends a run in one transaction: it completes job, inserts the
	// job next returns (if any), and records rec, consuming the triggers
	// that came during the run.
	finish(ctx context.Context, job *river.Job[SyncArgs], rec *record, next func(triggered bool) *river.InsertManyParams) error
	trigger(ctx context.Context, args SyncArgs) error
	sqlDB() *sql.DB
	clientID() string
}

// txEngine is the part of an engine that works inside a host's
// transaction of type TTx.
type txEngine[TTx any] interface {
	triggerTx(ctx context.Context, tx TTx, args SyncArgs) error
}

// riverEngine implements engine for one driver.
type riverEngine[TTx any, TDriver riverdriver.Driver[TTx]] struct {
	client   *river.Client[TTx]
	queue    string
	db       *sql.DB
	begin    func(ctx context.Context) (TTx, error)
	commit   func(ctx context.Context, tx TTx) error
	rollback func(ctx context.Context, tx TTx) error
	exec     func(ctx context.Context, tx TTx, q string, args ...any) error
	queryInt func(ctx context.Context, tx TTx, q string, args ...any) (int, error)
}

func (e *riverEngine[TTx, TDriver]) start(ctx context.Context) error { return e.client.Start(ctx) }
func (e *riverEngine[TTx, TDriver]) stop(ctx context.Context) error  { return e.client.Stop(ctx) }
func (e *riverEngine[TTx, TDriver]) sqlDB() *sql.DB                  { return e.db }
func (e *riverEngine[TTx, TDriver]) clientID() string                { return e.client.ID() }

func (e *riverEngine[TTx, TDriver]) insertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	return e.client.InsertMany(ctx, params)
}

func (e *riverEngine[TTx, TDriver]) jobRetry(ctx context.Context, id int64) error {
	_, err := e.client.JobRetry(ctx, id)
	return err
}

func (e *riverEngine[TTx, TDriver]) jobDelete(ctx context.Context, id int64) error {
	_, err := e.client.JobDelete(ctx, id)
	return err
}

func (e *riverEngine[TTx, TDriver]) jobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error) {
	return e.client.JobList(ctx, params)
}

func (e *riverEngine[TTx, TDriver]) finish(ctx context.Context, job *river.Job[SyncArgs], rec *record, next func(bool) *river.InsertManyParams) (err error) {
	tx, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = e.rollback(ctx, tx)
		}
	}()
	if _, err := river.JobCompleteTx[TDriver](ctx, tx, job); err != nil {
		return fmt.Errorf("fleet: completing the job: %w", err)
	}
	// Recording the run returns the triggers that came during it.
	triggered, err := e.queryInt(ctx, tx, sqlRecord, rec.args()...)
	if err != nil {
		return fmt.Errorf("fleet: recording the run: %w", err)
	}
	if p := next(triggered > 0); p != nil {
		if _, err := e.client.InsertTx(ctx, tx, p.Args, p.InsertOpts); err != nil {
			return fmt.Errorf("fleet: scheduling the next run: %w", err)
		}
	}
	if triggered > 0 {
		if err := e.exec(ctx, tx, sqlServed, rec.tenant, triggered); err != nil {
			return fmt.Errorf("fleet: recording the triggers served: %w", err)
		}
	}
	return e.commit(ctx, tx)
}

func (e *riverEngine[TTx, TDriver]) trigger(ctx context.Context, args SyncArgs) (err error) {
	tx, err := e.begin(ctx)
	if err != nil {
		return err
	}
	if err := e.triggerTx(ctx, tx, args); err != nil {
		_ = e.rollback(ctx, tx)
		return err
	}
	return e.commit(ctx, tx)
}

// triggerTx inserts a job that runs now; if the tenant has one waiting, it
// makes it run now; if the tenant's run is in progress, it records that
// one more run is wanted after it.
func (e *riverEngine[TTx, TDriver]) triggerTx(ctx context.Context, tx TTx, args SyncArgs) error {
	res, err := e.client.InsertTx(ctx, tx, args, &river.InsertOpts{Queue: e.queue, UniqueOpts: uniqueOpts()})
	if err != nil {
		return err
	}
	if !res.UniqueSkippedAsDuplicate {
		return nil
	}
	if res.Job.State == rivertype.JobStateRunning {
		return e.exec(ctx, tx, sqlTrigger, args.Tenant)
	}
	_, err = e.client.JobRetryTx(ctx, tx, res.Job.ID)
	return err
}

// newPostgresEngine makes the engine over a pgx pool.
func newPostgresEngine(pool *pgxpool.Pool, cfg *river.Config, queue string) (*riverEngine[pgx.Tx, *riverpgxv5.Driver], error) {
	client, err := river.NewClient(riverpgxv5.New(pool), cfg)
	if err != nil {
		return nil, err
	}
	return &riverEngine[pgx.Tx, *riverpgxv5.Driver]{
		client: client,
		queue:  queue,
		db:     stdlib.OpenDBFromPool(pool),
		// A run's end is committed without waiting for the disk: if the
		// server crashes before it is flushed, the job is still running
		// after the crash, is rescued and runs again, which converges.
		begin: func(ctx context.Context) (pgx.Tx, error) {
			return pool.BeginTx(ctx, pgx.TxOptions{BeginQuery: "BEGIN; SET LOCAL synchronous_commit TO OFF"})
		},
		commit:   func(ctx context.Context, tx pgx.Tx) error { return tx.Commit(ctx) },
		rollback: func(ctx context.Context, tx pgx.Tx) error { return tx.Rollback(ctx) },
		exec: func(ctx context.Context, tx pgx.Tx, q string, args ...any) error {
			_, err := tx.Exec(ctx, q, args...)
			return err
		},
		queryInt: func(ctx context.Context, tx pgx.Tx, q string, args ...any) (n int, err error) {
			err = tx.QueryRow(ctx, q, args...).Scan(&n)
			return n, err
		},
	}, nil
}

// newSQLiteEngine makes the engine over a database/sql SQLite database.
func newSQLiteEngine(db *sql.DB, cfg *river.Config, queue string) (*riverEngine[*sql.Tx, *riversqlite.Driver], error) {
	client, err := river.NewClient(riversqlite.New(db), cfg)
	if err != nil {
		return nil, err
	}
	return &riverEngine[*sql.Tx, *riversqlite.Driver]{
		client:   client,
		queue:    queue,
		db:       db,
		begin:    func(ctx context.Context) (*sql.Tx, error) { return db.BeginTx(ctx, nil) },
		commit:   func(_ context.Context, tx *sql.Tx) error { return tx.Commit() },
		rollback: func(_ context.Context, tx *sql.Tx) error { return tx.Rollback() },
		exec: func(ctx context.Context, tx *sql.Tx, q string, args ...any) error {
			_, err := tx.ExecContext(ctx, q, args...)
			return err
		},
		queryInt: func(ctx context.Context, tx *sql.Tx, q string, args ...any) (n int, err error) {
			err = tx.QueryRowContext(ctx, q, args...).Scan(&n)
			return n, err
		},
	}, nil
}

// MigratePostgres brings River's tables and the fleet's status table up to
// date in pool's database (in the schema of its search_path). NewPostgres
// calls it unless Options.NoMigrate is set; with several workers starting
// at once, migrate once before (usersync fleet -migrate-only), since two
// migrations at once may fail.
func MigratePostgres(ctx context.Context, pool *pgxpool.Pool) error {
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("fleet: migrating River's tables: %w", err)
	}
	if _, err := pool.Exec(ctx, createStatusTable); err != nil {
		return fmt.Errorf("fleet: creating %s: %w", statusTable, err)
	}
	return nil
}

// MigrateSQLite brings River's tables and the fleet's status table up to
// date in db. NewSQLite calls it unless Options.NoMigrate is set.
func MigrateSQLite(ctx context.Context, db *sql.DB) error {
	m, err := rivermigrate.New(riversqlite.New(db), nil)
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("fleet: migrating River's tables: %w", err)
	}
	if _, err := db.ExecContext(ctx, createStatusTable); err != nil {
		return fmt.Errorf("fleet: creating %s: %w", statusTable, err)
	}
	return nil
}

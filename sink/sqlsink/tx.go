package sqlsink

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"
)

// A txn is a transaction on a connection of its own, begun with the
// dialect's own BEGIN: SQLite needs BEGIN IMMEDIATE, which database/sql
// cannot ask for, so that two writers queue on the busy timeout instead of
// failing when the second upgrades its read lock; and PostgreSQL's COPY
// needs the connection underneath.
type txn struct {
	*sql.Conn
	// resume turns the connection's foreign key checks back on once the
	// transaction ends; it is set when begin suspended them (see
	// [Sink.inInsertTx]).
	resume func(context.Context) error
	// restore sets back what the transaction changed of the connection's
	// settings, once it ended (see [sqliteDialect.checkpointAside]).
	restore func(context.Context) error
	// dropped holds the statements that create again the triggers the
	// transaction dropped while it writes (see [sqliteDialect.markWrites]).
	dropped []string
}

// begin starts a transaction with the statement given; insertOnly asks
// for the dialect's foreign key checks to be suspended for it.
func (s *Sink) begin(ctx context.Context, stmt string, insertOnly bool) (*txn, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	t := &txn{Conn: conn}
	if insertOnly {
		if t.resume, err = s.d.suspendForeignKeys(ctx, conn); err != nil {
			conn.Raw(discard)
			conn.Close()
			return nil, err
		}
	}
	if _, err := conn.ExecContext(ctx, stmt); err != nil {
		conn.Raw(discard) // in whatever state BEGIN left it, foreign keys too
		conn.Close()
		return nil, err
	}
	return t, nil
}

// insertOnly reports whether the transaction runs with its foreign key
// checks suspended, which allows it to insert new rows only.
func (t *txn) insertOnly() bool { return t.resume != nil }

// commit commits the transaction and releases the connection. It commits
// even if ctx is done meanwhile, so that the outcome is known; a ctx done
// before the call rolls back instead.
func (t *txn) commit(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		t.rollback()
		return err
	}
	if _, err := t.ExecContext(context.WithoutCancel(ctx), "COMMIT"); err != nil {
		t.rollback()
		return err
	}
	return t.release()
}

// rollbackTimeout bounds the ROLLBACK of a transaction whose ctx is done.
const rollbackTimeout = 10 * time.Second

// rollback rolls back and releases the connection. If ROLLBACK fails, the
// connection is discarded: it must not go back to the pool inside a
// transaction.
func (t *txn) rollback() {
	ctx, cancel := context.WithTimeout(context.Background(), rollbackTimeout)
	defer cancel()
	if _, err := t.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Raw(discard)
	}
	t.release()
}

// release gives the connection back to the pool, its foreign key checks
// on again and its settings restored; a connection on which they could
// not be is discarded instead, so that no other user of the pool gets it.
func (t *txn) release() error {
	for _, set := range []func(context.Context) error{t.resume, t.restore} {
		if set == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), rollbackTimeout)
		if err := set(ctx); err != nil {
			t.Raw(discard)
		}
		cancel()
	}
	return t.Close()
}

// discard makes database/sql close the connection instead of reusing it.
func discard(any) error { return driver.ErrBadConn }

// maxAttempts is how often a transaction is tried when the database asks
// for a retry (a deadlock, a serialization failure, SQLite busy).
const maxAttempts = 4

// inTx runs fn in a write transaction, retrying it when the dialect says
// the error is worth it.
func (s *Sink) inTx(ctx context.Context, fn func(*txn) error) error {
	return s.retryTx(ctx, false, fn)
}

// inInsertTx is inTx for a transaction that inserts new rows and nothing
// else, which the dialect may run with its foreign key checks suspended:
// SQLite checks each inserted membership's user and group, and the
// memberships of each user inserted by a statement of many rows, which
// took about a seventh of the time of a batch of 5,000 creates. Only new rows are written, each
// membership of a user and a group the transaction itself holds under its
// write lock, so no foreign key, the Sink's or one a host's table points
// at the Sink's, can be broken by it. fn must check tx.insertOnly() and
// fail with errNotInsertOnly before it would write anything else.
func (s *Sink) inInsertTx(ctx context.Context, fn func(*txn) error) error {
	return s.retryTx(ctx, true, fn)
}

// errNotInsertOnly says a transaction begun by inInsertTx would write more
// than new rows: it must run again as an ordinary one.
var errNotInsertOnly = errors.New("sqlsink: the batch writes more than new rows")

func (s *Sink) retryTx(ctx context.Context, insertOnly bool, fn func(*txn) error) error {
	var err error
	for attempt := range maxAttempts {
		if attempt > 0 {
			if werr := wait(ctx, time.Duration(attempt*attempt)*10*time.Millisecond); werr != nil {
				return werr
			}
		}
		if err = s.tryTx(ctx, insertOnly, fn); err == nil || !s.d.retryable(err) || ctx.Err() != nil {
			break
		}
	}
	return s.ctxErr(ctx, err)
}

func (s *Sink) tryTx(ctx context.Context, insertOnly bool, fn func(*txn) error) error {
	tx, err := s.begin(ctx, s.d.beginWrite(), insertOnly)
	if err != nil {
		return err
	}
	if err := s.checkLock(ctx, tx); err != nil {
		tx.rollback()
		return err
	}
	if err := fn(tx); err != nil {
		tx.rollback()
		return err
	}
	return tx.commit(ctx)
}

// ctxErr makes an error caused by a done ctx wrap ctx's error, whatever
// the driver made of it, so that errors.Is(err, context.Canceled) holds.
func (s *Sink) ctxErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

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
}

// begin starts a transaction with the statement given.
func (s *Sink) begin(ctx context.Context, stmt string) (*txn, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, stmt); err != nil {
		conn.Raw(discard)
		conn.Close()
		return nil, err
	}
	return &txn{conn}, nil
}

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
	return t.Close()
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
	t.Close()
}

// discard makes database/sql close the connection instead of reusing it.
func discard(any) error { return driver.ErrBadConn }

// maxAttempts is how often a transaction is tried when the database asks
// for a retry (a deadlock, a serialization failure, SQLite busy).
const maxAttempts = 4

// inTx runs fn in a write transaction, retrying it when the dialect says
// the error is worth it.
func (s *Sink) inTx(ctx context.Context, fn func(*txn) error) error {
	var err error
	for attempt := range maxAttempts {
		if attempt > 0 {
			if werr := wait(ctx, time.Duration(attempt*attempt)*10*time.Millisecond); werr != nil {
				return werr
			}
		}
		if err = s.tryTx(ctx, fn); err == nil || !s.d.retryable(err) || ctx.Err() != nil {
			break
		}
	}
	return s.ctxErr(ctx, err)
}

func (s *Sink) tryTx(ctx context.Context, fn func(*txn) error) error {
	tx, err := s.begin(ctx, s.d.beginWrite())
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

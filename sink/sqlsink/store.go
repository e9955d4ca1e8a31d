package sqlsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/usersync/usersync"
)

// A Store is a [usersync.Store] in the state table of a Sink's database,
// for the Sink's tenant: the sync's own state (applied file hashes, held
// plans, run history) lives in the same database as the directory it
// describes. Keys and values are stored as bytes, exactly. It is safe for
// concurrent use.
type Store struct {
	s *Sink
}

var _ usersync.Store = (*Store)(nil)

// Store returns the Sink's Store.
func (s *Sink) Store() *Store { return &Store{s} }

// Get returns the value of key, or an error wrapping usersync.ErrNotFound.
func (st *Store) Get(ctx context.Context, key string) ([]byte, error) {
	s := st.s
	var v []byte
	err := s.db.QueryRowContext(ctx, s.d.bind(`SELECT "value" FROM `+s.n.state+` WHERE "tenant" = ? AND "key" = ?`),
		s.tenant, []byte(key)).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlsink: store key %q: %w", key, usersync.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlsink: store key %q: %w", key, s.ctxErr(ctx, err))
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// Put sets the value of key; it is durable once Put returns.
func (st *Store) Put(ctx context.Context, key string, value []byte) error {
	s := st.s
	if value == nil {
		value = []byte{} // the column is NOT NULL; nil binds as NULL
	}
	_, err := s.db.ExecContext(ctx, s.d.bind(`INSERT INTO `+s.n.state+` ("tenant", "key", "value") VALUES (?, ?, ?)
ON CONFLICT ("tenant", "key") DO UPDATE SET "value" = excluded."value"`), s.tenant, []byte(key), value)
	if err != nil {
		return fmt.Errorf("sqlsink: store key %q: %w", key, s.ctxErr(ctx, err))
	}
	return nil
}

// Delete removes key; removing an absent key succeeds.
func (st *Store) Delete(ctx context.Context, key string) error {
	s := st.s
	_, err := s.db.ExecContext(ctx, s.d.bind(`DELETE FROM `+s.n.state+` WHERE "tenant" = ? AND "key" = ?`), s.tenant, []byte(key))
	if err != nil {
		return fmt.Errorf("sqlsink: store key %q: %w", key, s.ctxErr(ctx, err))
	}
	return nil
}

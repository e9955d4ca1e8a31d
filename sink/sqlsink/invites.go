package sqlsink

import (
	"context"
	"fmt"
)

// PendingInvites returns the keys of the users waiting for an invitation,
// oldest first: those that a CreateUser or AdoptUser with
// usersync.InviteAuto brought in (a new user, or one that was not managed).
// A change queues its invitation in the transaction that creates the user,
// so an invitation is neither lost nor queued twice, whatever the retries;
// the host sends it, then calls [Sink.InvitesSent]. The key is the one the
// user had when invited.
func (s *Sink) PendingInvites(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.d.bind(`SELECT "key" FROM `+s.n.invites+` WHERE "tenant" = ? ORDER BY "since", "key"`), s.tenant)
	if err != nil {
		return nil, fmt.Errorf("sqlsink: pending invites: %w", s.ctxErr(ctx, err))
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("sqlsink: pending invites: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlsink: pending invites: %w", s.ctxErr(ctx, err))
	}
	return keys, nil
}

// InvitesSent removes the invitations of the users with the given keys
// from the pending ones.
func (s *Sink) InvitesSent(ctx context.Context, keys ...string) error {
	err := chunks(s.d, keys, 1, func(keys []string) error {
		cond, args := in(s.d, `"key"`, keys)
		_, err := s.db.ExecContext(ctx, s.d.bind(`DELETE FROM `+s.n.invites+` WHERE "tenant" = ? AND `+cond), append([]any{s.tenant}, args...)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlsink: invites sent: %w", s.ctxErr(ctx, err))
	}
	return nil
}

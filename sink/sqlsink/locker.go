package sqlsink

import (
	"context"

	"github.com/usersync/usersync"
)

// Locker returns the tenant's sync lock (see [Sink.Lock]) as a
// usersync.Locker, for a usersync.Runner: syncs of the tenant in other
// processes, or through other Sinks, then never run beside the Runner's.
//
//	r := &usersync.Runner{Pipeline: p, Schedule: s, Lock: sink.Locker()}
//
// A sync turned away fails with the *LockError that Lock returns, which
// wraps usersync.ErrLocked.
func (s *Sink) Locker() usersync.Locker {
	return usersync.LockerFunc(func(ctx context.Context) (func(context.Context) error, error) {
		l, err := s.Lock(ctx)
		if err != nil {
			return nil, err
		}
		return l.Unlock, nil
	})
}

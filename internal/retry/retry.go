// Package retry runs an operation again after a failure, with exponential
// backoff (cenkalti/backoff/v5), as the sources do when a connection is
// refused or breaks.
package retry

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// MaxWait caps the wait between two tries.
const MaxWait = 30 * time.Second

// Do runs op until it succeeds, returns a Permanent error, ctx ends or it
// has run tries times (at least once). The first wait is about wait (±20%),
// and each next one twice the last, up to MaxWait. Each retry is logged at
// Warn on log, as prefix+": retrying" with the error and the wait; a nil
// log logs nothing. A Permanent error is returned unwrapped.
func Do[T any](ctx context.Context, tries int, wait time.Duration, log *slog.Logger, prefix string, op func() (T, error)) (T, error) {
	b := &backoff.ExponentialBackOff{
		InitialInterval:     wait,
		RandomizationFactor: 0.2,
		Multiplier:          2,
		MaxInterval:         MaxWait,
	}
	v, err := backoff.Retry(ctx, op,
		backoff.WithBackOff(b),
		backoff.WithMaxTries(uint(max(tries, 1))),
		backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(func(err error, wait time.Duration) {
			if log != nil {
				log.Warn(prefix+": retrying", "err", err, "wait", wait)
			}
		}))
	var perm *backoff.PermanentError
	if errors.As(err, &perm) && perm == err {
		err = perm.Unwrap()
	}
	return v, err
}

// Permanent wraps err so that Do returns it at once, without retrying. It
// returns nil for a nil err.
func Permanent(err error) error { return backoff.Permanent(err) }

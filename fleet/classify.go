package fleet

import (
	"context"
	"errors"
	"net/textproto"
	"os"
	"syscall"

	"github.com/usersync/usersync"
)

// Class says whether a failed run is worth retrying soon.
type Class uint8

// The classes of a failure.
const (
	// Permanent failures are not retried: a held plan, a bad file, a
	// wrong password or host key, a configuration error. They wait for a
	// new file, an approval or a change of settings, and the tenant's next
	// scheduled run.
	Permanent Class = iota + 1
	// Transient failures are retried with backoff, up to
	// Options.MaxRetries: a connection refused or reset, a timeout, a
	// server's temporary error.
	Transient
)

// String returns "permanent" or "transient".
func (c Class) String() string {
	switch c {
	case Permanent:
		return "permanent"
	case Transient:
		return "transient"
	}
	return "Class(?)"
}

// ErrTransient marks an error as transient for [Classify]: a host's
// Tenants.Open, or its own Func, wraps it (fmt.Errorf("%w: ...",
// fleet.ErrTransient)) for a failure that may pass when tried again.
var ErrTransient = errors.New("transient failure")

// Classify says whether err, the error of a run, is worth retrying.
//
// What usersync knows to be final is permanent: a guard that held the plan
// (usersync.ErrGuardTripped), a file that failed to verify or held no
// record, a stale approved plan, duplicate keys. So is every error not
// known to be transient, such as a refused login or an untrusted host key:
// retrying them could lock an account and would fail again.
//
// Transient are: errors wrapping ErrTransient; timeouts (an error with a
// Timeout method reporting true, os.ErrDeadlineExceeded,
// context.DeadlineExceeded, which is also how a run that passed
// Options.RunTimeout ends); connections refused, reset, aborted or
// unreachable; an error with a Temporary method reporting true; and an FTP
// or SMTP server's 4xx reply (*textproto.Error).
func Classify(err error) Class {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, usersync.ErrGuardTripped), errors.Is(err, usersync.ErrIntegrity),
		errors.Is(err, usersync.ErrNoRecords), errors.Is(err, usersync.ErrStalePlan),
		errors.Is(err, usersync.ErrDuplicateKey):
		return Permanent
	case errors.Is(err, ErrTransient), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, os.ErrDeadlineExceeded):
		return Transient
	}
	for _, errno := range []syscall.Errno{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED,
		syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EPIPE, syscall.ETIMEDOUT} {
		if errors.Is(err, errno) {
			return Transient
		}
	}
	var timeout interface{ Timeout() bool }
	if errors.As(err, &timeout) && timeout.Timeout() {
		return Transient
	}
	var temporary interface{ Temporary() bool }
	if errors.As(err, &temporary) && temporary.Temporary() {
		return Transient
	}
	var reply *textproto.Error
	if errors.As(err, &reply) && reply.Code >= 400 && reply.Code < 500 {
		return Transient
	}
	return Permanent
}

// classifyRun classifies a run's outcome: a run whose changes failed is
// transient if any change failed for a transient reason (the sink's
// database went away), since every change is idempotent.
func classifyRun(res *usersync.Result, err error, classify func(error) Class) Class {
	if err == nil {
		return 0
	}
	if res != nil && errors.Is(err, usersync.ErrChangesFailed) {
		for _, ce := range res.Failed {
			if classify(ce) == Transient {
				return Transient
			}
		}
		return Permanent
	}
	return classify(err)
}

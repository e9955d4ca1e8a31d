package report

import (
	"context"
	"errors"
	"fmt"

	"github.com/usersync/usersync"
)

// Multi returns a Reporter that passes each event to every one of rs, in
// order, and returns their errors joined with [errors.Join]. Nil reporters
// are skipped. One reporter failing does not keep the event from the others:
// an email that cannot be sent must not cost the run its history entry.
//
// The Reporter is an [Alerter]: it passes each alert to those of rs that are
// Alerters.
func Multi(rs ...usersync.Reporter) usersync.Reporter {
	m := make(multi, 0, len(rs))
	for _, r := range rs {
		if r != nil {
			m = append(m, r)
		}
	}
	return m
}

// multi is a fan-out of reporters; Multi copies the caller's slice into it
// so that later changes to that slice do not reach it.
type multi []usersync.Reporter

var _ Alerter = multi(nil)

// Report calls every reporter and joins their errors.
func (m multi) Report(ctx context.Context, e usersync.Event) error {
	var errs []error
	for _, r := range m {
		if err := r.Report(ctx, e); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Alert passes a to every reporter that delivers alerts, and fails as
// [Notify] does when none does.
func (m multi) Alert(ctx context.Context, a *Alert) error {
	var errs []error
	delivered := false
	for _, r := range m {
		if al, ok := r.(Alerter); ok {
			delivered = true
			if err := al.Alert(ctx, a); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if !delivered {
		return fmt.Errorf("report: no reporter of Multi delivers alerts: %w", errors.ErrUnsupported)
	}
	return errors.Join(errs...)
}

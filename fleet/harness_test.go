package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/fleet"
)

// nights is a simulated night after night: night k starts at base + k*day,
// and a tenant's run falls due offset into its night.
type nights struct {
	base   time.Time
	day    time.Duration
	offset time.Duration
}

// Next returns the first time at which a night's offset falls after after.
func (n nights) Next(after time.Time) time.Time {
	k := int64(0)
	if d := after.Sub(n.base.Add(n.offset)); d >= 0 {
		k = int64(d/n.day) + 1
	}
	return n.base.Add(time.Duration(k)*n.day + n.offset)
}

// night returns the number of the night t falls in.
func (n nights) night(t time.Time) int { return int(t.Sub(n.base) / n.day) }

// A simulation is a fleet of simulated tenants: run i falls due i*spread/N
// into each night; one tenant in 20 fails once a night for a transient
// reason, one in 50 fails for a permanent one (a bad file); every run takes
// a few milliseconds.
type simulation struct {
	tenants int
	nights  nights
	spread  time.Duration
	work    time.Duration
	rec     recorder
	worker  string
}

// A recorder keeps the start and end of every run, and its outcome.
type recorder interface {
	// start records a run's start, and returns its ID and how many runs
	// of the tenant failed for a transient reason that night before.
	start(ctx context.Context, tenant string, night int, worker string) (id int64, transient int, err error)
	end(ctx context.Context, id int64, outcome string) error
}

// A runRow is one recorded run.
type runRow struct {
	tenant     string
	night      int
	worker     string
	start, end time.Time // end is zero for a run that never ended (killed)
	outcome    string
}

const (
	outcomeOK        = "ok"
	outcomeTransient = "transient"
	outcomePermanent = "permanent"
)

func tenantID(i int) string { return fmt.Sprintf("t%05d", i) }

func kindOf(i int) string {
	switch {
	case i%50 == 7:
		return outcomePermanent
	case i%20 == 3:
		return outcomeTransient
	}
	return outcomeOK
}

func (s *simulation) List(ctx context.Context) ([]fleet.Tenant, error) {
	out := make([]fleet.Tenant, s.tenants)
	for i := range out {
		n := s.nights
		n.offset = time.Duration(int64(s.spread) * int64(i) / int64(s.tenants))
		out[i] = fleet.Tenant{ID: tenantID(i), Schedule: n, Version: "1"}
	}
	return out, nil
}

func (s *simulation) Open(ctx context.Context, id string) (*fleet.Sync, error) {
	var i int
	if _, err := fmt.Sscanf(id, "t%05d", &i); err != nil || i >= s.tenants {
		return nil, fmt.Errorf("%q: %w", id, fleet.ErrUnknownTenant)
	}
	return &fleet.Sync{Func: func(ctx context.Context) (*usersync.Result, error) { return s.sync(ctx, i) }}, nil
}

// sync is one simulated run.
func (s *simulation) sync(ctx context.Context, i int) (*usersync.Result, error) {
	ctx = context.WithoutCancel(ctx) // the recording is the test's, not the sync's
	id := tenantID(i)
	night := s.nights.night(time.Now())
	row, transient, err := s.rec.start(ctx, id, night, s.worker)
	if err != nil {
		return nil, err
	}
	outcome := kindOf(i)
	if outcome == outcomeTransient && transient > 0 {
		outcome = outcomeOK // failed once tonight already
	}
	time.Sleep(s.work)
	if err := s.rec.end(ctx, row, outcome); err != nil {
		return nil, err
	}
	res := &usersync.Result{Status: usersync.Succeeded}
	switch outcome {
	case outcomeTransient:
		res.Status = usersync.Failed
		return res, &usersync.FileError{Op: "list", Err: fmt.Errorf("dial tcp 127.0.0.1:22: %w", syscall.ECONNREFUSED)}
	case outcomePermanent:
		res.Status = usersync.Failed
		return res, &usersync.FileError{Op: "verify", File: "users.csv", Err: usersync.ErrIntegrity}
	}
	return res, nil
}

// memRecorder records runs in memory, for one process.
type memRecorder struct {
	mu   sync.Mutex
	rows []runRow
}

func (m *memRecorder) start(_ context.Context, tenant string, night int, worker string) (int64, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, r := range m.rows {
		if r.tenant == tenant && r.night == night && r.outcome == outcomeTransient {
			n++
		}
	}
	m.rows = append(m.rows, runRow{tenant: tenant, night: night, worker: worker, start: time.Now()})
	return int64(len(m.rows) - 1), n, nil
}

func (m *memRecorder) end(_ context.Context, id int64, outcome string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows[id].end, m.rows[id].outcome = time.Now(), outcome
	return nil
}

func (m *memRecorder) done(night int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, r := range m.rows {
		if r.night == night && (r.outcome == outcomeOK || r.outcome == outcomePermanent) {
			n++
		}
	}
	return n
}

func (m *memRecorder) all() []runRow {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.rows)
}

// checkNight asserts that in night, every tenant ran to its end exactly
// once (success, or a permanent failure that was not retried), that each
// transient failure was retried once, and that no tenant ever ran on two
// workers at once.
//
// A worker killed at killedAt may have left runs that never ended, or that
// ended without their job being completed: River rescues those jobs and
// they run again. So each run that killed started before killedAt allows
// one more run of its tenant; rescued returns how many such runs there
// were.
func checkNight(t *testing.T, rows []runRow, tenants, night int, killed string, killedAt time.Time) (rescued int) {
	t.Helper()
	byTenant := map[string][]runRow{}
	for _, r := range rows {
		byTenant[r.tenant] = append(byTenant[r.tenant], r)
	}
	var errs []error
	for i := range tenants {
		id := tenantID(i)
		count := map[string]int{}
		lost := 0
		for _, r := range byTenant[id] {
			if r.night == night {
				count[r.outcome]++
				if r.worker == killed && r.start.Before(killedAt) {
					lost++
				}
			}
		}
		want := map[string]int{outcomeOK: 1}
		switch kindOf(i) {
		case outcomePermanent:
			want = map[string]int{outcomePermanent: 1}
		case outcomeTransient:
			want = map[string]int{outcomeOK: 1, outcomeTransient: 1}
		}
		extra := 0
		for _, o := range []string{"", outcomeOK, outcomeTransient, outcomePermanent} {
			extra += count[o] - want[o]
			if count[o] < want[o] || count[o] > want[o]+lost {
				errs = append(errs, fmt.Errorf("%s (%s) night %d: %d runs %q, want %d (%d runs on the killed worker)",
					id, kindOf(i), night, count[o], o, want[o], lost))
			}
		}
		if extra > lost {
			errs = append(errs, fmt.Errorf("%s (%s) night %d: %d runs more than wanted, %d on the killed worker", id, kindOf(i), night, extra, lost))
		}
		if lost > 0 {
			rescued += extra
		}
		// No two runs of a tenant overlap, whatever the night. A run
		// that never ended lasted until its worker was killed.
		all := slices.Clone(byTenant[id])
		slices.SortFunc(all, func(a, b runRow) int { return a.start.Compare(b.start) })
		for j := 1; j < len(all); j++ {
			end := all[j-1].end
			if end.IsZero() {
				if all[j-1].worker != killed {
					errs = append(errs, fmt.Errorf("%s: a run on %s never ended", id, all[j-1].worker))
				}
				end = killedAt
			}
			if all[j].start.Before(end) {
				errs = append(errs, fmt.Errorf("%s: runs overlap: %s on %s from %s to %s, and on %s from %s",
					id, all[j-1].outcome, all[j-1].worker, all[j-1].start.Format(time.StampMicro), end.Format(time.StampMicro),
					all[j].worker, all[j].start.Format(time.StampMicro)))
			}
		}
	}
	if len(errs) > 0 {
		t.Errorf("night %d: %d problems, first ones:\n%v", night, len(errs), errors.Join(errs[:min(len(errs), 20)]...))
	}
	return rescued
}

// converged reports whether every tenant's run of the night is over: none
// runs, and each waits for a run at next or later, or for nothing.
func converged(ctx context.Context, f *fleet.Fleet, next time.Time) (bool, string) {
	st, err := f.Status(ctx)
	if err != nil {
		return false, err.Error()
	}
	for _, s := range st {
		if s.Running || !s.Next.IsZero() && s.Next.Before(next) {
			return false, fmt.Sprintf("%s: %+v", s.ID, s)
		}
	}
	return true, ""
}

// waitFor polls cond until it holds, or fails t after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, still waiting for %s: %s", d, what, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

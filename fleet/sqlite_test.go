package fleet_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usersync/usersync/fleet"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
)

// TestSQLiteNights runs 1,000 simulated tenants through two nights on one
// process with the embedded SQLite driver.
func TestSQLiteNights(t *testing.T) {
	if raceEnabled {
		t.Skip("skipped under -race: the simulation is timed in simulated nights, which -race slows past; it runs in go test ./... without -race, and the other tests run the same code under -race")
	}
	const tenants, day = 1000, 15 * time.Second
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	rec := &memRecorder{}
	sim := &simulation{
		tenants: tenants,
		nights:  nights{base: time.Now().Add(time.Second).Truncate(time.Second), day: day},
		spread:  2 * time.Second,
		work:    2 * time.Millisecond,
		rec:     rec,
		worker:  "sqlite",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := fleet.NewSQLite(ctx, db, sim, &fleet.Options{
		MaxWorkers:   20,
		PollInterval: 50 * time.Millisecond,
		Jitter:       500 * time.Millisecond,
		Backoff:      func(int) time.Duration { return 100 * time.Millisecond },
		RunTimeout:   5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	for night := range 2 {
		start := time.Now()
		waitFor(t, sim.nights.day+10*time.Second, fmt.Sprintf("night %d", night), func() (bool, string) {
			n := rec.done(night)
			if n == tenants {
				return true, ""
			}
			return false, fmt.Sprintf("%d of %d tenants done; %s", n, tenants, notDone(ctx, f, rec, night))
		})
		t.Logf("night %d: %d tenants done in %v after the night began", night, tenants, time.Since(start))
		next := sim.nights.base.Add(time.Duration(night+1) * sim.nights.day)
		waitFor(t, 10*time.Second, "every tenant's next run", func() (bool, string) { return converged(ctx, f, next) })
		checkNight(t, rec.all(), tenants, night, "", time.Time{})
	}
	st, err := f.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != tenants {
		t.Fatalf("Status: %d tenants, want %d", len(st), tenants)
	}
	t.Logf("status of %s: %+v", st[7].ID, st[7])
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// notDone describes a few tenants not done with night, for a failure.
func notDone(ctx context.Context, f *fleet.Fleet, rec *memRecorder, night int) string {
	done := map[string]bool{}
	for _, r := range rec.all() {
		if r.night == night && (r.outcome == outcomeOK || r.outcome == outcomePermanent) {
			done[r.tenant] = true
		}
	}
	st, err := f.Status(ctx)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	n := 0
	for _, s := range st {
		if !done[s.ID] && n < 5 {
			n++
			fmt.Fprintf(&b, "\n%s: next %s (%s), running %v, last %+v", s.ID, s.Next.Format(time.StampMilli), s.NextReason, s.Running, s.Last)
		}
	}
	return b.String()
}

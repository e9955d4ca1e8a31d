package usersync_test

import (
	"fmt"
	"testing"
	"time"

	cron "github.com/netresearch/go-cron"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
)

// A cron expression parsed by go-cron is a usersync.Schedule as it is.
var _ usersync.Schedule = cron.Schedule(nil)

// Daily and go-cron agree through a year, at every quarter hour, in zones
// that change at 02:00 (America/Chicago) and 02:00 or 03:00 (Europe/Berlin):
// everywhere but at the times a change skips or repeats, where go-cron
// differs (see TestCronDSTDeviations).
func TestDailyAgreesWithCron(t *testing.T) {
	for _, zone := range []string{"America/Chicago", "Europe/Berlin"} {
		loc := mustLoad(t, zone)
		from := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
		until := time.Date(2027, 1, 1, 0, 0, 0, 0, loc)
		for minutes := 0; minutes < 24*60; minutes += 15 {
			h, m := minutes/60, minutes%60
			c, err := cron.ParseStandard(fmt.Sprintf("CRON_TZ=%s %d %d * * *", zone, m, h))
			require.NoError(t, err)
			want := instants(firesUntil(c, from, until))
			got := instants(firesUntil(usersync.Daily(h, m, loc), from, until))
			if h >= 1 && h <= 3 {
				// Within reach of a change: only the days without one.
				want, got = withoutChangeDays(want, loc), withoutChangeDays(got, loc)
			}
			require.Equal(t, want, got, "%s at %02d:%02d", zone, h, m)
			require.GreaterOrEqual(t, len(got), 363)
		}
	}
}

// withoutChangeDays leaves out the times on days whose clocks change.
func withoutChangeDays(ts []string, loc *time.Location) []string {
	var out []string
	for _, s := range ts {
		t, _ := time.Parse(time.RFC3339Nano, s)
		y, m, d := t.In(loc).Date()
		_, before := time.Date(y, m, d, 0, 0, 0, 0, loc).Zone()
		_, after := time.Date(y, m, d, 23, 59, 0, 0, loc).Zone()
		if before == after {
			out = append(out, s)
		}
	}
	return out
}

// Where go-cron's Schedule.Next (v0.9.1) differs from Daily, for the Runner's
// doc to tell users: a time that a change repeats fires twice (go-cron
// removes the second run in its own scheduler, not in Next: go-cron#349), a
// skipped time fires at its minute past the next hour rather than when the
// clocks jump, and a day is skipped when the change skips midnight or is
// half an hour. If this fails after an upgrade, go-cron changed: update the
// doc of usersync.Schedule.
func TestCronDSTDeviations(t *testing.T) {
	cases := []struct {
		zone, spec string
		from       time.Time
		cron, dly  []string
	}{
		{"America/Chicago", "30 1 * * *", time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC),
			[]string{"11-01 01:30 -0500", "11-01 01:30 -0600", "11-02 01:30 -0600"},
			[]string{"11-01 01:30 -0500", "11-02 01:30 -0600", "11-03 01:30 -0600"}},
		{"America/Chicago", "30 2 * * *", time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC),
			[]string{"03-08 03:30 -0500", "03-09 02:30 -0500", "03-10 02:30 -0500"},
			[]string{"03-08 03:00 -0500", "03-09 02:30 -0500", "03-10 02:30 -0500"}},
		{"America/Santiago", "15 0 * * *", time.Date(2026, 9, 4, 12, 0, 0, 0, time.UTC), // 2026-09-06 00:00 became 01:00
			[]string{"09-05 00:15 -0400", "09-07 00:15 -0300", "09-08 00:15 -0300"},
			[]string{"09-05 00:15 -0400", "09-06 01:00 -0300", "09-07 00:15 -0300"}},
		{"Australia/Lord_Howe", "0 3 * * *", time.Date(2026, 4, 3, 12, 0, 0, 0, time.UTC), // 2026-04-05 02:00 became 01:30
			[]string{"04-04 03:00 +1100", "04-06 03:00 +1030", "04-07 03:00 +1030"},
			[]string{"04-04 03:00 +1100", "04-05 03:00 +1030", "04-06 03:00 +1030"}},
	}
	for _, c := range cases {
		t.Run(c.zone+" "+c.spec, func(t *testing.T) {
			loc := mustLoad(t, c.zone)
			s, err := cron.ParseStandard("CRON_TZ=" + c.zone + " " + c.spec)
			require.NoError(t, err)
			var h, m int
			_, err = fmt.Sscanf(c.spec, "%d %d", &m, &h)
			require.NoError(t, err)
			show := func(ts []time.Time) []string {
				out := make([]string, len(ts))
				for i, t := range ts {
					out[i] = t.In(loc).Format("01-02 15:04 -0700")
				}
				return out
			}
			assert.Equal(t, c.cron, show(fires(s, c.from, 3)), "go-cron")
			assert.Equal(t, c.dly, show(fires(usersync.Daily(h, m, loc), c.from, 3)), "Daily")
		})
	}
}

// instants returns ts in UTC, to compare instants rather than locations.
func instants(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.UTC().Format(time.RFC3339Nano)
	}
	return out
}

// The cron expression of the issue, through a Runner, across both 2026
// changes in Chicago: once per local day, at 00:15 each time.
func TestRunnerCronAcrossDST(t *testing.T) {
	chicago := mustLoad(t, "America/Chicago")
	s, err := cron.ParseStandard("CRON_TZ=America/Chicago 15 0 * * *")
	require.NoError(t, err)
	got := runFires(t, s, time.Date(2026, 3, 1, 12, 0, 0, 0, chicago), 250)
	for i, f := range got {
		want := time.Date(2026, 3, 2+i, 0, 15, 0, 0, chicago)
		require.Equal(t, local(want, chicago), local(f, chicago), "run %d", i)
	}
	assert.Equal(t, "2026-11-06 00:15 CST", local(got[len(got)-1], chicago))
}

// The cost of asking a schedule for its next time, Daily against go-cron's
// parsed expression, a year of nightly times each.
func BenchmarkScheduleNext(b *testing.B) {
	chicago := mustLoad(b, "America/Chicago")
	c, err := cron.ParseStandard("CRON_TZ=America/Chicago 15 0 * * *")
	require.NoError(b, err)
	for _, s := range []struct {
		name string
		s    usersync.Schedule
	}{{"cron", c}, {"Daily", usersync.Daily(0, 15, chicago)}} {
		b.Run(s.name, func(b *testing.B) {
			from := time.Date(2026, 1, 1, 0, 0, 0, 0, chicago)
			t := from
			for b.Loop() {
				if t = s.s.Next(t); t.Year() > 2026 {
					t = from
				}
			}
		})
	}
}

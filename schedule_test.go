package usersync_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
)

// fires returns the first n times s fires after from.
func fires(s usersync.Schedule, from time.Time, n int) []time.Time {
	var out []time.Time
	for t := from; len(out) < n; {
		t = s.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out
}

// fireUntil returns the times s fires after from, up to until.
func firesUntil(s usersync.Schedule, from, until time.Time) []time.Time {
	var out []time.Time
	for t := s.Next(from); !t.IsZero() && t.Before(until); t = s.Next(t) {
		out = append(out, t)
	}
	return out
}

func TestDailyAcrossDST(t *testing.T) {
	chicago := mustLoad(t, "America/Chicago")
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, chicago)
	until := time.Date(2027, 1, 1, 0, 0, 0, 0, chicago)
	got := firesUntil(usersync.Daily(0, 15, chicago), from, until)
	require.Len(t, got, 365, "once a day through 2026")
	assert.Equal(t, chicago, got[0].Location())
	for i, f := range got {
		want := time.Date(2026, 1, 1+i, 0, 15, 0, 0, chicago)
		require.Equal(t, local(want, chicago), local(f, chicago), "fire %d", i)
	}
	// The nights clocks change make a 23- and a 25-hour gap between two runs.
	gap := func(day int) time.Duration { return got[day].Sub(got[day-1]) }
	assert.Equal(t, 23*time.Hour, gap(time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC).YearDay()-1))
	assert.Equal(t, 25*time.Hour, gap(time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC).YearDay()-1))
}

// A time clocks skip fires when they jump past it; a time they repeat
// fires once, at its first occurrence.
func TestDailySkippedAndRepeatedTimes(t *testing.T) {
	chicago := mustLoad(t, "America/Chicago")
	cases := []struct {
		hour, min int
		from      time.Time
		want      []string
	}{
		// 2026-03-08: 02:00 CST becomes 03:00 CDT.
		{2, 30, time.Date(2026, 3, 7, 12, 0, 0, 0, chicago), []string{
			"2026-03-08 03:00 CDT", "2026-03-09 02:30 CDT"}},
		{2, 0, time.Date(2026, 3, 7, 12, 0, 0, 0, chicago), []string{
			"2026-03-08 03:00 CDT", "2026-03-09 02:00 CDT"}},
		{3, 0, time.Date(2026, 3, 7, 12, 0, 0, 0, chicago), []string{
			"2026-03-08 03:00 CDT", "2026-03-09 03:00 CDT"}},
		// 2026-11-01: 02:00 CDT becomes 01:00 CST; 01:00 to 01:59 come twice.
		{1, 30, time.Date(2026, 10, 31, 12, 0, 0, 0, chicago), []string{
			"2026-11-01 01:30 CDT", "2026-11-02 01:30 CST"}},
		{1, 0, time.Date(2026, 10, 31, 12, 0, 0, 0, chicago), []string{
			"2026-11-01 01:00 CDT", "2026-11-02 01:00 CST"}},
		{2, 0, time.Date(2026, 10, 31, 12, 0, 0, 0, chicago), []string{
			"2026-11-01 02:00 CST", "2026-11-02 02:00 CST"}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%02d:%02d", c.hour, c.min), func(t *testing.T) {
			var got []string
			for _, f := range fires(usersync.Daily(c.hour, c.min, chicago), c.from, len(c.want)) {
				got = append(got, local(f, chicago))
			}
			assert.Equal(t, c.want, got)
		})
	}

	// Asked between the two 01:30s of the night, it fires the next day.
	daily := usersync.Daily(1, 30, chicago)
	second := time.Date(2026, 11, 1, 6, 45, 0, 0, time.UTC) // 01:45 CDT
	assert.Equal(t, "2026-11-02 01:30 CST", local(daily.Next(second), chicago))
	assert.Equal(t, "2026-11-02 01:30 CST", local(daily.Next(second.Add(time.Hour)), chicago), "01:45 CST")
}

// A zone whose clocks skip midnight, and one whose clocks move by half an
// hour.
func TestDailyOddZones(t *testing.T) {
	saoPaulo := mustLoad(t, "America/Sao_Paulo") // 2018-11-04 00:00 became 01:00
	got := fires(usersync.Daily(0, 0, saoPaulo), time.Date(2018, 11, 2, 12, 0, 0, 0, saoPaulo), 3)
	assert.Equal(t, []string{"2018-11-03 00:00 -03", "2018-11-04 01:00 -02", "2018-11-05 00:00 -02"},
		[]string{local(got[0], saoPaulo), local(got[1], saoPaulo), local(got[2], saoPaulo)})

	lordHowe := mustLoad(t, "Australia/Lord_Howe") // 2026-10-04 02:00 became 02:30
	got = fires(usersync.Daily(2, 15, lordHowe), time.Date(2026, 10, 3, 12, 0, 0, 0, lordHowe), 2)
	assert.Equal(t, "2026-10-04 02:30", got[0].In(lordHowe).Format("2006-01-02 15:04"))
	assert.Equal(t, "2026-10-05 02:15", got[1].In(lordHowe).Format("2006-01-02 15:04"))
}

func TestWeekly(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	// 2026-03-29 is a Sunday, the night Berlin springs forward.
	got := fires(usersync.Weekly(time.Sunday, 2, 30, berlin), time.Date(2026, 3, 20, 0, 0, 0, 0, berlin), 3)
	var shown []string
	for _, f := range got {
		shown = append(shown, f.In(berlin).Format("Mon 2006-01-02 15:04 MST"))
	}
	assert.Equal(t, []string{"Sun 2026-03-22 02:30 CET", "Sun 2026-03-29 03:00 CEST", "Sun 2026-04-05 02:30 CEST"}, shown)
	assert.Equal(t, "weekly on Sunday at 02:30 Europe/Berlin", fmt.Sprint(usersync.Weekly(time.Sunday, 2, 30, berlin)))

	// On the day itself, before the time: that day.
	monday := usersync.Weekly(time.Monday, 1, 0, time.UTC)
	assert.Equal(t, time.Date(2026, 6, 1, 1, 0, 0, 0, time.UTC), monday.Next(time.Date(2026, 6, 1, 0, 59, 0, 0, time.UTC)))
	assert.Equal(t, time.Date(2026, 6, 8, 1, 0, 0, 0, time.UTC), monday.Next(time.Date(2026, 6, 1, 1, 0, 0, 0, time.UTC)))
}

func TestEvery(t *testing.T) {
	start := time.Date(2026, 3, 8, 1, 0, 0, 0, time.UTC)
	assert.Equal(t, start.Add(90*time.Minute), usersync.Every(90*time.Minute).Next(start))
	assert.Equal(t, "every 1h30m0s", fmt.Sprint(usersync.Every(90*time.Minute)))
	assert.Equal(t, "daily at 00:15 UTC", fmt.Sprint(usersync.Daily(0, 15, time.UTC)))
}

func TestScheduleArgumentsPanic(t *testing.T) {
	assert.PanicsWithValue(t, "usersync: Every(0s): the interval must be positive", func() { usersync.Every(0) })
	assert.Panics(t, func() { usersync.Daily(24, 0, time.UTC) })
	assert.Panics(t, func() { usersync.Daily(0, 60, time.UTC) })
	assert.Panics(t, func() { usersync.Daily(-1, 0, time.UTC) })
	assert.Panics(t, func() { usersync.Daily(0, 0, nil) })
	assert.Panics(t, func() { usersync.Weekly(7, 0, 0, time.UTC) })
}

func TestBetween(t *testing.T) {
	from := time.Date(2026, 6, 20, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 8, 31, 0, 0, 0, 0, time.UTC)
	summer := usersync.Between(from, to)
	assert.False(t, summer(from.Add(-time.Nanosecond)))
	assert.True(t, summer(from))
	assert.True(t, summer(to.Add(-time.Nanosecond)))
	assert.False(t, summer(to))
}

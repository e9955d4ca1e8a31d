package usersync

import (
	"fmt"
	"time"
)

// A Schedule says when a [Runner] syncs. Next returns the first time after
// after at which the schedule fires, or the zero time if it never fires
// again.
//
// Every, Daily and Weekly make the common ones. Schedule has the method set
// of the Schedule of github.com/netresearch/go-cron (the maintained fork of
// robfig/cron), so a parsed cron expression is a Schedule as it is, time zone
// included, without this package importing a cron parser:
//
//	s, err := cron.ParseStandard("CRON_TZ=America/Chicago 15 0 * * *")
//	r := &usersync.Runner{Pipeline: p, Schedule: s}
//
// For a fixed time of day, prefer Daily or Weekly if the time may be one that
// a daylight saving change skips or repeats. go-cron's Next (v0.9.1) then
// fires a repeated time twice (its own scheduler drops the second run; a
// Runner only asks Next), fires a skipped 02:30 at 03:30 rather than when
// the clocks jump, and skips the day altogether when the change skips
// midnight (America/Santiago, America/Havana) or moves the clocks by half an
// hour (Australia/Lord_Howe). At other times the two agree.
type Schedule interface {
	Next(after time.Time) time.Time
}

// Every returns a Schedule that fires every d. A Runner's first scheduled run
// is then d after it starts; call [Runner.Trigger] before [Runner.Run] to
// sync at once as well. Every counts elapsed time, so Every(24 * time.Hour)
// moves by an hour of wall-clock time when daylight saving time starts or
// ends: use [Daily] for a time of day. Every panics if d is not positive.
func Every(d time.Duration) Schedule {
	if d <= 0 {
		panic(fmt.Sprintf("usersync: Every(%v): the interval must be positive", d))
	}
	return every(d)
}

type every time.Duration

// Next returns after + d.
func (e every) Next(after time.Time) time.Time { return after.Add(time.Duration(e)) }

// String returns "every 1h0m0s".
func (e every) String() string { return "every " + time.Duration(e).String() }

// Daily returns a Schedule that fires once a day when the clocks of loc show
// hour:minute, as the seeds' products sync: SMARTFENSE at 01:00 local time, a
// school information system at 00:15 US Central time.
//
// Days are loc's days, so the sync keeps its wall-clock time across daylight
// saving changes, and fires once on each day, also on the 23- and 25-hour
// ones. A time that a change skips (02:30 on the night clocks spring forward
// from 02:00 to 03:00) fires at the first instant after the gap (03:00 new
// time); a time that a change repeats (01:30 on the night clocks fall back
// from 02:00 to 01:00) fires at its first occurrence only.
//
// Daily panics if hour is not in [0, 23], minute not in [0, 59], or loc is nil.
func Daily(hour, minute int, loc *time.Location) Schedule {
	return newWallClock("Daily", allDays, hour, minute, loc)
}

// Weekly returns a Schedule that fires once a week, on day, when the clocks
// of loc show hour:minute. Daylight saving changes are handled as [Daily]
// handles them. Weekly panics on the arguments Daily panics on.
func Weekly(day time.Weekday, hour, minute int, loc *time.Location) Schedule {
	if day < time.Sunday || day > time.Saturday {
		panic(fmt.Sprintf("usersync: Weekly: %d is not a weekday", day))
	}
	return newWallClock("Weekly", 1<<day, hour, minute, loc)
}

// allDays is the weekday mask of every day.
const allDays = 1<<7 - 1

// wallClock fires at a time of day, on the weekdays of its mask.
type wallClock struct {
	days         uint8 // bit d set: fires on time.Weekday(d)
	hour, minute int
	loc          *time.Location
}

func newWallClock(fn string, days uint8, hour, minute int, loc *time.Location) wallClock {
	switch {
	case hour < 0 || hour > 23:
		panic(fmt.Sprintf("usersync: %s: hour %d is not in [0, 23]", fn, hour))
	case minute < 0 || minute > 59:
		panic(fmt.Sprintf("usersync: %s: minute %d is not in [0, 59]", fn, minute))
	case loc == nil:
		panic("usersync: " + fn + ": nil *time.Location (use time.Local or time.LoadLocation)")
	}
	return wallClock{days: days, hour: hour, minute: minute, loc: loc}
}

// Next returns the first instant after after at which the clocks of the
// location show the time, on a day of the schedule, in the location.
func (w wallClock) Next(after time.Time) time.Time {
	y, m, d := after.In(w.loc).Date()
	// Today's time may still be ahead; otherwise the next matching day is at
	// most a week on. One more day covers a time that a gap moved.
	for i := range 9 {
		date := time.Date(y, m, d+i, 0, 0, 0, 0, time.UTC) // a calendar date, normalized
		if w.days&(1<<date.Weekday()) == 0 {
			continue
		}
		if t := wallTime(date, w.hour, w.minute, w.loc); t.After(after) {
			return t.In(w.loc)
		}
	}
	panic("usersync: wallClock.Next: no day matched") // unreachable: the mask has a day
}

// String describes the schedule, as in "daily at 00:15 America/Chicago".
func (w wallClock) String() string {
	at := fmt.Sprintf("at %02d:%02d %s", w.hour, w.minute, w.loc)
	if w.days == allDays {
		return "daily " + at
	}
	for d := time.Sunday; d <= time.Saturday; d++ {
		if w.days == 1<<d {
			return "weekly on " + d.String() + " " + at
		}
	}
	return fmt.Sprintf("days %07b %s", w.days, at)
}

// wallTime returns the first instant at which the clocks of loc show date
// (a date at midnight UTC) at hour:minute. For a time that a daylight saving
// change (or any change of offset) skips, it returns the instant the clocks
// jumped past it.
//
// time.Date does not say which instant it picks for a time that a change
// repeats or skips, so the candidates are computed from the offsets in
// effect around the date, and checked.
func wallTime(date time.Time, hour, minute int, loc *time.Location) time.Time {
	naive := date.Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
	var first time.Time
	for _, probe := range [...]time.Duration{-48 * time.Hour, 0, 48 * time.Hour} {
		t := naive.Add(-offset(naive.Add(probe), loc))
		if sameWall(t.In(loc), naive) && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	if !first.IsZero() {
		return first
	}
	// Skipped: read with the offset from before the change, the time falls
	// after it, in the zone that the change began.
	t := naive.Add(-offset(naive.Add(-48*time.Hour), loc)).In(loc)
	if start, _ := t.ZoneBounds(); !start.IsZero() && !start.After(t) {
		return start
	}
	return t
}

// offset returns loc's offset from UTC at t.
func offset(t time.Time, loc *time.Location) time.Duration {
	_, secs := t.In(loc).Zone()
	return time.Duration(secs) * time.Second
}

// sameWall reports whether t shows the date, hour and minute of naive.
func sameWall(t, naive time.Time) bool {
	y1, m1, d1 := t.Date()
	y2, m2, d2 := naive.Date()
	return y1 == y2 && m1 == m2 && d1 == d2 && t.Hour() == naive.Hour() && t.Minute() == naive.Minute()
}

// Between returns a pause window for [Runner.Pause]: it reports whether a
// time is from from up to, but not including, to. Combine windows with ||,
// as in
//
//	summer := usersync.Between(time.Date(2026, 6, 20, 0, 0, 0, 0, berlin), time.Date(2026, 8, 31, 0, 0, 0, 0, berlin))
//	winter := usersync.Between(...)
//	r.Pause = func(t time.Time) bool { return summer(t) || winter(t) }
func Between(from, to time.Time) func(time.Time) bool {
	return func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
}

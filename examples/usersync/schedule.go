package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/examples/usersync/internal/config"
)

// schedule returns the usersync.Schedule of the config's schedule section:
// every, daily (at one or more times of day) or cron, in its time zone; nil
// when watch runs on new files only.
func schedule(sc *config.Schedule) (usersync.Schedule, error) {
	loc := sc.Location()
	switch {
	case sc.Every > 0:
		return usersync.Every(sc.Every.D()), nil
	case len(sc.Daily) == 1:
		return usersync.Daily(sc.Daily[0].Hour, sc.Daily[0].Minute, loc), nil
	case len(sc.Daily) > 1:
		var all firstOf
		for _, t := range sc.Daily {
			all = append(all, usersync.Daily(t.Hour, t.Minute, loc))
		}
		return all, nil
	case sc.Cron != "":
		return sc.CronSchedule() // go-cron's Schedule is a usersync.Schedule as it is
	}
	return nil, nil
}

// firstOf fires whenever one of its schedules does: "daily at 00:15 and
// 12:15".
type firstOf []usersync.Schedule

// Next returns the earliest of the schedules' next times.
func (f firstOf) Next(after time.Time) time.Time {
	var next time.Time
	for _, s := range f {
		if t := s.Next(after); !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next
}

// pause returns the Runner's Pause: whether a time is in one of the
// config's pause windows, in the schedule's time zone.
func pause(sc *config.Schedule) func(time.Time) bool {
	loc := sc.Location()
	return func(t time.Time) bool {
		for i := range sc.Pause {
			if sc.Pause[i].Contains(t, loc) {
				return true
			}
		}
		return false
	}
}

// describeSchedule says in one line when watch syncs, and when it would
// next: for check, and for watch's first log line.
func describeSchedule(sc *config.Schedule, now time.Time) (string, error) {
	sched, err := schedule(sc)
	if err != nil {
		return "", err
	}
	var parts []string
	switch {
	case sc.Every > 0:
		parts = append(parts, "every "+sc.Every.D().String())
	case len(sc.Daily) > 0:
		times := make([]string, len(sc.Daily))
		for i, t := range sc.Daily {
			times[i] = t.String()
		}
		parts = append(parts, fmt.Sprintf("daily at %s %s", strings.Join(times, ", "), sc.Location()))
	case sc.Cron != "":
		parts = append(parts, fmt.Sprintf("cron %q %s", sc.Cron, sc.Location()))
	}
	if sc.OnNewFile {
		parts = append(parts, "on new files, looking every "+sc.Poll.D().String())
	}
	if sched != nil {
		if next := nextRun(sched, pause(sc), now); !next.IsZero() {
			parts = append(parts, "next run "+next.In(sc.Location()).Format("2006-01-02 15:04 MST"))
		}
	}
	if len(sc.Pause) > 0 {
		parts = append(parts, fmt.Sprintf("%d pause windows", len(sc.Pause)))
	}
	return strings.Join(parts, "; "), nil
}

// nextRun returns the schedule's next time after now outside the pauses,
// looking a bounded number of fires ahead (a summer pause of a daily
// schedule skips some 60).
func nextRun(s usersync.Schedule, paused func(time.Time) bool, now time.Time) time.Time {
	t := now
	for range 1000 {
		if t = s.Next(t); t.IsZero() || !paused(t) {
			return t
		}
	}
	return time.Time{}
}

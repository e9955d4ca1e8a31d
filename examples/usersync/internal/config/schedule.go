package config

import (
	"fmt"
	"strings"
	"time"

	cron "github.com/netresearch/go-cron"
)

// DefaultPoll is how often on_new_file looks at the source.
const DefaultPoll = time.Minute

func (s *Schedule) check(c *checker) {
	const at = "schedule"
	n := countSet(s.Every > 0, len(s.Daily) > 0, s.Cron != "")
	switch {
	case n == 0 && !s.OnNewFile:
		c.errorf(at, "give when to run: every, daily, cron, on_new_file, or on_new_file with one of the others")
	case n > 1:
		c.errorf(at, "give only one of every, daily and cron")
	}
	if c.has(at+".every") && s.Every < Duration(time.Minute) {
		c.errorf(at+".every", "runs more often than once a minute would only load the servers")
	}
	if s.Cron != "" {
		if _, err := s.CronSchedule(); err != nil {
			c.errorf(at+".cron", "%q: %v", s.Cron, err)
		}
	}
	if s.TimeZone != nil && n == 0 {
		c.errorf(at+".time_zone", "applies to daily and cron only")
	}
	if s.OnNewFile && s.Poll == 0 {
		s.Poll = Duration(DefaultPoll)
	}
	if c.has(at+".poll") && !s.OnNewFile {
		c.errorf(at+".poll", "applies to on_new_file only")
	}
	if s.OnNewFile && s.Poll < Duration(time.Second) {
		c.errorf(at+".poll", "looking more often than once a second would only load the server")
	}
	for i := range s.Pause {
		s.Pause[i].check(c, fmt.Sprintf("%s.pause[%d]", at, i))
	}
}

// Location returns the time zone of the schedule: TimeZone, or the
// machine's.
func (s *Schedule) Location() *time.Location {
	if s.TimeZone != nil {
		return s.TimeZone.Location
	}
	return time.Local
}

// CronSchedule parses Cron with github.com/netresearch/go-cron, in the
// schedule's time zone unless the expression names its own (CRON_TZ=...).
func (s *Schedule) CronSchedule() (cron.Schedule, error) {
	spec := strings.TrimSpace(s.Cron)
	if s.TimeZone != nil && !strings.HasPrefix(spec, "CRON_TZ=") && !strings.HasPrefix(spec, "TZ=") {
		spec = "CRON_TZ=" + s.TimeZone.String() + " " + spec
	}
	return cron.ParseStandard(spec)
}

func (w *Window) check(c *checker, at string) {
	switch {
	case w.From.original == "" || w.To.original == "":
		c.errorf(at, "give both from and to")
	case w.From.Yearly != w.To.Yearly:
		c.errorf(at, "give both ends as dates (2026-06-20) or both as days of every year (06-20)")
	case !w.From.Yearly && !w.From.start(w.From.Year, time.UTC).Before(w.To.end(w.To.Year, time.UTC)):
		c.errorf(at+".to", "%s is before %s", w.To, w.From)
	}
}

// Contains reports whether t is in the window, in the time zone loc. A
// date without a time of day includes the whole day; a yearly window may
// run over the new year ("12-20" to "01-06").
func (w *Window) Contains(t time.Time, loc *time.Location) bool {
	t = t.In(loc)
	if !w.From.Yearly {
		return !t.Before(w.From.start(w.From.Year, loc)) && t.Before(w.To.end(w.To.Year, loc))
	}
	from, to := w.From.start(t.Year(), loc), w.To.end(t.Year(), loc)
	if !to.After(from) { // over the new year
		return !t.Before(from) || t.Before(to)
	}
	return !t.Before(from) && t.Before(to)
}

// start returns when the window time begins, in the given year.
func (w WindowTime) start(year int, loc *time.Location) time.Time {
	return time.Date(year, w.Month, w.Day, w.Hour, w.Minute, 0, 0, loc)
}

// end returns the first moment after the window time, in the given year:
// the next minute, or the next day for a date alone.
func (w WindowTime) end(year int, loc *time.Location) time.Time {
	if w.HasTimeOfDay {
		return w.start(year, loc).Add(time.Minute)
	}
	return time.Date(year, w.Month, w.Day+1, 0, 0, 0, 0, loc)
}

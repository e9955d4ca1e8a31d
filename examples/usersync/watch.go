package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/report/metrics"
)

// staleCheckEvery is how often watch asks whether the feed went stale, for
// feeds whose runs only come with new files.
const staleCheckEvery = time.Hour

// cmdWatch syncs on the config's schedule with a usersync.Runner until
// SIGINT or SIGTERM. A run still reading or planning is then canceled,
// having applied nothing; one applying its plan finishes, within
// schedule.shutdown_timeout.
func watchCommand(a *app) *cobra.Command {
	var now bool
	var metricsAddr string
	c := a.do(&cobra.Command{
		Use:   "watch [--now] [--metrics-addr ADDR]",
		Short: "Sync on the config's schedule until stopped",
		Long: `watch syncs on the schedule of the config file (every, daily, cron or on new
files) until stopped with SIGINT or SIGTERM: a run still reading or planning is
then canceled, having applied nothing; one applying its plan finishes first.
It prints one line a run (--json: one JSON document a run, a line each) and
logs what it does to stderr (-q: errors only).`,
		Example: `  usersync -c acme.yaml watch
  usersync -c acme.yaml watch --now   # sync at start too
  usersync -c acme.yaml watch --metrics-addr 127.0.0.1:9090   # /metrics and /healthz`,
		Args: noArgs,
	}, func(ctx context.Context, _ []string) int {
		if err := a.load(); err != nil {
			return a.fail(err)
		}
		return a.watch(ctx, now, metricsAddr)
	})
	c.Flags().BoolVar(&now, "now", false, "sync once at start too, then on the schedule")
	c.Flags().StringVar(&metricsAddr, "metrics-addr", "", "serve Prometheus /metrics and a /healthz that fails on a stale feed at this address, such as 127.0.0.1:9090")
	return c
}

// watch runs watch; now syncs once at the start; metricsAddr, if set, is
// where /metrics and /healthz are served.
func (a *app) watch(ctx context.Context, now bool, metricsAddr string) int {
	sc := a.cfg.Schedule
	if sc == nil {
		return a.fail(usagef(fmt.Errorf("%s has no schedule: section; give when to sync (every, daily, cron or on_new_file)", a.configPath)))
	}
	s, err := a.openSession(ctx, syncing)
	if err != nil {
		return a.fail(err)
	}
	defer s.close()
	if metricsAddr != "" {
		m, srv, err := metrics.Start(ctx, metricsAddr, &metrics.Options{StaleAfter: a.staleWindow()})
		if err != nil {
			return a.fail(usagef(fmt.Errorf("--metrics-addr: %w", err)))
		}
		defer srv.Close()
		s.p.Reporter = report.Multi(s.p.Reporter, m.Reporter("", a.cfg.Name))
		a.log.Info("usersync: serving metrics", "addr", "http://"+srv.Addr()+"/metrics", "health", "http://"+srv.Addr()+"/healthz")
	}

	r, err := a.runner(s)
	if err != nil {
		return a.fail(err)
	}
	if desc, err := describeSchedule(sc, time.Now()); err == nil {
		a.log.Info("usersync: watching", "config", a.configPath, "schedule", desc)
	}
	if s.watch != nil {
		go a.checkStale(ctx, s.watch)
	}
	if now {
		r.Trigger()
	}
	if err := r.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return a.fail(err)
	}
	a.log.Info("usersync: stopped")
	return exitOK
}

// runner makes the Runner of the session's Pipeline, on the config's
// schedule, with the directory's lock.
func (a *app) runner(s *session) (*usersync.Runner, error) {
	sc := a.cfg.Schedule
	sched, err := schedule(sc)
	if err != nil {
		return nil, usagef(fmt.Errorf("schedule: %w", err))
	}
	r := &usersync.Runner{
		Pipeline:        &s.p,
		Schedule:        sched,
		Jitter:          sc.Jitter.D(),
		Lock:            s.sink.Locker(),
		ShutdownTimeout: sc.ShutdownTimeout.D(),
		Logger:          a.log,
		OnResult:        func(res *usersync.Result, err error) { a.ranOnce(s, res, err) },
	}
	if len(sc.Pause) > 0 {
		r.Pause = pause(sc)
	}
	if sc.OnNewFile {
		r.Watch, r.WatchEvery = s.picker, sc.Poll.D()
	}
	return r, nil
}

// ranOnce reports a run of watch: one line, or one JSON document on a line
// of its own, and saves a plan a guard held.
func (a *app) ranOnce(s *session, res *usersync.Result, err error) {
	if res == nil { // the lock was taken; the Runner logged it
		return
	}
	planFile := ""
	if res.Status == usersync.Held && res.Plan != nil {
		var serr error
		if planFile, serr = a.saveHeld(res.Plan); serr != nil {
			a.log.Error("usersync: saving the held plan", "err", serr)
			planFile = ""
		}
	}
	sum := s.summary(res)
	s.last = nil
	switch {
	case a.json:
		o := &output{Command: "watch", Status: statusName(res.Status), ExitCode: resultCode(res, err),
			PlanFile: planFile, Summary: sum}
		if err != nil {
			o.Error = a.redact(err.Error())
		}
		b, merr := json.Marshal(o)
		if merr != nil {
			panic(merr) // a Summary always encodes
		}
		fmt.Fprintf(a.stdout, "%s\n", b)
	case !a.quiet || resultCode(res, err) != exitOK:
		fmt.Fprintf(a.stdout, "%s %s\n", res.Finished.Format(time.RFC3339), oneLine(a.redact(sum.Headline)))
	}
	if planFile != "" && !a.json {
		fmt.Fprintf(a.stdout, "  the held plan was saved to %s; review it with apply -n, approve it with apply\n", planFile)
	}
}

// checkStale asks the report.Watch every hour whether the feed went stale,
// so that a feed that stopped arriving is noticed even when no run comes.
func (a *app) checkStale(ctx context.Context, w *report.Watch) {
	t := time.NewTicker(staleCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := w.Check(ctx); err != nil {
				a.log.Warn("usersync: checking whether the feed is stale", "err", err)
			}
		}
	}
}

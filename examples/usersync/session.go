package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/report/history"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/source"
)

// A mode is what a session runs: a dry run, an approved plan, or syncs.
type mode uint8

const (
	dryRun        mode = iota + 1 // plan: nothing applied, nothing reported but to the terminal
	checkApproval                 // apply -n: check that an approved plan still applies
	approval                      // apply: an approved plan, no mapping or reconciling
	syncing                       // run and watch: syncs, reported by email and in the history
)

// dry reports whether the mode applies nothing.
func (m mode) dry() bool { return m == dryRun || m == checkApproval }

// reads reports whether the mode reads the files' content, which needs the
// Decryptor, rather than only their hashes.
func (m mode) reads() bool { return m == dryRun || m == syncing }

// A session holds the parts of the runs of one command, opened from the
// config: the directory, the source with its pickup rules, and the
// reporters.
type session struct {
	a      *app
	mode   mode
	db     *sql.DB
	sink   *sqlsink.Sink
	picker *source.Picker
	p      usersync.Pipeline
	watch  *report.Watch   // alerts by email; nil without email
	last   *report.Summary // the summary of the last run
	closers
}

// openSession opens the parts; the caller must close it.
func (a *app) openSession(ctx context.Context, m mode) (_ *session, err error) {
	s := &session{a: a, mode: m}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.db, s.sink, err = a.openSink(ctx); err != nil {
		return nil, err
	}
	s.add(s.db.Close)
	src, err := a.transport(true)
	if err != nil {
		return nil, err // "dirsource: ...": it names itself
	}
	s.add(src.Close)
	if s.picker, err = a.pickup(src, s.sink.Store()); err != nil {
		return nil, err // "source: pickup: ..."
	}
	s.p = usersync.Pipeline{
		Source: s.picker, Sink: s.sink, Mapper: a.cfg.Mapper(),
		Reconciler: reconcile.New(a.cfg.ReconcilePolicy()),
		BatchSize:  a.cfg.Sink.BatchSize, DryRun: m.dry(),
		MemoryBudget: int64(a.cfg.MemoryBudget), TempDir: string(a.cfg.TempDir),
	}
	if m.reads() {
		if s.p.Decryptor, err = a.decryptor(); err != nil {
			return nil, err
		}
		s.p.Unpacker = a.unpacker()
	}
	if s.p.Reporter, err = s.reporters(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *session) close() { _ = s.closers.close() }

// reporters returns the Reporter of the session's runs: the summary the
// command prints, and for real runs the history, the email and its alerts.
func (s *session) reporters(ctx context.Context) (usersync.Reporter, error) {
	a := s.a
	rs := []usersync.Reporter{report.Summarize(s.keep, a.summaryOptions())}
	if a.showProgress() {
		rs = append(rs, newProgress(a.stderr))
	}
	if a.verbose {
		rs = append(rs, report.Slog(a.log))
	}
	if s.mode.dry() {
		return report.Multi(rs...), nil
	}
	hist, err := a.historyStore(ctx, s.db)
	if err != nil {
		return nil, fmt.Errorf("reports.history: %w", err)
	}
	if hist != nil {
		rs = append(rs, history.Reporter(hist, a.summaryOptions()))
	}
	mailer, err := a.mailer()
	if err != nil {
		return nil, err
	}
	if mailer != nil {
		// The Watch alerts the recipients who asked for it when a guard
		// holds a plan, and when the feed stops bringing new files.
		s.watch = report.NewWatch(s.sink.Store(), mailer, &report.WatchOptions{
			Window: a.staleWindow(), Summary: a.summaryOptions(),
		})
		rs = append(rs, mailer, s.watch)
	}
	return report.Multi(rs...), nil
}

// keep keeps the summary of the run that just finished.
func (s *session) keep(_ context.Context, sum *report.Summary) error {
	s.last = sum
	return nil
}

// sync runs one sync, or applies plan when it is not nil, holding the
// directory's lock unless it is a dry run. A plan a guard held is saved to
// the plans folder; planFile says where.
func (s *session) sync(ctx context.Context, plan *usersync.Plan) (res *usersync.Result, planFile string, err error) {
	if !s.p.DryRun {
		lock, lerr := s.sink.Lock(ctx)
		if lerr != nil {
			return nil, "", lerr
		}
		defer func() {
			if uerr := lock.Unlock(context.WithoutCancel(ctx)); uerr != nil && err == nil {
				s.a.log.Warn("usersync: releasing the directory's lock", "err", uerr)
			}
		}()
	}
	s.last = nil
	if plan != nil {
		res, err = s.p.RunApproved(ctx, plan)
	} else {
		res, err = s.p.Run(ctx)
	}
	if res.Status == usersync.Held && res.Plan != nil && s.mode == syncing {
		var saveErr error
		if planFile, saveErr = s.a.saveHeld(res.Plan); saveErr != nil {
			s.a.log.Error("usersync: saving the held plan", "err", saveErr)
			planFile = ""
		}
	}
	return res, planFile, err
}

// summary returns the summary of the last run.
func (s *session) summary(res *usersync.Result) *report.Summary {
	if s.last != nil {
		return s.last
	}
	return report.NewSummary(res, s.a.summaryOptions())
}

// saveHeld saves a plan a guard held to the plans folder, for review and
// approval, and returns its file name.
func (a *app) saveHeld(plan *usersync.Plan) (string, error) {
	t := plan.Time
	if t.IsZero() {
		t = time.Now()
	}
	name := fmt.Sprintf("held-%s-%s.json", t.UTC().Format("20060102T150405Z"), plan.Fingerprint.String()[:8])
	p := filepath.Join(string(a.cfg.PlansDir), name)
	return p, writePlan(p, plan)
}

// writePlan writes plan as JSON to the file p, atomically, readable by its
// owner only: it names users and their attributes.
func writePlan(p string, plan *usersync.Plan) (err error) {
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".plan-*.json")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = plan.WriteJSON(f); err != nil {
		return err
	}
	if _, err = f.Write([]byte{'\n'}); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}

// readPlan reads a plan written by writePlan, holding its changes within
// the config's memory budget, as the run that made it did.
func (a *app) readPlan(p string) (*usersync.Plan, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	budget := &usersync.Pipeline{MemoryBudget: int64(a.cfg.MemoryBudget), TempDir: string(a.cfg.TempDir)}
	plan, err := usersync.ReadPlan(f, budget.ChangeWriter())
	if err != nil {
		return nil, fmt.Errorf("%s is not a plan usersync wrote: %w", p, err)
	}
	return plan, nil
}

// finish prints the outcome of a run, as text or JSON, and returns the exit
// code.
func (a *app) finish(s *session, res *usersync.Result, planFile string, err error) int {
	code := resultCode(res, err)
	sum := s.summary(res)
	switch {
	case a.json:
		o := &output{Status: statusName(res.Status), ExitCode: code, PlanFile: planFile, Summary: sum}
		if err != nil {
			o.Error = err.Error()
		}
		a.emit(o)
	case a.quiet:
		if code != exitOK {
			fmt.Fprintln(a.stderr, a.redact(sum.Headline))
		}
	default:
		var b strings.Builder
		_ = report.WriteText(&b, sum)
		fmt.Fprint(a.stdout, b.String())
	}
	if planFile != "" && !a.json && s.mode == syncing {
		fmt.Fprintf(a.stderr, "\nThe held plan was saved to %s.\nReview it:  usersync -c %s apply -n %s\nApprove it: usersync -c %s apply %s\n",
			planFile, a.configPath, planFile, a.configPath, planFile)
	}
	return code
}

package report

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/usersync/usersync"
)

// Slog returns a Reporter that logs each event to l, or to [slog.Default]
// if l is nil. Records carry the event's time, and the key "event" with the
// event kind ("file-read", "row-rejected", ...). The other keys, which do
// not change between releases:
//
//   - file-read: file, bytes, records, rejected, skipped, encoding,
//     delimiter, sha256 (when read cleanly), err (when it failed);
//   - row-rejected: file, line, column, err (the reason);
//   - plan-ready: changes, created, restored, updated, deactivated,
//     deleted, groups_created, unchanged, manual, population, err (why it is
//     held);
//   - change-applied, change-failed: change (its kind), key (the user's key,
//     or the group's ID), err;
//   - run-finished: status, duration, files, changes (planned), created,
//     restored, updated, deactivated, deleted, groups_created (applied),
//     unchanged, failed, rejected, skipped, err.
//
// Levels: Debug for change-applied (a run may apply a million), Warn for a
// rejected row and a held plan or run, Error for a failed file, change or
// run (partly failed included), Info for the rest.
//
// Attribute values are never logged, not even the value that got a row
// rejected: logs travel further than reports and are kept longer. Errors are
// logged as the Mapper, Reconciler and Sink word them, so those should keep
// values out of their messages.
func Slog(l *slog.Logger) usersync.Reporter {
	return &slogReporter{l: l}
}

type slogReporter struct {
	l *slog.Logger // nil: slog.Default() at the time of each event
}

// Report logs e, unless the logger's handler is not enabled at e's level.
func (s *slogReporter) Report(ctx context.Context, e usersync.Event) error {
	l := s.l
	if l == nil {
		l = slog.Default()
	}
	h := l.Handler()
	level, msg := describe(e)
	// Check first, so that a million change-applied events cost nothing
	// when Debug is off.
	if !h.Enabled(ctx, level) {
		return nil
	}
	t := e.Time
	if t.IsZero() {
		t = time.Now()
	}
	rec := slog.NewRecord(t, level, msg, 0)
	rec.AddAttrs(slog.String("event", e.Kind.String()))
	rec.AddAttrs(eventAttrs(e)...)
	return h.Handle(ctx, rec)
}

// describe returns the level and message of e.
func describe(e usersync.Event) (slog.Level, string) {
	switch e.Kind {
	case usersync.RunStarted:
		return slog.LevelInfo, "usersync: run started"
	case usersync.FileProgress:
		return slog.LevelDebug, "usersync: reading file"
	case usersync.FileRead:
		if e.File != nil && e.File.Err != nil {
			return slog.LevelError, "usersync: file failed"
		}
		return slog.LevelInfo, "usersync: file read"
	case usersync.RowRejected:
		return slog.LevelWarn, "usersync: row rejected"
	case usersync.PlanReady:
		if e.Plan != nil && e.Plan.Hold != nil {
			return slog.LevelWarn, "usersync: plan held"
		}
		return slog.LevelInfo, "usersync: plan ready"
	case usersync.ChangeApplied:
		return slog.LevelDebug, "usersync: change applied"
	case usersync.ChangeFailed:
		return slog.LevelError, "usersync: change failed"
	case usersync.RunFinished:
		return runLevel(e.Result), "usersync: run finished"
	}
	return slog.LevelInfo, "usersync: " + e.Kind.String()
}

func runLevel(r *usersync.Result) slog.Level {
	if r == nil {
		return slog.LevelInfo
	}
	switch r.Status {
	case usersync.Held:
		return slog.LevelWarn
	case usersync.Failed, usersync.PartlyFailed:
		return slog.LevelError
	}
	return slog.LevelInfo
}

// eventAttrs returns the attributes of e other than "event".
func eventAttrs(e usersync.Event) []slog.Attr {
	switch {
	case (e.Kind == usersync.FileRead || e.Kind == usersync.FileProgress) && e.File != nil:
		return fileAttrs(e.File)
	case e.Kind == usersync.RowRejected && e.Row != nil:
		return rowAttrs(e.Row)
	case e.Kind == usersync.PlanReady && e.Plan != nil:
		return planAttrs(e.Plan)
	case (e.Kind == usersync.ChangeApplied || e.Kind == usersync.ChangeFailed) && e.Change != nil:
		return changeAttrs(e.Change, e.Err)
	case e.Kind == usersync.RunFinished && e.Result != nil:
		return runAttrs(e.Result)
	}
	return errAttr(nil, e.Err)
}

func fileAttrs(f *usersync.FileResult) []slog.Attr {
	a := []slog.Attr{
		slog.String("file", f.Name),
		slog.Int64("bytes", f.Bytes),
		slog.Int("records", f.Records),
		slog.Int("rejected", f.Rejected),
		slog.Int("skipped", f.Format.Skipped),
	}
	if f.Format.Encoding != "" {
		a = append(a, slog.String("encoding", f.Format.Encoding))
	}
	if f.Format.Delimiter != 0 {
		a = append(a, slog.String("delimiter", string(f.Format.Delimiter)))
	}
	if f.Err == nil {
		a = append(a, slog.String("sha256", f.Hash()))
	}
	return errAttr(a, f.Err)
}

// rowAttrs leaves out the row's Value: it is personal data more often than
// not (a malformed email address, a phone number).
func rowAttrs(re *usersync.RowError) []slog.Attr {
	a := []slog.Attr{slog.String("file", re.File), slog.Int("line", re.Line)}
	if re.Column != "" {
		a = append(a, slog.String("column", re.Column))
	}
	return errAttr(a, re.Err)
}

func planAttrs(p *usersync.Plan) []slog.Attr {
	a := append([]slog.Attr{slog.Int("changes", len(p.Changes))}, countAttrs(p.Counts())...)
	a = append(a,
		slog.Int("unchanged", p.Unchanged),
		slog.Int("manual", p.Manual),
		slog.Int("population", p.Population))
	return errAttr(a, p.Hold)
}

// changeAttrs names a change by kind and key only: its attributes are
// personal data. The error of a ChangeError already names the change, so
// only its cause is logged.
func changeAttrs(c *usersync.Change, err error) []slog.Attr {
	key := c.User.Key
	if c.Kind == usersync.CreateGroup {
		key = c.Group.ID
	}
	a := []slog.Attr{slog.String("change", c.Kind.String()), slog.String("key", key)}
	if ce := (*usersync.ChangeError)(nil); errors.As(err, &ce) && ce.Err != nil {
		err = ce.Err
	}
	return errAttr(a, err)
}

// runAttrs gives the applied counts: the planned ones were logged with the
// plan, and a held or dry run applied nothing.
func runAttrs(r *usersync.Result) []slog.Attr {
	a := []slog.Attr{slog.String("status", r.Status.String())}
	if !r.Started.IsZero() && !r.Finished.IsZero() {
		a = append(a, slog.Duration("duration", r.Finished.Sub(r.Started)))
	}
	a = append(a, slog.Int("files", len(r.Files)))
	if r.Plan != nil {
		a = append(a, slog.Int("changes", len(r.Plan.Changes)))
	}
	a = append(a, countAttrs(r.Applied)...)
	unchanged := r.Applied.Unchanged
	if unchanged == 0 && r.Plan != nil {
		unchanged = r.Plan.Unchanged
	}
	a = append(a,
		slog.Int("unchanged", unchanged),
		slog.Int("failed", len(r.Failed)),
		slog.Int("rejected", rejectedTotal(r)),
		slog.Int("skipped", r.Skipped()))
	return errAttr(a, r.Err)
}

// countAttrs returns the counts of changes; Unchanged is left to the caller,
// which knows where it comes from.
func countAttrs(c usersync.Counts) []slog.Attr {
	return []slog.Attr{
		slog.Int("created", c.Created),
		slog.Int("restored", c.Restored),
		slog.Int("updated", c.Updated),
		slog.Int("deactivated", c.Deactivated),
		slog.Int("deleted", c.Deleted),
		slog.Int("groups_created", c.GroupsCreated),
	}
}

func errAttr(a []slog.Attr, err error) []slog.Attr {
	if err == nil {
		return a
	}
	return append(a, slog.Any("err", err))
}

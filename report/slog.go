package report

import (
	"context"
	"errors"
	"fmt"
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
//   - file-progress: file, bytes, records, rejected, skipped so far;
//   - row-rejected: file, line, column, err (the reason);
//   - plan-ready: changes, created, adopted, restored, updated,
//     marked_missing, deactivated, deleted, groups_created, groups_renamed,
//     unchanged, manual, population, err (why it is held);
//   - change-applied, change-failed: change (its kind), key (the user's key,
//     or the group's ID), err;
//   - run-finished: status, duration, files, changes (planned), the counts
//     of plan-ready (applied), failed, rejected, skipped, err.
//
// Levels: Debug for change-applied (a run may apply a million), Warn for a
// rejected row and a held plan or run, Error for a failed file, change or
// run (partly failed included), Info for the rest.
//
// The Reporter is an [Alerter]: an alert is logged at Warn as
// "usersync: alert" with the keys event ("alert"), alert (its kind), name,
// subject, and last_file and last_file_at for a stale feed.
//
// Attribute values are never logged, not even the value that got a row
// rejected: logs travel further than reports and are kept longer. Errors are
// logged as the Mapper, Reconciler and Sink word them, so those should keep
// values out of their messages; passwords in URLs are redacted, and
// [RedactSecrets] redacts the host's own secrets from every record.
func Slog(l *slog.Logger) usersync.Reporter {
	return &slogReporter{l: l}
}

type slogReporter struct {
	l *slog.Logger // nil: slog.Default() at the time of each event
}

var _ Alerter = (*slogReporter)(nil)

// Report logs e, unless the logger's handler is not enabled at e's level.
func (s *slogReporter) Report(ctx context.Context, e usersync.Event) error {
	level, msg := describe(e)
	return s.log(ctx, e.Time, level, msg, func() []slog.Attr {
		return append([]slog.Attr{slog.String("event", e.Kind.String())}, eventAttrs(e)...)
	})
}

// Alert logs a at Warn.
func (s *slogReporter) Alert(ctx context.Context, a *Alert) error {
	return s.log(ctx, a.Time, slog.LevelWarn, "usersync: alert", func() []slog.Attr {
		attrs := []slog.Attr{slog.String("event", "alert"), slog.String("alert", a.Kind.String())}
		if a.Name != "" {
			attrs = append(attrs, slog.String("name", a.Name))
		}
		attrs = append(attrs, slog.String("subject", a.Subject))
		if a.Kind == FeedStale {
			attrs = append(attrs, slog.String("last_file", a.LastFile), slog.Time("last_file_at", a.LastFileAt))
		}
		return attrs
	})
}

// log makes and handles a record, unless the handler is not enabled at
// level; attrs are only made when it is.
func (s *slogReporter) log(ctx context.Context, t time.Time, level slog.Level, msg string, attrs func() []slog.Attr) error {
	l := s.l
	if l == nil {
		l = slog.Default()
	}
	h := l.Handler()
	// Check first, so that a million change-applied events cost nothing
	// when Debug is off.
	if !h.Enabled(ctx, level) {
		return nil
	}
	if t.IsZero() {
		t = time.Now()
	}
	rec := slog.NewRecord(t, level, msg, 0)
	rec.AddAttrs(attrs()...)
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
		return fileAttrs(e.File, e.Kind == usersync.FileRead)
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

// fileAttrs describes a file; its hash only once it was read to the end.
func fileAttrs(f *usersync.FileResult, read bool) []slog.Attr {
	a := []slog.Attr{
		slog.String("file", f.Name),
		slog.Int64("bytes", f.Bytes),
		slog.Int("records", f.Records),
		slog.Int("rejected", f.Rejected),
		slog.Int("skipped", f.Format.Skipped),
	}
	if f.Format.OutOfScope > 0 {
		a = append(a, slog.Int("out_of_scope", f.Format.OutOfScope))
	}
	if f.Format.Encoding != "" {
		a = append(a, slog.String("encoding", f.Format.Encoding))
	}
	if f.Format.Delimiter != 0 {
		a = append(a, slog.String("delimiter", string(f.Format.Delimiter)))
	}
	if read && f.Err == nil {
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
	a := append([]slog.Attr{slog.Int("changes", p.Changes.Len())}, countAttrs(p.Counts())...)
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
	if c.Kind.IsGroup() {
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
		a = append(a, slog.Int("changes", r.Plan.Changes.Len()))
	}
	a = append(a, countAttrs(r.Applied)...)
	unchanged := r.Applied.Unchanged
	if unchanged == 0 && r.Plan != nil {
		unchanged = r.Plan.Unchanged
	}
	a = append(a,
		slog.Int("unchanged", unchanged),
		slog.Int("failed", len(r.Failed)),
		slog.Int("rejected", max(r.RejectedTotal, len(r.Rejected))),
		slog.Int("skipped", r.Skipped()))
	return errAttr(a, r.Err)
}

// countAttrs returns the counts of changes; Unchanged is left to the caller,
// which knows where it comes from.
func countAttrs(c usersync.Counts) []slog.Attr {
	return []slog.Attr{
		slog.Int("created", c.Created),
		slog.Int("adopted", c.Adopted),
		slog.Int("restored", c.Restored),
		slog.Int("updated", c.Updated),
		slog.Int("marked_missing", c.MarkedMissing),
		slog.Int("deactivated", c.Deactivated),
		slog.Int("deleted", c.Deleted),
		slog.Int("groups_created", c.GroupsCreated),
		slog.Int("groups_renamed", c.GroupsRenamed),
	}
}

// errAttr adds err as text, with the passwords of URLs redacted.
func errAttr(a []slog.Attr, err error) []slog.Attr {
	if err == nil {
		return a
	}
	return append(a, slog.String("err", redactor{}.redact(fmt.Sprint(err))))
}

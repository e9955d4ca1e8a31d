package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/usersync/usersync"
)

// maxListed caps the failed changes, rejected rows and reporter errors the
// summary lists one by one: a broken export can reject every row, and a
// summary of ten thousand lines helps nobody.
const maxListed = 20

// WriteText writes a plain-text summary of a run to w: the [Headline]; when
// the run started and how long it took; what its status means, its error,
// and what to do about it; the files read; the counts of changes; the
// Mapper's warnings; and lists (of 20 at most) of the deactivations and
// deletions a held or dry run would make, of failed changes, of rejected
// rows and of errors from other reporters.
//
// The counts of a held, failed or dry run are those of its plan, labelled
// as planned ("To create", "To delete", ...), never as applied.
//
// The summary names users by key only; the only value it shows is the one
// that got a row rejected. It reaches w in a single write, so a failed
// write leaves no half summary behind.
func WriteText(w io.Writer, r *usersync.Result) error {
	if r == nil {
		return errors.New("report: WriteText: nil Result")
	}
	_, err := io.WriteString(w, text(r))
	return err
}

// Text returns a Reporter that writes the summary of each run to w, as
// [WriteText] does, when the run finishes; it ignores the other events.
// Reports from runs that share the Reporter do not interleave.
func Text(w io.Writer) usersync.Reporter {
	return &textReporter{w: w}
}

type textReporter struct {
	mu sync.Mutex // one summary at a time on w
	w  io.Writer
}

// Report writes the summary on RunFinished.
func (t *textReporter) Report(_ context.Context, e usersync.Event) error {
	if e.Kind != usersync.RunFinished {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return WriteText(t.w, e.Result)
}

// Headline returns the first line of the summary: the status and what
// changed, for an email subject or a chat message. For example:
//
//	usersync: succeeded — 3 created, 2 updated, 1 deactivated, 40 unchanged, 1 rejected
//	usersync: held — nothing applied; plan: 3 to create, 250 to deactivate, 40 unchanged
//
// It holds no text from the files, so it is safe in a mail header.
func Headline(r *usersync.Result) string {
	return "usersync: " + r.Status.String() + " — " + outline(r)
}

func outline(r *usersync.Result) string {
	switch r.Status {
	case usersync.Held:
		return "nothing applied; plan: " + tally(r)
	case usersync.Planned:
		return "dry run, nothing applied; plan: " + tally(r)
	case usersync.Failed:
		parts := []string{"nothing applied"}
		if n := len(r.Failed); n > 0 {
			parts = append(parts, count(n, "change")+" failed")
		}
		if n := rejectedTotal(r); n > 0 {
			parts = append(parts, strconv.Itoa(n)+" rejected")
		}
		return strings.Join(parts, ", ")
	case usersync.NothingToDo:
		return "no file to read"
	}
	return tally(r)
}

// tally lists the non-zero counts of the run, as "3 created, 2 updated,
// 40 unchanged, 1 rejected", or "3 to create, ..." for a plan.
func tally(r *usersync.Result) string {
	var parts []string
	for _, it := range tallyItems(r) {
		if it.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", it.n, it.word()))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no changes")
	}
	if n := len(r.Failed); n > 0 && !planned(r) {
		parts = append(parts, strconv.Itoa(n)+" failed")
	}
	if n := counts(r).Unchanged; n > 0 {
		parts = append(parts, strconv.Itoa(n)+" unchanged")
	}
	if n := rejectedTotal(r); n > 0 {
		parts = append(parts, strconv.Itoa(n)+" rejected")
	}
	return strings.Join(parts, ", ")
}

// A tallyItem is one count of changes, with its words.
type tallyItem struct {
	n         int
	one, many string
}

func (it tallyItem) word() string {
	if it.n == 1 {
		return it.one
	}
	return it.many
}

// label is the item's name in the counts table, such as "To create".
func (it tallyItem) label() string { return strings.ToUpper(it.many[:1]) + it.many[1:] }

// tallyItems returns the run's counts of changes, users first, worded as
// done or as planned.
func tallyItems(r *usersync.Result) []tallyItem {
	c := counts(r)
	if planned(r) {
		return []tallyItem{
			{c.Created, "to create", "to create"},
			{c.Restored, "to restore", "to restore"},
			{c.Updated, "to update", "to update"},
			{c.Deactivated, "to deactivate", "to deactivate"},
			{c.Deleted, "to delete", "to delete"},
			{c.GroupsCreated, "group to create", "groups to create"},
		}
	}
	return []tallyItem{
		{c.Created, "created", "created"},
		{c.Restored, "restored", "restored"},
		{c.Updated, "updated", "updated"},
		{c.Deactivated, "deactivated", "deactivated"},
		{c.Deleted, "deleted", "deleted"},
		{c.GroupsCreated, "group created", "groups created"},
	}
}

// planned reports whether the run applied nothing, so that its counts are
// those of its plan.
func planned(r *usersync.Result) bool {
	switch r.Status {
	case usersync.Held, usersync.Planned, usersync.Failed:
		return true
	}
	return false
}

// counts returns what the run applied, or what it planned when it applied
// nothing. Unchanged comes from the plan: it is not a change, so
// Result.Applied does not count it.
func counts(r *usersync.Result) usersync.Counts {
	if planned(r) {
		if r.Plan == nil {
			return usersync.Counts{}
		}
		return r.Plan.Counts()
	}
	c := r.Applied
	if c.Unchanged == 0 && r.Plan != nil {
		c.Unchanged = r.Plan.Unchanged
	}
	return c
}

// rejectedTotal is the number of rows rejected, listed or not.
func rejectedTotal(r *usersync.Result) int { return max(r.RejectedTotal, len(r.Rejected)) }

// text renders the whole summary: blocks of lines with a blank line between
// them.
func text(r *usersync.Result) string {
	blocks := [][]string{
		{Headline(r)},
		overview(r),
		files(r),
		countsTable(r),
		warnings(r),
		plannedRemovals(r),
		failedChanges(r),
		rejectedRows(r),
		reportErrors(r),
	}
	var b strings.Builder
	for _, block := range blocks {
		if len(block) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		for _, line := range block {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// overview says when the run happened, what its status means, and what to
// do about it.
func overview(r *usersync.Result) []string {
	t := table{}
	t.add("Started", started(r.Started))
	t.add("Duration", duration(r.Started, r.Finished))
	t.add("Status", statusLine(r))
	if err := runErr(r); err != nil {
		label := "Error"
		if r.Status == usersync.Held {
			label = "Reason"
		}
		t.add(label, errText(err))
	}
	if a := action(r); a != "" {
		t.add("Action", a)
	}
	return t.lines()
}

func started(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02 15:04:05 MST")
}

// duration rounds to what a person wants to read: milliseconds for a quick
// run, tenths of seconds for a minute, seconds beyond.
func duration(start, end time.Time) string {
	if start.IsZero() || end.IsZero() || end.Before(start) {
		return "-"
	}
	d := end.Sub(start)
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// runErr is the error that explains the status; a held plan's reason may be
// only in the plan when the Result was not made by a Pipeline.
func runErr(r *usersync.Result) error {
	if r.Err == nil && r.Status == usersync.Held && r.Plan != nil {
		return r.Plan.Hold
	}
	return r.Err
}

// progress says how far applying a plan got.
type progress struct {
	total, applied, failed int
}

func (p progress) notAttempted() int { return max(0, p.total-p.applied-p.failed) }

func progressOf(r *usersync.Result) progress {
	p := progress{applied: r.Applied.Total(), failed: len(r.Failed)}
	p.total = p.applied + p.failed
	if r.Plan != nil {
		p.total = max(p.total, len(r.Plan.Changes))
	}
	return p
}

// statusLine says in words what the status means for the directory.
func statusLine(r *usersync.Result) string {
	p := progressOf(r)
	switch r.Status {
	case usersync.Succeeded:
		if p.applied == 0 {
			return "succeeded: nothing needed to change"
		}
		return "succeeded: " + count(p.applied, "change") + " applied"
	case usersync.PartlyFailed:
		return fmt.Sprintf("partly failed: applied %d of %s; %d failed", p.applied, count(p.total, "change"), p.failed) +
			notAttempted(p)
	case usersync.Held:
		return "held: a safety guard stopped the plan; nothing was applied"
	case usersync.Failed:
		switch {
		case r.Plan == nil:
			return "failed: nothing was applied"
		case p.failed > 0:
			return fmt.Sprintf("failed: nothing was applied; %d of %s failed", p.failed, count(p.total, "change")) +
				notAttempted(p)
		}
		return "failed: nothing was applied; stopped before the first of " + count(p.total, "change")
	case usersync.NothingToDo:
		return "nothing to do: no file was ready to read"
	case usersync.Planned:
		return "planned (dry run): nothing was applied"
	}
	return r.Status.String()
}

func notAttempted(p progress) string {
	if n := p.notAttempted(); n > 0 {
		return fmt.Sprintf(", %d not attempted", n)
	}
	return ""
}

// action tells the administrator what to do, when the run needs someone.
func action(r *usersync.Result) string {
	p := progressOf(r)
	switch r.Status {
	case usersync.Held:
		return "review the planned changes below, then approve the plan to apply them"
	case usersync.PartlyFailed, usersync.Failed:
		switch {
		case p.failed > 0:
			return "fix what made the changes below fail; the next run tries them again"
		case r.Plan != nil && p.notAttempted() > 0:
			return "the next run applies what is left"
		case errors.Is(r.Err, usersync.ErrIntegrity):
			return "deliver the file again: it was cut short or failed an integrity check"
		case errors.Is(r.Err, usersync.ErrNoRecords) && rejectedTotal(r) > 0:
			return "fix the rejected rows below: the file held no usable row"
		case errors.Is(r.Err, usersync.ErrNoRecords):
			return "check the file: it held no usable row, so nobody was changed"
		}
	}
	return ""
}

// files lists the files read, with how each was read or why it failed.
func files(r *usersync.Result) []string {
	if len(r.Files) == 0 {
		return nil
	}
	t := table{indent: "  ", right: map[int]bool{1: true, 2: true, 3: true, 4: true}}
	t.add("Name", "Bytes", "Records", "Rejected", "Skipped", "Encoding", "Delimiter", "Result")
	for i := range r.Files {
		f := &r.Files[i]
		t.add(clean(f.Name), fileBytes(f), strconv.Itoa(f.Records), strconv.Itoa(f.Rejected),
			strconv.Itoa(f.Format.Skipped), orDash(clean(f.Format.Encoding)), delimiterName(f.Format.Delimiter),
			fileResult(f, r.Err))
	}
	return append([]string{fmt.Sprintf("Files (%d)", len(r.Files))}, t.lines()...)
}

// fileBytes is "-" for a file that failed before it was read to the end,
// since it was then never counted.
func fileBytes(f *usersync.FileResult) string {
	if f.Bytes == 0 && f.Err != nil {
		return "-"
	}
	return strconv.FormatInt(f.Bytes, 10)
}

// fileResult says "ok", or why the file failed; the error that failed the
// run is not repeated, since it is shown above.
func fileResult(f *usersync.FileResult, runErr error) string {
	switch {
	case f.Err == nil:
		return "ok"
	case runErr != nil && errText(f.Err) == errText(runErr):
		return "failed: see Error above"
	}
	return "failed: " + errText(f.Err)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// countsTable lists every count, zeros included, so that reports of two
// nights compare line by line.
func countsTable(r *usersync.Result) []string {
	title, ok := countsTitle(r)
	if !ok {
		return nil
	}
	c := counts(r)
	t := table{indent: "  ", right: map[int]bool{1: true}}
	for _, it := range tallyItems(r) {
		t.add(it.label(), strconv.Itoa(it.n))
	}
	t.add("Unchanged", strconv.Itoa(c.Unchanged))
	if r.Plan != nil && r.Plan.Manual > 0 {
		t.add("Left alone (created by hand)", strconv.Itoa(r.Plan.Manual))
	}
	if r.Status != usersync.Held && r.Status != usersync.Planned {
		t.add("Failed", strconv.Itoa(len(r.Failed)))
	}
	t.add("Rejected rows", strconv.Itoa(rejectedTotal(r)))
	t.add("Skipped rows", strconv.Itoa(r.Skipped()))
	return append([]string{title}, t.lines()...)
}

// countsTitle says whose counts the table holds; there is no table when
// there is nothing to count.
func countsTitle(r *usersync.Result) (string, bool) {
	switch r.Status {
	case usersync.NothingToDo:
		return "", false
	case usersync.Held:
		return "Planned changes (held: not applied)", true
	case usersync.Planned:
		return "Planned changes (dry run: not applied)", true
	case usersync.Failed:
		return "Planned changes (not applied)", r.Plan != nil
	}
	return "Applied changes", true
}

// warnings lists what the Mapper noticed in each file, such as unknown
// columns.
func warnings(r *usersync.Result) []string {
	var lines []string
	for i := range r.Files {
		f := &r.Files[i]
		for _, w := range f.Format.Warnings {
			lines = append(lines, "  "+clean(f.Name)+": "+clean(w))
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return append([]string{"Warnings"}, lines...)
}

// plannedRemovals lists who a held or dry run would deactivate or delete,
// by user key: what an administrator checks before approving a plan.
func plannedRemovals(r *usersync.Result) []string {
	if r.Plan == nil || (r.Status != usersync.Held && r.Status != usersync.Planned) {
		return nil
	}
	var lines []string
	total := 0
	for _, c := range r.Plan.Changes {
		if c.Kind != usersync.DeactivateUser && c.Kind != usersync.DeleteUser {
			continue
		}
		if total++; len(lines) < maxListed {
			lines = append(lines, clean(c.String()))
		}
	}
	return list("Planned removals", lines, total)
}

// failedChanges lists the changes the Sink refused, by kind and user key.
func failedChanges(r *usersync.Result) []string {
	return listErrors("Failed changes", r.Failed, len(r.Failed))
}

// rejectedRows lists rejected rows as file:line: column: "value": reason.
func rejectedRows(r *usersync.Result) []string {
	return listErrors("Rejected rows", r.Rejected, rejectedTotal(r))
}

func reportErrors(r *usersync.Result) []string {
	return listErrors("Reporter errors", r.ReportErrors, len(r.ReportErrors))
}

// listErrors lists the first maxListed of errs under a title.
func listErrors[E error](title string, errs []E, total int) []string {
	lines := make([]string, 0, min(len(errs), maxListed))
	for _, err := range errs[:min(len(errs), maxListed)] {
		lines = append(lines, errText(err))
	}
	return list(title, lines, total)
}

// list puts lines, the first of total items, under a title, and says how
// many are left out.
func list(title string, lines []string, total int) []string {
	if total == 0 {
		return nil
	}
	out := []string{fmt.Sprintf("%s (%d)", title, total)}
	for _, l := range lines {
		out = append(out, "  "+l)
	}
	if more := total - len(lines); more > 0 {
		out = append(out, fmt.Sprintf("  and %d more", more))
	}
	return out
}

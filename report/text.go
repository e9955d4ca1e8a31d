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

// WriteText writes a Summary as plain text, for a terminal or the text part
// of an email: the headline; when the run started, how long each phase took,
// what its status means, its error and what to do about it; the rejected
// rows (what to fix comes first); the Mapper's warnings; the changes of
// each kind, naming people by name and key, with old → new values; the
// failed changes; the errors of other reporters; the counts that are not
// zero; and the files read. Lists stop at the Summary's cap with "and N
// more". Hashes and key fingerprints are left to the JSON attachment.
//
// The counts of a held, failed or dry run are those of its plan, labelled
// as planned ("To create", "To delete", ...), never as applied. Text from
// outside is shown with control characters escaped, so that a hostile file
// name cannot forge lines or drive a terminal. The text reaches w in a
// single Write, so a failed write leaves no half summary behind.
func WriteText(w io.Writer, s *Summary) error {
	if s == nil {
		return errors.New("report: WriteText: nil Summary")
	}
	_, err := io.WriteString(w, text(s))
	return err
}

// Text returns a Reporter that writes the summary of each run to w, as
// [WriteText] does, when the run finishes. It is an [Alerter] too, and
// writes alerts as [WriteAlertText] does. Reports from runs that share the
// Reporter do not interleave. For a name, secrets to redact or other caps,
// use [Summarize] with WriteText.
func Text(w io.Writer) usersync.Reporter {
	t := &textReporter{w: w}
	t.sum = Summarize(t.write, nil)
	return t
}

type textReporter struct {
	mu  sync.Mutex // one summary at a time on w
	w   io.Writer
	sum usersync.Reporter
}

var _ Alerter = (*textReporter)(nil)

// Report writes the summary on RunFinished.
func (t *textReporter) Report(ctx context.Context, e usersync.Event) error {
	return t.sum.Report(ctx, e)
}

func (t *textReporter) write(_ context.Context, s *Summary) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return WriteText(t.w, s)
}

// Alert writes the alert as [WriteAlertText] does.
func (t *textReporter) Alert(_ context.Context, a *Alert) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return WriteAlertText(t.w, a)
}

// text renders the whole summary: blocks of lines with a blank line between
// them.
func text(s *Summary) string {
	blocks := [][]string{
		{clean(s.Headline)},
		overview(s),
	}
	for _, sec := range sections(s) {
		blocks = append(blocks, list(sec.title, sec.lines, sec.total))
	}
	blocks = append(blocks, countsTable(s), files(s))
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
func overview(s *Summary) []string {
	t := table{}
	for _, p := range overviewPairs(s) {
		t.add(p.Label, p.Value)
	}
	return t.lines()
}

// A pair is a line of the overview: a label and its value.
type pair struct{ Label, Value string }

// overviewPairs are the overview's lines, for text and HTML.
func overviewPairs(s *Summary) []pair {
	pairs := []pair{
		{"Started", started(s.Started)},
		{"Duration", timings(s.Timings)},
		{"Status", clean(s.Outcome)},
	}
	if s.Error != "" {
		pairs = append(pairs, pair{errorLabel(s), oneLine(s.Error)})
	}
	if s.Action != "" {
		pairs = append(pairs, pair{"Action", clean(s.Action)})
	}
	return pairs
}

// errorLabel calls a held run's error what it is: the guard's reason.
func errorLabel(s *Summary) string {
	if s.Status == usersync.Held {
		return "Reason"
	}
	return "Error"
}

func started(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02 15:04:05 MST")
}

// timings gives the run's duration and, when known, its phases'.
func timings(t Timings) string {
	if t.Total == 0 {
		return "-"
	}
	var phases []string
	for _, p := range []struct {
		name string
		d    time.Duration
	}{{"read", t.Read}, {"plan", t.Plan}, {"apply", t.Apply}} {
		if p.d > 0 {
			phases = append(phases, p.name+" "+duration(p.d))
		}
	}
	if len(phases) == 0 {
		return duration(t.Total)
	}
	return duration(t.Total) + " (" + strings.Join(phases, ", ") + ")"
}

// duration rounds to what a person wants to read: microseconds below a
// millisecond, milliseconds for a quick run, tenths of seconds for a
// minute, seconds beyond.
func duration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// files lists the files read, a line each: how each was read or why it
// failed. Hashes and key fingerprints stay out of the body (they are in
// the JSON attachment): an administrator cannot act on them.
func files(s *Summary) []string {
	if len(s.Files) == 0 {
		return nil
	}
	out := []string{fmt.Sprintf("Files (%d)", len(s.Files))}
	for i := range s.Files {
		f := &s.Files[i]
		out = append(out, "  "+clean(f.Name)+": "+fileLine(f, s.Error))
		for _, d := range fileDetails(f) {
			out = append(out, "    "+d)
		}
		for j := range f.Members {
			m := &f.Members[j]
			out = append(out, "    "+clean(m.Name)+": "+fileLine(m, s.Error))
		}
	}
	return out
}

// fileLine says how a file was read, or why it failed, in a line: "46
// records, 1 rejected, 2 skipped (UTF-8 with BOM, semicolon)".
func fileLine(f *File, runErr string) string {
	res := fileResult(f, runErr)
	if f.Error != "" {
		return res
	}
	parts := []string{count(f.Records, "record")}
	if f.Rejected > 0 {
		parts = append(parts, strconv.Itoa(f.Rejected)+" rejected")
	}
	if f.Skipped > 0 {
		parts = append(parts, strconv.Itoa(f.Skipped)+" skipped")
	}
	if f.OutOfScope > 0 {
		parts = append(parts, strconv.Itoa(f.OutOfScope)+" out of scope")
	}
	line := strings.Join(parts, ", ")
	var format []string
	if f.Encoding != "" {
		format = append(format, clean(f.Encoding))
	}
	if f.Delimiter != "" {
		format = append(format, delimiterName(f.Delimiter))
	}
	if len(format) > 0 {
		line += " (" + strings.Join(format, ", ") + ")"
	}
	if res != "ok" {
		line += "; " + res
	}
	return line
}

// fileDetails are the facts about a file that do not fit its line: a
// failure to archive it.
func fileDetails(f *File) []string {
	var d []string
	if f.FinishError != "" {
		d = append(d, "not archived: "+oneLine(f.FinishError))
	}
	if len(f.SkippedFiles) > 0 {
		d = append(d, "left out of the archive: "+nameList(f.SkippedFiles, maxSkippedNames))
	}
	return d
}

// maxSkippedNames is how many files an archive left out a report names.
const maxSkippedNames = 5

// nameList joins up to max names, cleaned, and says how many more there are.
func nameList(names []string, max int) string {
	shown := make([]string, 0, min(len(names), max))
	for _, n := range names[:min(len(names), max)] {
		shown = append(shown, clean(n))
	}
	list := strings.Join(shown, ", ")
	if len(names) > max {
		list += fmt.Sprintf(" and %d more", len(names)-max)
	}
	return list
}

// fileResult says "ok", or why the file failed; the error that failed the
// run is not repeated, since it is shown above.
func fileResult(f *File, runErr string) string {
	switch {
	case f.Error == "" && f.AlreadyApplied:
		return "already applied"
	case f.Error == "":
		return "ok"
	case f.Error == runErr:
		return "failed: see Error above"
	}
	return "failed: " + oneLine(f.Error)
}

// countsTitle says whose counts the table holds; there is no table when
// there is nothing to count.
func countsTitle(s *Summary) (string, bool) {
	switch s.Status {
	case usersync.NothingToDo:
		return "", false
	case usersync.Held:
		return "Planned changes (held: not applied)", true
	case usersync.Planned:
		return "Planned changes (dry run: not applied)", true
	case usersync.Failed:
		return "Planned changes (not applied)", s.Counts.Planned != nil
	}
	return "Applied changes", true
}

// countsTable lists the counts that are not zero.
func countsTable(s *Summary) []string {
	title, ok := countsTitle(s)
	rows := countRows(s)
	if !ok || len(rows) == 0 {
		return nil
	}
	t := table{indent: "  ", right: map[int]bool{1: true}}
	for _, row := range rows {
		t.add(row.Label, strconv.Itoa(row.N))
	}
	return append([]string{title}, t.lines()...)
}

// A countRow is one line of the counts table.
type countRow struct {
	Label string
	N     int
}

// countRows are the counts every renderer shows, in order: those that are
// not zero.
func countRows(s *Summary) []countRow {
	var rows []countRow
	add := func(label string, n int) {
		if n > 0 {
			rows = append(rows, countRow{label, n})
		}
	}
	for _, it := range tallyItems(s) {
		add(it.label(), it.n)
	}
	add("Unchanged", s.shown().Unchanged)
	add("Left alone (created by hand)", s.Counts.Manual)
	if s.Status != usersync.Held && s.Status != usersync.Planned {
		add("Failed", s.Counts.Failed)
	}
	add("Not attempted", s.Counts.NotAttempted)
	add("Rejected rows", s.Counts.Rejected)
	add("Skipped rows", s.Counts.Skipped)
	add("Rows out of scope", s.Counts.OutOfScope)
	return rows
}

// A section is a list of a summary: its title with the count, the lines of
// its listed items, and how many items there are in all. Text and HTML lay
// them out alike.
type section struct {
	title string
	lines []string
	total int
}

// sections are the lists of a summary, in order: the rejected rows (what
// an administrator must fix), the warnings, the changes of each kind by
// name and key (who was created, updated, deactivated; for a held plan, what an
// administrator checks before approving it), the failed changes, the
// rejected rows and the errors of other reporters. Empty lists are left out.
func sections(s *Summary) []section {
	var secs []section
	add := func(title string, lines []string, total int) {
		if total > 0 {
			secs = append(secs, section{fmt.Sprintf("%s (%d)", title, total), lines, total})
		}
	}
	rejected := make([]string, 0, len(s.Rejected.Items))
	for _, r := range s.Rejected.Items {
		rejected = append(rejected, rowLine(r))
	}
	add("Rejected rows", rejected, s.Rejected.Total)
	warnings := make([]string, 0, len(s.Warnings.Items))
	for _, w := range s.Warnings.Items {
		warnings = append(warnings, oneLine(w.String()))
	}
	add("Warnings", warnings, s.Warnings.Total)
	for _, l := range s.Changes {
		lines := make([]string, 0, len(l.Items))
		for _, c := range l.Items {
			lines = append(lines, changeLine(c))
		}
		if l.Total > 0 {
			secs = append(secs, section{kindTitle(s, l), lines, l.Total})
		}
	}
	failed := make([]string, 0, len(s.Failed.Items))
	for _, c := range s.Failed.Items {
		// As a ChangeError says it: "kind key: reason".
		failed = append(failed, clean(c.Kind.String()+" "+c.Key)+": "+oneLine(c.Error))
	}
	add("Failed changes", failed, s.Failed.Total)
	errs := make([]string, 0, len(s.ReportErrors))
	for _, e := range s.ReportErrors {
		errs = append(errs, oneLine(e))
	}
	add("Reporter errors", errs, len(s.ReportErrors))
	return secs
}

// rowLine says where a rejected row is, what is wrong and what to fix:
// users.csv:14 · column Mail · "ann.andersson(at)example": not an email
// address.
func rowLine(r Row) string {
	return oneLine(r.String())
}

// changeLine names a change by name and key, with what it writes (old →
// new values) and what became of it when that is not what the list's
// title says.
func changeLine(c Change) string {
	line := who(c)
	if d := changeDetail(c); d != "" {
		line += ": " + d
	}
	switch c.Outcome {
	case OutcomeFailed:
		line += " — failed"
	case OutcomeNotAttempted:
		line += " — not attempted"
	}
	return line
}

// who names the user or group of a change: "Ann Andersson (E1001)", or
// the key alone when the name is not known.
func who(c Change) string {
	key := clean(c.Key)
	if c.OldKey != "" {
		key += ", was " + clean(c.OldKey)
	}
	line := key
	if c.Name != "" {
		line = oneLine(c.Name) + " (" + key + ")"
	}
	if c.Label != "" && c.Label != c.Name {
		line += " (" + oneLine(c.Label) + ")"
	}
	return line
}

// changeDetail says what a change writes, old → new, and which groups the
// user joins and leaves.
func changeDetail(c Change) string {
	var parts []string
	if c.Reason != "" {
		parts = append(parts, oneLine(c.Reason))
	}
	if c.Kind == usersync.MarkMissing {
		parts = append(parts, missing(c.MissingRuns))
	}
	switch {
	case len(c.Updates) > 0:
		for _, u := range c.Updates {
			parts = append(parts, updateText(u))
		}
	case len(c.Attrs) > 0:
		parts = append(parts, cleanJoin(c.Attrs))
	}
	if len(c.Join) > 0 {
		parts = append(parts, "joins "+cleanJoin(c.Join))
	}
	if len(c.Leave) > 0 {
		parts = append(parts, "leaves "+cleanJoin(c.Leave))
	}
	return strings.Join(parts, "; ")
}

// updateText is "title: Engineer → Sales lead", or "password: changed"
// for a value not shown.
func updateText(u Update) string {
	if u.Hidden {
		return clean(u.Attr) + ": changed"
	}
	return clean(u.Attr) + ": " + shownValue(u.Old) + " → " + shownValue(u.New)
}

// shownValue quotes nothing, but says "(empty)" for an empty value.
func shownValue(v string) string {
	if v == "" {
		return "(empty)"
	}
	return oneLine(v)
}

// missing says what a MarkMissing change records.
func missing(runs int) string {
	if runs == 0 {
		return "no longer missing"
	}
	return "missing from " + count(runs, "run") + " in a row"
}

func cleanJoin(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = clean(s)
	}
	return strings.Join(out, ", ")
}

// list puts lines, the first of total items, under a title, and says how
// many are left out.
func list(title string, lines []string, total int) []string {
	out := []string{title}
	for _, l := range lines {
		out = append(out, "  "+l)
	}
	if more := total - len(lines); more > 0 {
		out = append(out, fmt.Sprintf("  and %d more", more))
	}
	return out
}

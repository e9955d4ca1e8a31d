package report

import (
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/usersync/usersync"
)

// SchemaVersion is the version of the Summary's JSON form, in its "version"
// field. Fields may be added within a version; none is renamed or removed.
const SchemaVersion = 1

// A Summary is what a run did, as an administrator reads it: the one model
// behind every renderer ([WriteText], [WriteHTML], [WriteJSON], the CSV
// attachments), the summary email and the run history.
//
// [NewSummary] makes one from a run's Result, and [Summarize] from a run's
// events, which adds the time each phase took. Text in a Summary is as it
// came (file names, column headers, errors of servers and sinks): each
// renderer escapes it for its medium. Error messages are redacted (see
// Options.Secrets).
//
// The JSON names of the fields are stable (see SchemaVersion); times are
// RFC 3339, durations whole milliseconds, kinds and statuses their names
// ("create", "partly failed").
type Summary struct {
	// Version is SchemaVersion.
	Version int `json:"version"`
	// Name is Options.Name: the feed or customer.
	Name string `json:"name,omitempty"`
	// Status is the run's outcome.
	Status usersync.Status `json:"status"`
	// Headline is a one-line account of the run, for an email subject or a
	// chat message: "usersync: succeeded — 3 created, 1 deactivated, 40
	// unchanged". It holds no text from the files.
	Headline string `json:"headline"`
	// Outcome says what the status means for the directory, such as
	// "partly failed: applied 7 of 9 changes; 2 failed".
	Outcome string `json:"outcome"`
	// Error is the error that ended the run; for a held run, the guard's
	// reason.
	Error string `json:"error,omitempty"`
	// Action tells the administrator what to do, when the run needs
	// someone.
	Action string `json:"action,omitempty"`
	// ApproveURL is Options.ApproveURL for a held run: where to approve
	// its plan.
	ApproveURL string `json:"approve_url,omitempty"`
	// Started and Finished are when the run began and ended.
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	// Timings is how long the run and each of its phases took.
	Timings Timings `json:"timings"`
	// Files are the files read, in order.
	Files []File `json:"files"`
	// Counts are the run's numbers.
	Counts Counts `json:"counts"`
	// Guards are the safety guards that held the plan; empty unless one
	// did.
	Guards []Guard `json:"guards"`
	// Changes lists the plan's changes by kind, in the order they apply,
	// each list capped at Options.MaxListed.
	Changes []ChangeList `json:"changes"`
	// Failed lists the changes the Sink refused.
	Failed List[Change] `json:"failed"`
	// Rejected lists the rejected rows, in file and line order.
	Rejected List[Row] `json:"rejected"`
	// Warnings are what the Mapper noticed in the files, such as unknown
	// columns, then the rows the Reconciler used but not in full, such as
	// a manager that matches no user.
	Warnings List[Warning] `json:"warnings"`
	// ReportErrors are the errors of reporters earlier in the run, and
	// this report's own: a plan kept on disk that could not be read back
	// in full leaves the change lists short, and says so here.
	ReportErrors []string `json:"report_errors"`

	// all holds every change and rejected row, for the CSV attachments;
	// nil for a Summary decoded from JSON.
	all *fullLists
}

// A List is the first items of a longer list, and how long it is.
type List[T any] struct {
	// Total counts all the items, listed or not.
	Total int `json:"total"`
	// Items are the first of them, at most Options.MaxListed.
	Items []T `json:"items"`
}

// More returns how many items the list leaves out: the "and N more".
func (l List[T]) More() int { return max(0, l.Total-len(l.Items)) }

// add counts item and keeps it when there is room.
func (l *List[T]) add(item T, room int) {
	l.Total++
	if len(l.Items) < room {
		l.Items = append(l.Items, item)
	}
}

// Timings says how long a run took. Read runs from the start to the end of
// the last file (listing included), Plan from there to the plan, Apply from
// the plan to the end; each is 0 when the run did not get there or the
// Summary was made from a Result alone.
type Timings struct {
	Total, Read, Plan, Apply time.Duration
}

// A File is one file of the run: its identity and how it was read.
type File struct {
	Name string `json:"name"`
	// Size is the size the Source announced, -1 if unknown.
	Size int64 `json:"size"`
	// Bytes is how much was read, before decryption.
	Bytes    int64     `json:"bytes"`
	Modified time.Time `json:"modified,omitzero"`
	// SHA256 is the hex hash of the bytes read; "" if the file failed.
	SHA256    string   `json:"sha256,omitempty"`
	Encoding  string   `json:"encoding,omitempty"`
	Delimiter string   `json:"delimiter,omitempty"`
	Columns   []string `json:"columns,omitempty"`
	Records   int      `json:"records"`
	Rejected  int      `json:"rejected"`
	Skipped   int      `json:"skipped"`
	// OutOfScope counts the rows a filter left out of the sync's scope.
	OutOfScope int `json:"out_of_scope,omitempty"`
	// DecryptedBy names the key that decrypted the file, if one did.
	DecryptedBy string `json:"decrypted_by,omitempty"`
	// AlreadyApplied says an earlier run applied this same content.
	AlreadyApplied bool `json:"already_applied,omitempty"`
	// Error is why the file failed.
	Error string `json:"error,omitempty"`
	// FinishError is why archiving or removing it after the run failed.
	FinishError string `json:"finish_error,omitempty"`
	// Members are the files of an archive, named "bundle.zip/users.csv"
	// (see usersync.FileResult.Members).
	Members []File `json:"members,omitempty"`
	// SkippedFiles names the files of an archive its Unpacker left out,
	// such as what macOS adds (see usersync.FileResult.Skipped).
	SkippedFiles []string `json:"skipped_files,omitempty"`
}

// Counts are a run's numbers.
type Counts struct {
	// Planned counts the plan's changes by kind, and the users that needed
	// none; nil when the run ended before it planned.
	Planned *usersync.Counts `json:"planned,omitempty"`
	// Applied counts the changes applied; all zero for a held, dry or
	// failed run.
	Applied usersync.Counts `json:"applied"`
	// Failed counts the changes the Sink refused, NotAttempted those a
	// canceled run did not get to.
	Failed       int `json:"failed"`
	NotAttempted int `json:"not_attempted"`
	// Records counts the good rows of all files, Rejected and Skipped the
	// others.
	Records  int `json:"records"`
	Rejected int `json:"rejected"`
	Skipped  int `json:"skipped"`
	// OutOfScope counts the rows a filter left out of the sync's scope:
	// neither errors nor leavers.
	OutOfScope int `json:"out_of_scope,omitempty"`
	// Manual counts feed users left alone because they were created by
	// hand; Population the active managed users before the plan.
	Manual     int `json:"manual"`
	Population int `json:"population"`
}

// Guard says why a safety guard held a plan. A Hold that is no
// usersync.GuardError has only a Reason.
type Guard struct {
	// Guard names what was limited, such as "deletes and deactivations".
	Guard string `json:"guard,omitempty"`
	// Count is how many the plan holds, Population the base of the limit.
	Count      int `json:"count,omitempty"`
	Population int `json:"population,omitempty"`
	// Limit is the limit that tripped, such as "10% of 2000 (200)".
	Limit string `json:"limit,omitempty"`
	// Reason is the guard's message.
	Reason string `json:"reason"`
}

// A ChangeList is the changes of one kind.
type ChangeList struct {
	Kind usersync.ChangeKind `json:"kind"`
	List[Change]
}

// Outcome is what became of one change.
type Outcome string

// The outcomes of a change.
const (
	OutcomeApplied      Outcome = "applied"
	OutcomeFailed       Outcome = "failed"
	OutcomePlanned      Outcome = "planned"       // held or dry run
	OutcomeNotAttempted Outcome = "not attempted" // the run stopped first
)

// A Change is one change of the plan, named by kind, key and, unless
// Options.KeysOnly, the person's name and the old and new values of what
// it writes (never those of a private attribute, see Options.Private).
type Change struct {
	Kind usersync.ChangeKind `json:"kind"`
	// Key is the user's key, or the group's ID; OldKey the key the user had
	// until this change, if it takes a new one.
	Key    string `json:"key"`
	OldKey string `json:"old_key,omitempty"`
	// Label is the attribute Options.Label names, or the group's name.
	Label string `json:"label,omitempty"`
	// Name is the person's name, from the attributes Options.Names lists.
	Name string `json:"name,omitempty"`
	// Updates are the attributes the change writes, with their old and
	// new values, for an update, restore, deactivation or adoption.
	Updates []Update `json:"updates,omitempty"`
	// MissingRuns is the count of runs in a row that missed the user, for
	// mark-missing; 0 clears the mark.
	MissingRuns int `json:"missing_runs,omitempty"`
	// Attrs names the attributes written; Join and Leave the groups joined
	// and left.
	Attrs []string `json:"attrs,omitempty"`
	Join  []string `json:"join,omitempty"`
	Leave []string `json:"leave,omitempty"`
	// Reason says why the change is planned when its kind does not:
	// "out of scope: rule contractors" (see usersync.Change.Reason).
	Reason  string  `json:"reason,omitempty"`
	Outcome Outcome `json:"outcome"`
	// Error is why the Sink refused the change.
	Error string `json:"error,omitempty"`
}

// An Update is an attribute a change writes: its value before and after.
// The values of a private attribute, or of one that holds a secret, are
// left out and Hidden is set.
type Update struct {
	Attr   string `json:"attr"`
	Old    string `json:"old,omitempty"`
	New    string `json:"new,omitempty"`
	Hidden bool   `json:"hidden,omitempty"`
}

// A Row is a rejected row: where it is, what is wrong and the value at fault.
type Row struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column string `json:"column,omitempty"`
	Value  string `json:"value,omitempty"`
	Key    string `json:"key,omitempty"`
	Reason string `json:"reason"`
	// Cell names a spreadsheet's cell, such as "Sheet1!C17" (see
	// usersync.RowError.Cell).
	Cell string `json:"cell,omitempty"`
}

// String formats the row as the pipeline's RowError does:
// file:line: column C: "value": reason, or file: cell: ... for a
// spreadsheet's cell.
func (r Row) String() string {
	return (&usersync.RowError{File: r.File, Line: r.Line, Column: r.Column, Value: r.Value, Cell: r.Cell,
		Err: errors.New(r.Reason)}).Error()
}

// A Warning is something an administrator should know about a file, or a
// row of it (Line is then set).
type Warning struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Column string `json:"column,omitempty"`
	Text   string `json:"text"`
}

// String formats the warning as file: text, or file:line: column C: text.
func (w Warning) String() string {
	if w.Line == 0 {
		return w.File + ": " + w.Text
	}
	return Row{File: w.File, Line: w.Line, Column: w.Column, Reason: w.Text}.String()
}

// NewSummary summarises a run from its Result, which must not be nil. The
// Summary keeps r, whose lists the CSV attachments write in full: r must
// not change afterwards.
func NewSummary(r *usersync.Result, opts *Options) *Summary {
	if opts == nil {
		opts = &Options{}
	}
	rd := newRedactor(opts.Secrets)
	b := builder{r: r, opts: opts, rd: rd, room: opts.maxListed(),
		all: &fullLists{res: r, label: opts.Label, rd: rd, names: opts.Names, private: opts.Private, keysOnly: opts.KeysOnly}}
	if b.all.names == nil {
		b.all.names = DefaultNames
	}
	return b.build()
}

// builder makes a Summary from a Result.
type builder struct {
	r    *usersync.Result
	opts *Options // not nil
	rd   redactor
	room int
	all  *fullLists
}

func (b *builder) build() *Summary {
	r := b.r
	s := &Summary{
		Version:  SchemaVersion,
		Status:   r.Status,
		Started:  r.Started,
		Finished: r.Finished,
		Name:     b.opts.Name,
		Timings:  Timings{Total: elapsed(r.Started, r.Finished)},
		all:      b.all,
	}
	s.Files = b.files()
	s.Counts = b.counts()
	s.Guards = b.guards()
	s.Changes, s.Failed = b.changes()
	s.Rejected = b.rejected()
	s.Warnings = b.warnings()
	for _, err := range r.ReportErrors {
		s.ReportErrors = append(s.ReportErrors, b.errText(err))
	}
	if b.all.err != nil { // a plan kept on disk could not be read back
		s.ReportErrors = append(s.ReportErrors, "the change lists stop early: "+b.errText(b.all.err))
	}
	s.Error = b.errText(runErr(r))
	s.Headline = headline(s)
	s.Outcome = outcome(s, r.Err)
	s.Action = action(s, r.Err, b.opts)
	if s.Status == usersync.Held {
		s.ApproveURL = approveURL(b.opts.ApproveURL)
	}
	s.emptyNotNull()
	return s
}

// emptyNotNull makes the Summary's empty lists empty rather than nil, so
// that its JSON has [] where a reader expects a list, never null.
func (s *Summary) emptyNotNull() {
	s.Files = nonNil(s.Files)
	s.Changes = nonNil(s.Changes)
	s.Failed.Items = nonNil(s.Failed.Items)
	s.Rejected.Items = nonNil(s.Rejected.Items)
	s.Warnings.Items = nonNil(s.Warnings.Items)
	s.Guards = nonNil(s.Guards)
	s.ReportErrors = nonNil(s.ReportErrors)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// errText returns err's message, redacted; "" for nil.
func (b *builder) errText(err error) string {
	if err == nil {
		return ""
	}
	// fmt, rather than err.Error(), survives a nil *RowError or an Error
	// method that panics: a report must not crash on a hand-made Result.
	return b.rd.redact(fmt.Sprint(err))
}

// runErr is the error that explains the status; a held plan's reason may be
// only in the plan when the Result was not made by a Pipeline.
func runErr(r *usersync.Result) error {
	if r.Err == nil && r.Status == usersync.Held && r.Plan != nil {
		return r.Plan.Hold
	}
	return r.Err
}

func elapsed(start, end time.Time) time.Duration {
	if start.IsZero() || end.IsZero() || end.Before(start) {
		return 0
	}
	return end.Sub(start)
}

func (b *builder) files() []File { return b.fileList(b.r.Files) }

// fileList summarizes results, and the members of archives among them.
func (b *builder) fileList(results []usersync.FileResult) []File {
	files := make([]File, 0, len(results))
	for i := range results {
		f := &results[i]
		out := File{
			Name:           f.Name,
			Size:           f.Size,
			Bytes:          f.Bytes,
			Modified:       f.ModTime,
			Encoding:       f.Format.Encoding,
			Columns:        f.Format.Columns,
			Records:        f.Records,
			Rejected:       f.Rejected,
			Skipped:        f.Format.Skipped,
			OutOfScope:     f.Format.OutOfScope,
			DecryptedBy:    f.DecryptedBy,
			AlreadyApplied: f.AlreadyApplied,
			Error:          b.errText(f.Err),
			FinishError:    b.errText(f.FinishErr),
		}
		if f.Format.Delimiter != 0 {
			out.Delimiter = string(f.Format.Delimiter)
		}
		if f.Err == nil && f.SHA256 != [32]byte{} {
			out.SHA256 = f.Hash()
		}
		if len(f.Members) > 0 {
			out.Members = b.fileList(f.Members)
		}
		out.SkippedFiles = f.Skipped
		files = append(files, out)
	}
	return files
}

func (b *builder) counts() Counts {
	r := b.r
	c := Counts{
		Failed:   len(r.Failed),
		Rejected: max(r.RejectedTotal, len(r.Rejected)),
		Skipped:  r.Skipped(),
		// Rows out of scope: see usersync.ScopeReader.
		OutOfScope: r.OutOfScope(),
	}
	for i := range r.Files {
		c.Records += r.Files[i].Records
	}
	if r.Plan == nil {
		c.Applied = r.Applied
		return c
	}
	planned := r.Plan.Counts()
	c.Planned = &planned
	c.Manual, c.Population = r.Plan.Manual, r.Plan.Population
	if appliedStatus(r.Status) {
		c.Applied = r.Applied
		if c.Applied.Unchanged == 0 {
			// Unchanged is not a change: a Result made by hand may leave
			// it to the plan.
			c.Applied.Unchanged = r.Plan.Unchanged
		}
		c.NotAttempted = max(0, r.Plan.Changes.Len()-r.Applied.Total()-len(r.Failed))
	} else if r.Status == usersync.Failed {
		c.NotAttempted = max(0, r.Plan.Changes.Len()-len(r.Failed))
	}
	return c
}

// appliedStatus reports whether a run of status st applied changes, so that
// its counts are those applied rather than planned.
func appliedStatus(st usersync.Status) bool {
	return st == usersync.Succeeded || st == usersync.PartlyFailed
}

// guards lists the guards that held the plan: every GuardError the Hold
// holds, or the Hold itself.
func (b *builder) guards() []Guard {
	if b.r.Plan == nil || b.r.Plan.Hold == nil {
		return nil
	}
	var gs []Guard
	for ge := range guardErrors(b.r.Plan.Hold) {
		gs = append(gs, Guard{Guard: ge.Guard, Count: ge.Count, Population: ge.Population, Limit: ge.Limit,
			Reason: b.errText(ge)})
	}
	if len(gs) == 0 {
		gs = append(gs, Guard{Reason: b.errText(b.r.Plan.Hold)})
	}
	return gs
}

// guardErrors yields the GuardErrors in err's tree, as errors.As would
// find them, but all of them: a Hold joins one for each guard that tripped.
func guardErrors(err error) iter.Seq[*usersync.GuardError] {
	return func(yield func(*usersync.GuardError) bool) {
		var walk func(error) bool
		walk = func(err error) bool {
			switch e := err.(type) {
			case nil:
				return true
			case *usersync.GuardError:
				return yield(e)
			case interface{ Unwrap() []error }:
				for _, inner := range e.Unwrap() {
					if !walk(inner) {
						return false
					}
				}
				return true
			case interface{ Unwrap() error }:
				return walk(e.Unwrap())
			}
			return true
		}
		walk(err)
	}
}

// changes lists the plan's changes by kind, and the failed ones.
func (b *builder) changes() ([]ChangeList, List[Change]) {
	all := b.all
	var failed List[Change]
	for _, ce := range b.r.Failed {
		if ce != nil {
			failed.add(all.change(&ce.Change, OutcomeFailed, ce.Err), b.room)
		}
	}
	if b.r.Plan == nil {
		return nil, failed
	}
	var lists []ChangeList
	var index [256]int // ChangeKind → 1 + its list's index; 0: no list yet
	for c, o := range all.changes() {
		i := index[c.Kind] - 1
		if i < 0 {
			i = len(lists)
			index[c.Kind] = i + 1
			lists = append(lists, ChangeList{Kind: c.Kind})
		}
		if lists[i].Total < b.room {
			// Build the item only when it is listed: a first run may
			// create a million users.
			lists[i].add(all.change(c, o.outcome, o.err), b.room)
		} else {
			lists[i].Total++
		}
	}
	return lists, failed
}

func (b *builder) rejected() List[Row] {
	l := List[Row]{Total: max(b.r.RejectedTotal, len(b.r.Rejected))}
	for _, re := range b.r.Rejected[:min(len(b.r.Rejected), b.room)] {
		l.Items = append(l.Items, b.all.row(re))
	}
	return l
}

func (b *builder) warnings() List[Warning] {
	var l List[Warning]
	for i := range b.r.Files {
		f := &b.r.Files[i]
		for _, w := range f.Format.Warnings {
			l.add(Warning{File: f.Name, Text: w}, b.room)
		}
	}
	if b.r.Plan == nil {
		return l
	}
	for _, re := range b.r.Plan.Warnings {
		if re == nil {
			continue
		}
		l.add(Warning{File: re.File, Line: re.Line, Column: re.Column, Text: b.errText(re.Err)}, b.room)
	}
	// The Reconciler may have listed only the first of its warnings.
	l.Total += max(0, b.r.Plan.WarningsTotal-len(b.r.Plan.Warnings))
	return l
}

package report

import (
	"fmt"
	"iter"
	"strings"

	"github.com/usersync/usersync"
)

// fullLists reads every change and rejected row of a run: the Summary lists
// the first of them, the CSV attachments all.
type fullLists struct {
	res      *usersync.Result
	label    string
	rd       redactor
	names    []string
	private  []string
	keysOnly bool
	// err is why the plan's changes could not all be read back (see
	// usersync.ChangeList): the lists stop where it happened.
	err error
}

// A changeState is what became of a change, and why it failed.
type changeState struct {
	outcome Outcome
	err     error
}

// changes yields each change of the plan, in order, with its outcome.
func (l *fullLists) changes() iter.Seq2[*usersync.Change, changeState] {
	return func(yield func(*usersync.Change, changeState) bool) {
		r := l.res
		if r.Plan == nil {
			return
		}
		failed := make(map[changeID]error, len(r.Failed))
		for _, ce := range r.Failed {
			if ce != nil {
				failed[idOf(&ce.Change)] = ce.Err
			}
		}
		planOnly := r.Status == usersync.Held || r.Status == usersync.Planned
		// Changes apply in order, so the first done were attempted and the
		// rest were not.
		done, i := r.Applied.Total()+len(r.Failed), -1
		for c, err := range r.Plan.Changes.All() {
			if err != nil {
				l.err = err
				return
			}
			i++
			st := changeState{outcome: OutcomePlanned}
			switch {
			case planOnly:
			case i >= done:
				st.outcome = OutcomeNotAttempted
			default:
				st.outcome = OutcomeApplied
				if err, ok := failed[idOf(&c)]; ok {
					st = changeState{OutcomeFailed, err}
				}
			}
			if !yield(&c, st) {
				return
			}
		}
	}
}

// A changeID tells the changes of a plan apart: a plan changes a user or a
// group once.
type changeID struct {
	kind usersync.ChangeKind
	key  string
}

func idOf(c *usersync.Change) changeID {
	if c.Kind.IsGroup() {
		return changeID{c.Kind, c.Group.ID}
	}
	return changeID{c.Kind, c.User.Key}
}

// change makes the Summary's item for c.
func (l *fullLists) change(c *usersync.Change, o Outcome, err error) Change {
	ch := Change{Kind: c.Kind, Key: idOf(c).key, OldKey: c.OldKey, Attrs: c.Attrs, Join: c.Join, Leave: c.Leave,
		Reason: c.Reason, Outcome: o}
	if c.Kind == usersync.MarkMissing {
		ch.MissingRuns = int(c.User.MissingRuns)
	}
	switch {
	case c.Kind.IsGroup():
		if c.Group.Name != c.Group.ID {
			ch.Label = c.Group.Name
		}
	case l.label != "":
		ch.Label = c.User.Attrs.Value(l.label)
	}
	if !c.Kind.IsGroup() && !l.keysOnly {
		ch.Name = l.name(c.User.Attrs)
		if ch.Name == "" {
			ch.Name = l.name(c.Before)
		}
		switch c.Kind {
		case usersync.UpdateUser, usersync.RestoreUser, usersync.DeactivateUser, usersync.AdoptUser:
			for _, a := range c.Attrs {
				ch.Updates = append(ch.Updates, l.update(c, a))
			}
		}
	}
	if l.label != "" && (l.keysOnly || IsPrivate(l.label, l.private)) {
		ch.Label = ""
	}
	if err != nil {
		ch.Error = l.rd.redact(fmt.Sprint(err))
	}
	return ch
}

// name returns the person's name from attrs, "" if none of the name
// attributes is set (or all are private).
func (l *fullLists) name(attrs usersync.Attrs) string {
	for _, n := range l.names {
		var parts []string
		for _, a := range strings.Fields(n) {
			if v := strings.TrimSpace(attrs.Value(a)); v != "" && !IsPrivate(a, l.private) {
				parts = append(parts, v)
			}
		}
		if len(parts) > 0 {
			name := strings.Join(parts, " ")
			if l.rd.redact(name) != name {
				continue // holds a secret
			}
			return name
		}
	}
	return ""
}

// update makes the Update of attribute a written by c: its values, unless
// the attribute is private or a value holds a secret.
func (l *fullLists) update(c *usersync.Change, a string) Update {
	u := Update{Attr: a}
	if IsPrivate(a, l.private) {
		u.Hidden = true
		return u
	}
	u.Old, u.New = c.Before.Value(a), c.User.Attrs.Value(a)
	if l.rd.redact(u.Old) != u.Old || l.rd.redact(u.New) != u.New {
		u.Old, u.New, u.Hidden = "", "", true
	}
	return u
}

// row makes the Summary's item for a rejected row.
func (l *fullLists) row(re *usersync.RowError) Row {
	if re == nil {
		return Row{}
	}
	return Row{File: re.File, Line: re.Line, Column: re.Column, Value: re.Value, Key: re.Key, Cell: re.Cell,
		Reason: l.rd.redact(fmt.Sprint(re.Err))}
}

// eachChange yields every change of the run: all of them for a Summary
// made from a Result, the listed ones for a Summary decoded from JSON.
func (s *Summary) eachChange() iter.Seq[Change] {
	return func(yield func(Change) bool) {
		if s.all != nil {
			for c, st := range s.all.changes() {
				if !yield(s.all.change(c, st.outcome, st.err)) {
					return
				}
			}
			return
		}
		for _, l := range s.Changes {
			for _, c := range l.Items {
				if !yield(c) {
					return
				}
			}
		}
	}
}

// changeTotal counts the changes of the run, listed or not.
func (s *Summary) changeTotal() int {
	n := 0
	for _, l := range s.Changes {
		n += l.Total
	}
	return n
}

// eachRow yields every rejected row the Result kept, or the listed ones of
// a Summary decoded from JSON.
func (s *Summary) eachRow() iter.Seq[Row] {
	return func(yield func(Row) bool) {
		if s.all == nil {
			for _, r := range s.Rejected.Items {
				if !yield(r) {
					return
				}
			}
			return
		}
		for _, re := range s.all.res.Rejected {
			if !yield(s.all.row(re)) {
				return
			}
		}
	}
}

package report

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/usersync/usersync"
)

// The sentences of a Summary (Headline, Outcome, Action) are made here, once,
// so that every renderer says the same thing.

// headline is "usersync[ Name]: status — what changed".
func headline(s *Summary) string {
	prefix := "usersync"
	if s.Name != "" {
		prefix += " " + clean(s.Name)
	}
	return prefix + ": " + s.Status.String() + " — " + outline(s)
}

func outline(s *Summary) string {
	switch s.Status {
	case usersync.Held:
		return "nothing applied; plan: " + tally(s)
	case usersync.Planned:
		return "dry run, nothing applied; plan: " + tally(s)
	case usersync.Failed:
		parts := []string{"nothing applied"}
		if n := s.Counts.Failed; n > 0 {
			parts = append(parts, count(n, "change")+" failed")
		}
		if n := s.Counts.Rejected; n > 0 {
			parts = append(parts, strconv.Itoa(n)+" rejected")
		}
		return strings.Join(parts, ", ")
	case usersync.NothingToDo:
		if len(s.Files) > 0 {
			return "no new file"
		}
		return "no file to read"
	}
	return tally(s)
}

// tally lists the non-zero counts of the run, as "3 created, 2 updated,
// 40 unchanged, 1 rejected", or "3 to create, ..." for a plan.
func tally(s *Summary) string {
	var parts []string
	for _, it := range tallyItems(s) {
		if it.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", it.n, it.word()))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no changes")
	}
	if n := s.Counts.Failed; n > 0 && !s.planOnly() {
		parts = append(parts, strconv.Itoa(n)+" failed")
	}
	if n := s.shown().Unchanged; n > 0 {
		parts = append(parts, strconv.Itoa(n)+" unchanged")
	}
	if n := s.Counts.Rejected; n > 0 {
		parts = append(parts, strconv.Itoa(n)+" rejected")
	}
	return strings.Join(parts, ", ")
}

// A tallyItem is one count of changes, with its words.
type tallyItem struct {
	kind      usersync.ChangeKind
	n         int
	one, many string
	// rare kinds are left out of the counts table when they are zero.
	rare bool
}

func (it tallyItem) word() string {
	if it.n == 1 {
		return it.one
	}
	return it.many
}

// label is the item's name in a table, such as "To create".
func (it tallyItem) label() string { return strings.ToUpper(it.many[:1]) + it.many[1:] }

// tallyItems returns the run's counts of changes, users first, worded as
// done or as planned.
func tallyItems(s *Summary) []tallyItem {
	c := s.shown()
	if s.planOnly() {
		return []tallyItem{
			{usersync.CreateUser, c.Created, "to create", "to create", false},
			{usersync.AdoptUser, c.Adopted, "to adopt", "to adopt", true},
			{usersync.RestoreUser, c.Restored, "to restore", "to restore", false},
			{usersync.UpdateUser, c.Updated, "to update", "to update", false},
			{usersync.MarkMissing, c.MarkedMissing, "to mark missing", "to mark missing", true},
			{usersync.DeactivateUser, c.Deactivated, "to deactivate", "to deactivate", false},
			{usersync.DeleteUser, c.Deleted, "to delete", "to delete", false},
			{usersync.CreateGroup, c.GroupsCreated, "group to create", "groups to create", false},
			{usersync.RenameGroup, c.GroupsRenamed, "group to rename", "groups to rename", true},
		}
	}
	return []tallyItem{
		{usersync.CreateUser, c.Created, "created", "created", false},
		{usersync.AdoptUser, c.Adopted, "adopted", "adopted", true},
		{usersync.RestoreUser, c.Restored, "restored", "restored", false},
		{usersync.UpdateUser, c.Updated, "updated", "updated", false},
		{usersync.MarkMissing, c.MarkedMissing, "marked missing", "marked missing", true},
		{usersync.DeactivateUser, c.Deactivated, "deactivated", "deactivated", false},
		{usersync.DeleteUser, c.Deleted, "deleted", "deleted", false},
		{usersync.CreateGroup, c.GroupsCreated, "group created", "groups created", false},
		{usersync.RenameGroup, c.GroupsRenamed, "group renamed", "groups renamed", true},
	}
}

// kindTitle names the list of changes l, as done or as planned, with how
// many it holds: "Created (4)", "To create (4)", or "Created (3 of 4)"
// when some failed or were not attempted.
func kindTitle(s *Summary, l ChangeList) string {
	for _, it := range tallyItems(s) {
		if it.kind != l.Kind {
			continue
		}
		if !s.planOnly() && it.n != l.Total {
			return fmt.Sprintf("%s (%d of %d)", it.label(), it.n, l.Total)
		}
		return fmt.Sprintf("%s (%d)", it.label(), l.Total)
	}
	return fmt.Sprintf("%s (%d)", l.Kind, l.Total)
}

// planOnly reports whether the run applied nothing, so that its counts are
// those of its plan.
func (s *Summary) planOnly() bool { return !appliedStatus(s.Status) }

// shown returns the counts the summary gives as the run's: applied, or
// planned when the run applied nothing.
func (s *Summary) shown() usersync.Counts {
	if !s.planOnly() {
		return s.Counts.Applied
	}
	if s.Counts.Planned == nil {
		return usersync.Counts{}
	}
	return *s.Counts.Planned
}

// progress says how far applying a plan got.
type progress struct {
	total, applied, failed int
}

func (p progress) notAttempted() int { return max(0, p.total-p.applied-p.failed) }

func progressOf(s *Summary) progress {
	p := progress{applied: s.Counts.Applied.Total(), failed: s.Counts.Failed}
	p.total = p.applied + p.failed
	if s.Counts.Planned != nil {
		p.total = max(p.total, s.Counts.Planned.Total())
	}
	return p
}

// outcome says in words what the status means for the directory. err is
// the run's error.
func outcome(s *Summary, err error) string {
	p := progressOf(s)
	switch s.Status {
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
		case errors.Is(err, usersync.ErrStalePlan):
			return "failed: the approved plan is out of date; nothing was applied"
		case s.Counts.Planned == nil:
			return "failed: nothing was applied"
		case p.failed > 0:
			return fmt.Sprintf("failed: nothing was applied; %d of %s failed", p.failed, count(p.total, "change")) +
				notAttempted(p)
		}
		return "failed: nothing was applied; stopped before the first of " + count(p.total, "change")
	case usersync.NothingToDo:
		if len(s.Files) > 0 {
			return "nothing to do: every file was applied before"
		}
		return "nothing to do: no file was ready to read"
	case usersync.Planned:
		return "planned (dry run): nothing was applied"
	}
	return s.Status.String()
}

func notAttempted(p progress) string {
	if n := p.notAttempted(); n > 0 {
		return fmt.Sprintf(", %d not attempted", n)
	}
	return ""
}

// action tells the administrator what to do, when the run needs someone.
// err is the run's error, whose kind the summary's text no longer carries.
func action(s *Summary, err error, opts *Options) string {
	p := progressOf(s)
	switch s.Status {
	case usersync.Succeeded:
		if s.Counts.Rejected > 0 {
			return "correct the rejected rows below in the export (each says where and what is wrong); the next run picks them up"
		}
	case usersync.Held:
		switch {
		case opts.ApproveCommand != "":
			return "review the planned changes below, then approve the plan by running: " + opts.ApproveCommand
		case approveURL(opts.ApproveURL) != "":
			return "review the planned changes below, then approve the plan at " + approveURL(opts.ApproveURL)
		}
		return "review the planned changes below, then approve the plan to apply them"
	case usersync.PartlyFailed, usersync.Failed:
		var fe *usersync.FileError
		switch {
		case errors.Is(err, usersync.ErrStalePlan):
			return "the files or the directory changed since the plan was computed: plan again, and approve the new plan"
		case p.failed > 0:
			return "fix what made the changes below fail; the next run tries them again"
		case s.Counts.Planned != nil && p.notAttempted() > 0:
			return "the next run applies what is left"
		case errors.Is(err, usersync.ErrIntegrity):
			return "deliver the file again: it was cut short or failed an integrity check"
		case errors.Is(err, usersync.ErrNoRecords) && s.Counts.Rejected > 0:
			return "fix the rejected rows below: the file held no usable row"
		case errors.Is(err, usersync.ErrNoRecords):
			return "check the file: it held no usable row, so nobody was changed"
		case errors.As(err, &fe) && (fe.Op == "list" || fe.Op == "open" || fe.Op == "read" || fe.Op == "close"):
			return "check that the server is reachable and the login and folder are right (the error above says which); nothing was changed, and the next run tries again"
		case errors.As(err, &fe) && fe.Op == "decrypt":
			return "ask the sender to encrypt the file to your current key, and to send it whole; nothing was changed"
		case errors.As(err, &fe) && fe.Op == "map":
			return "correct the file's format as the error above says (columns, encoding, delimiter) and deliver it again; nothing was changed"
		case s.Status == usersync.Failed:
			return "fix what the error above says, then run again; nothing was changed"
		}
	}
	return ""
}

// approveURL returns u if it is an http or https link, else "".
func approveURL(u string) string {
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		if !strings.ContainsAny(u, " \t\n\r\"'<>") {
			return u
		}
	}
	return ""
}

package reconcile

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/usersync/usersync"
)

// WriteDiff writes the plan as a person reviews it before approving it: a
// header (when, from which files, against which Sink state, whether it is
// held and why, what it counts), then one paragraph per change in the order
// they apply, then the warnings and rejected rows. Created users list their
// attributes; other changes list what they write as old -> new. Values are
// quoted as Go strings, so that no value can break the layout or send
// escape sequences to a terminal.
//
//	Plan of 2026-11-21 02:00:00 UTC
//	Changes: create 1, update 1, deactivate 1; unchanged 982
//	+ create E1005 (users.csv:7, invite auto)
//	      name    "Ed Falk"
//	      groups  +nurses
//	~ update E1007, was E1003 (users.csv:12)
//	      title   "Nurse" -> "Head nurse"
//	- deactivate E1004: missing from the files
//
// It works on any plan, from any Reconciler, and on a plan read back from
// JSON.
func WriteDiff(w io.Writer, p *usersync.Plan) error {
	bw := bufio.NewWriter(w)
	d := &differ{w: bw}
	d.header(p)
	for c, err := range p.Changes.All() {
		if err != nil {
			return err
		}
		d.change(&c)
	}
	d.rows("Warnings", p.Warnings, p.WarningsTotal)
	d.rows("Rejected rows", p.Rejected, len(p.Rejected))
	if d.err != nil {
		return d.err
	}
	return bw.Flush()
}

// differ writes a diff, keeping the first write error.
type differ struct {
	w   *bufio.Writer
	err error
}

func (d *differ) printf(format string, args ...any) {
	if d.err == nil {
		_, d.err = fmt.Fprintf(d.w, format, args...)
	}
}

func (d *differ) header(p *usersync.Plan) {
	d.printf("Plan")
	if !p.Time.IsZero() {
		d.printf(" of %s", p.Time.UTC().Format(time.DateTime+" MST"))
	}
	d.printf("\n")
	for _, f := range p.Files {
		d.printf("File: %q, %d bytes, %d records, %d rejected, sha256 %s\n", f.Name, f.Size, f.Records, f.Rejected, f.SHA256)
	}
	if p.Fingerprint != (usersync.Fingerprint{}) {
		d.printf("Sink fingerprint: %s\n", p.Fingerprint)
	}
	if p.Hold != nil {
		d.printf("HELD: %s\n", oneLine(p.Hold.Error()))
	}
	d.printf("Changes: %s\n", summary(p))
}

// summary counts the plan's changes by kind.
func summary(p *usersync.Plan) string {
	c := p.Counts()
	var parts []string
	for _, n := range []struct {
		kind usersync.ChangeKind
		n    int
	}{
		{usersync.CreateGroup, c.GroupsCreated}, {usersync.RenameGroup, c.GroupsRenamed},
		{usersync.CreateUser, c.Created}, {usersync.AdoptUser, c.Adopted}, {usersync.RestoreUser, c.Restored},
		{usersync.UpdateUser, c.Updated}, {usersync.MarkMissing, c.MarkedMissing},
		{usersync.DeactivateUser, c.Deactivated}, {usersync.DeleteUser, c.Deleted},
	} {
		if n.n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", n.kind, n.n))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "none")
	}
	s := strings.Join(parts, ", ") + fmt.Sprintf("; unchanged %d", c.Unchanged)
	if p.Manual > 0 {
		s += fmt.Sprintf(", left alone (created by hand) %d", p.Manual)
	}
	return s
}

func (d *differ) change(c *usersync.Change) {
	switch c.Kind {
	case usersync.CreateGroup:
		d.printf("+ %s %s %q%s\n", c.Kind, c.Group.ID, c.Group.Name, groupLinks(c.Group))
	case usersync.RenameGroup:
		d.printf("~ %s %s %q%s\n", c.Kind, c.Group.ID, c.Group.Name, groupLinks(c.Group))
	case usersync.CreateUser:
		d.printf("+ %s %s%s\n", c.Kind, c.User.Key, origin(c, true))
		for n, v := range c.User.Attrs.All() {
			d.attr(n, fmt.Sprintf("%q", v))
		}
		d.groups(c)
	case usersync.MarkMissing:
		if c.Reason != "" {
			d.printf("! %s %s: %s (%s)\n", c.Kind, c.User.Key, missing(&c.User), oneLine(c.Reason))
		} else {
			d.printf("! %s %s: %s\n", c.Kind, c.User.Key, missing(&c.User))
		}
	case usersync.DeactivateUser, usersync.DeleteUser:
		d.printf("- %s%s%s\n", c.Kind, rekey(c), removal(c))
		d.writes(c)
	default:
		d.printf("~ %s%s%s\n", c.Kind, rekey(c), origin(c, c.Kind == usersync.AdoptUser))
		d.writes(c)
	}
}

// writes lists the attributes a change writes, old -> new, and its
// memberships.
func (d *differ) writes(c *usersync.Change) {
	for _, n := range c.Attrs {
		v := c.User.Attrs.Value(n)
		if old, had := c.Before.Get(n); had && old != v {
			d.attr(n, fmt.Sprintf("%q -> %q", old, v))
			continue
		}
		d.attr(n, fmt.Sprintf("%q", v))
	}
	d.groups(c)
}

func (d *differ) groups(c *usersync.Change) {
	if len(c.Join) == 0 && len(c.Leave) == 0 {
		return
	}
	var b strings.Builder
	for _, g := range c.Join {
		fmt.Fprintf(&b, " +%s", quoteIfNeeded(g))
	}
	for _, g := range c.Leave {
		fmt.Fprintf(&b, " -%s", quoteIfNeeded(g))
	}
	d.attr("groups", b.String()[1:])
}

func (d *differ) attr(name, value string) {
	d.printf("      %-7s %s\n", quoteIfNeeded(name), value)
}

func (d *differ) rows(title string, rows []*usersync.RowError, total int) {
	if total == 0 {
		return
	}
	if total > len(rows) {
		d.printf("\n%s (%d, the first %d):\n", title, total, len(rows))
	} else {
		d.printf("\n%s (%d):\n", title, total)
	}
	for _, re := range rows {
		d.printf("  %s\n", oneLine(re.Error()))
	}
}

// rekey names the user a change applies to, with its old key.
func rekey(c *usersync.Change) string {
	if c.OldKey != "" {
		return fmt.Sprintf(" %s, was %s", quoteIfNeeded(c.User.Key), quoteIfNeeded(c.OldKey))
	}
	return " " + quoteIfNeeded(c.User.Key)
}

// origin names the row a change comes from, and the invitation of a user
// the change brings in.
func origin(c *usersync.Change, invite bool) string {
	var parts []string
	if c.User.Origin != (usersync.Position{}) {
		parts = append(parts, quoteIfNeeded(c.User.Origin.String()))
	}
	if invite {
		parts = append(parts, "invite "+c.Invite.String())
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// removal says why a user is deactivated or deleted.
func removal(c *usersync.Change) string {
	if c.Reason != "" {
		return ": " + oneLine(c.Reason)
	}
	if c.User.Origin == (usersync.Position{}) {
		return ": missing from the files"
	}
	return fmt.Sprintf(" (%s): inactive in the file", quoteIfNeeded(c.User.Origin.String()))
}

func missing(r *usersync.Record) string {
	if !r.Missing() {
		return "back in the files, no longer missing"
	}
	since := time.Unix(r.MissingSince, 0).UTC().Format(time.DateTime + " MST")
	if r.MissingRuns == 1 {
		return "missing since " + since
	}
	return fmt.Sprintf("missing for %d runs, since %s", r.MissingRuns, since)
}

// quoteIfNeeded quotes s if it holds anything but printable text without
// spaces at its ends, so that a key or a group ID cannot break a line.
func quoteIfNeeded(s string) string {
	q := fmt.Sprintf("%q", s)
	if q[1:len(q)-1] == s && s != "" && strings.TrimSpace(s) == s && !strings.ContainsAny(s, " ,") {
		return s
	}
	return q
}

// oneLine keeps an error message on one line.
func oneLine(s string) string {
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}

package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/report/mailreport"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/ftpsource"
)

// The settings that take one of a few words. Each decodes the word into the
// library's own value, so that what the config says is what runs.

// AfterSuccess is keep, delete or archive.
type AfterSuccess struct{ V source.AfterSuccess }

// UnmarshalText parses the word.
func (a *AfterSuccess) UnmarshalText(b []byte) (err error) {
	a.V, err = parseEnum(string(b), map[string]source.AfterSuccess{
		"keep": source.Keep, "delete": source.Delete, "archive": source.Archive})
	return err
}

// FTPTLS is explicit, implicit or none.
type FTPTLS struct{ V ftpsource.TLSMode }

// UnmarshalText parses the word.
func (t *FTPTLS) UnmarshalText(b []byte) (err error) {
	t.V, err = parseEnum(string(b), map[string]ftpsource.TLSMode{
		"explicit": ftpsource.Explicit, "implicit": ftpsource.Implicit, "none": ftpsource.Plain})
	return err
}

// Encrypted is required or optional.
type Encrypted struct{ Optional bool }

// UnmarshalText parses the word.
func (e *Encrypted) UnmarshalText(b []byte) (err error) {
	e.Optional, err = parseEnum(string(b), map[string]bool{"required": false, "optional": true})
	return err
}

// MailTLS is starttls, implicit or none.
type MailTLS struct{ V mailreport.TLSMode }

// UnmarshalText parses the word.
func (t *MailTLS) UnmarshalText(b []byte) (err error) {
	t.V, err = parseEnum(string(b), map[string]mailreport.TLSMode{
		"starttls": mailreport.StartTLS, "implicit": mailreport.ImplicitTLS, "none": mailreport.Plaintext})
	return err
}

// Mode is snapshot or delta.
type Mode struct{ V reconcile.Mode }

// UnmarshalText parses the word.
func (m *Mode) UnmarshalText(b []byte) (err error) {
	m.V, err = parseEnum(string(b), map[string]reconcile.Mode{"snapshot": reconcile.Snapshot, "delta": reconcile.Delta})
	return err
}

// Absent is deactivate, delete or ignore.
type Absent struct{ V reconcile.Absent }

// UnmarshalText parses the word.
func (a *Absent) UnmarshalText(b []byte) (err error) {
	a.V, err = parseEnum(string(b), map[string]reconcile.Absent{
		"deactivate": reconcile.Deactivate, "delete": reconcile.Delete, "ignore": reconcile.Ignore})
	return err
}

// Invite is manual or auto.
type Invite struct{ V usersync.Invite }

// UnmarshalText parses the word.
func (i *Invite) UnmarshalText(b []byte) (err error) {
	i.V, err = parseEnum(string(b), map[string]usersync.Invite{"manual": usersync.InviteManual, "auto": usersync.InviteAuto})
	return err
}

// Write is always, on_create or never.
type Write struct{ V reconcile.Write }

// UnmarshalText parses the word.
func (w *Write) UnmarshalText(b []byte) (err error) {
	w.V, err = parseEnum(string(b), map[string]reconcile.Write{
		"always": reconcile.Always, "on_create": reconcile.OnCreate, "never": reconcile.Never})
	return err
}

// Role is what a column feeds: attribute, key, groups, status, skip or
// ignore.
type Role struct{ V csvmap.Role }

// UnmarshalText parses the word.
func (r *Role) UnmarshalText(b []byte) (err error) {
	r.V, err = parseEnum(string(b), map[string]csvmap.Role{
		"attribute": csvmap.Attribute, "key": csvmap.Key, "groups": csvmap.Groups,
		"status": csvmap.Status, "skip": csvmap.Skip, "ignore": csvmap.Ignore})
	return err
}

// Kind is how a column's values are checked: text, email, phone, bool,
// date, timestamp or enum.
type Kind struct{ V csvmap.Kind }

// UnmarshalText parses the word.
func (k *Kind) UnmarshalText(b []byte) (err error) {
	k.V, err = parseEnum(string(b), map[string]csvmap.Kind{
		"text": csvmap.Text, "email": csvmap.Email, "phone": csvmap.Phone, "bool": csvmap.Bool,
		"date": csvmap.Date, "timestamp": csvmap.Timestamp, "enum": csvmap.Enum})
	return err
}

// HeaderRule is any or lower_snake.
type HeaderRule struct{ V csvmap.HeaderRule }

// UnmarshalText parses the word.
func (h *HeaderRule) UnmarshalText(b []byte) (err error) {
	h.V, err = parseEnum(string(b), map[string]csvmap.HeaderRule{
		"any": csvmap.AnySpelling, "lower_snake": csvmap.LowerSnake})
	return err
}

// Delimiter is auto, or the field delimiter: ",", ";", "tab", "|".
type Delimiter struct{ V rune }

// UnmarshalText parses the delimiter.
func (d *Delimiter) UnmarshalText(b []byte) error {
	s := string(b)
	switch strings.ToLower(s) {
	case "auto", "":
		d.V = 0
	case "tab", `\t`, "\t":
		d.V = '\t'
	default:
		r := []rune(s)
		if len(r) != 1 || r[0] > 127 || strings.ContainsRune("\"\r\n", r[0]) ||
			('a' <= r[0] && r[0] <= 'z') || ('A' <= r[0] && r[0] <= 'Z') || ('0' <= r[0] && r[0] <= '9') {
			return fmt.Errorf("want auto, tab or one ASCII punctuation character such as , or ;, got %q", s)
		}
		d.V = r[0]
	}
	return nil
}

// topics are the words a recipient's "on" takes.
var topics = map[string]mailreport.Topic{
	"succeeded": mailreport.OnSucceeded, "partly_failed": mailreport.OnPartlyFailed,
	"held": mailreport.OnHeld, "failed": mailreport.OnFailed, "nothing_to_do": mailreport.OnNothingToDo,
	"planned": mailreport.OnPlanned, "feed_stale": mailreport.OnFeedStale, "plan_held": mailreport.OnPlanHeld,
	"problems": mailreport.OnProblems, "default": mailreport.OnDefault, "everything": mailreport.OnEverything,
}

// Topic is one of the words of topics.
type Topic struct{ V mailreport.Topic }

// UnmarshalText parses the word.
func (t *Topic) UnmarshalText(b []byte) (err error) {
	t.V, err = parseEnum(string(b), topics)
	return err
}

// Recipient is an email address and what it receives; written as the
// address alone, it receives the default topics.
type Recipient struct {
	Address string  `yaml:"address"`
	On      []Topic `yaml:"on"`
}

// UnmarshalText takes the short form, the address alone.
func (r *Recipient) UnmarshalText(b []byte) error {
	*r = Recipient{Address: string(b)}
	return nil
}

// Recipient returns the mailreport recipient.
func (r *Recipient) Recipient() mailreport.Recipient {
	var on mailreport.Topic
	for _, t := range r.On {
		on |= t.V
	}
	return mailreport.Recipient{Address: r.Address, On: on}
}

// ClockTime is a time of day, "00:15".
type ClockTime struct{ Hour, Minute int }

// UnmarshalText parses HH:MM.
func (c *ClockTime) UnmarshalText(b []byte) error {
	t, err := time.Parse("15:04", strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("want a time of day such as 00:15 or 23:30, got %q", b)
	}
	c.Hour, c.Minute = t.Hour(), t.Minute()
	return nil
}

// String formats the time as HH:MM.
func (c ClockTime) String() string { return fmt.Sprintf("%02d:%02d", c.Hour, c.Minute) }

// Window is a pause: from one date (or date and time) to another, both
// included, or every year from one day to another ("06-20" to "08-15").
type Window struct {
	From WindowTime `yaml:"from"`
	To   WindowTime `yaml:"to"`
}

// WindowTime is one end of a Window: "2026-06-20", "2026-06-20 18:00" or,
// every year, "06-20".
type WindowTime struct {
	Yearly       bool
	Year         int // 0 when Yearly
	Month        time.Month
	Day          int
	Hour, Minute int
	HasTimeOfDay bool
	original     string
}

// UnmarshalText parses the date.
func (w *WindowTime) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02", "01-02"} {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		*w = WindowTime{Yearly: layout == "01-02", Year: t.Year(), Month: t.Month(), Day: t.Day(),
			Hour: t.Hour(), Minute: t.Minute(), HasTimeOfDay: len(layout) > len("2006-01-02"), original: s}
		if w.Yearly {
			w.Year = 0
		}
		return nil
	}
	return fmt.Errorf("want a date such as 2026-06-20, a date and time such as 2026-06-20 18:00, or a day of every year such as 06-20, got %q", s)
}

// String returns the date as written.
func (w WindowTime) String() string { return w.original }

package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/usersync/usersync"
)

// AlertKind says what an [Alert] is about.
type AlertKind uint8

// The kinds of alert.
const (
	// FeedStale: no new file arrived within the expected window, so the
	// directory is getting out of date although no run failed.
	FeedStale AlertKind = iota + 1
	// PlanHeld: a safety guard held a run's plan; nothing changes until an
	// administrator approves it.
	PlanHeld
)

var alertKindNames = [...]string{
	FeedStale: "feed-stale",
	PlanHeld:  "plan-held",
}

// String returns the kind's name: "feed-stale" or "plan-held".
func (k AlertKind) String() string {
	if int(k) < len(alertKindNames) && alertKindNames[k] != "" {
		return alertKindNames[k]
	}
	return fmt.Sprintf("AlertKind(%d)", uint8(k))
}

// MarshalText encodes the kind by name.
func (k AlertKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText decodes a kind name written by MarshalText.
func (k *AlertKind) UnmarshalText(b []byte) error {
	for i, n := range alertKindNames {
		if n != "" && n == string(b) {
			*k = AlertKind(i)
			return nil
		}
	}
	return fmt.Errorf("report: unknown alert kind %q", b)
}

// An Alert is news an administrator must act on, beyond the summary of a
// run: the feed stopped arriving, or a plan waits for approval. A [Watch]
// raises alerts; reporters that implement [Alerter] deliver them.
type Alert struct {
	Kind AlertKind `json:"kind"`
	// Name is the feed's name, Options.Name.
	Name string    `json:"name,omitempty"`
	Time time.Time `json:"time"`
	// Subject is one line, for an email subject or a chat message. It
	// holds no text from the files.
	Subject string `json:"subject"`
	// Message says what happened and what to do, in a few lines.
	Message string `json:"message"`
	// LastFile and LastFileAt are the last new file of a stale feed and
	// when it came (zero if none came since the Watch began); Window is how
	// often one is expected.
	LastFile   string        `json:"last_file,omitempty"`
	LastFileAt time.Time     `json:"last_file_at,omitzero"`
	Window     time.Duration `json:"-"`
	// Summary is the held run, for PlanHeld.
	Summary *Summary `json:"summary,omitempty"`
}

// An Alerter is a Reporter that also delivers alerts. [Text], [Slog],
// [Multi] and mailreport's Mailer are Alerters.
type Alerter interface {
	Alert(ctx context.Context, a *Alert) error
}

// Notify delivers a through r. When r is not an Alerter it fails with an
// error wrapping errors.ErrUnsupported: an alert that reaches nobody must
// not go unnoticed.
func Notify(ctx context.Context, r usersync.Reporter, a *Alert) error {
	al, ok := r.(Alerter)
	if !ok {
		return fmt.Errorf("report: %T does not deliver alerts: %w", r, errors.ErrUnsupported)
	}
	return al.Alert(ctx, a)
}

// prefix starts every subject: "usersync" or "usersync Name".
func prefix(name string) string {
	if name == "" {
		return "usersync"
	}
	return "usersync " + clean(name)
}

// staleAlert says that no new file came for too long.
func staleAlert(name string, now time.Time, st watchState, window time.Duration) *Alert {
	ref := st.reference()
	a := &Alert{Kind: FeedStale, Name: name, Time: now, LastFile: st.LastFile, LastFileAt: st.LastFileAt,
		Window: window}
	a.Subject = fmt.Sprintf("%s: feed stale — no new file for %s", prefix(name), hours(now.Sub(ref)))
	last := "No file has arrived since the watch began, at " + started(st.Since) + "."
	if st.LastFile != "" {
		last = fmt.Sprintf("The last new file was %s, at %s.", clean(st.LastFile), started(st.LastFileAt))
	}
	a.Message = fmt.Sprintf("No new file has arrived for %s; one is expected at least every %s.\n%s\n"+
		"Check that the customer's export still runs and that its upload reaches the folder.",
		hours(now.Sub(ref)), hours(window), last)
	return a
}

// heldAlert says that a plan waits for approval.
func heldAlert(s *Summary, now time.Time) *Alert {
	a := &Alert{Kind: PlanHeld, Name: s.Name, Time: now, Summary: s}
	a.Subject = prefix(s.Name) + ": approval needed — " + outline(s)
	var reasons []string
	for _, g := range s.Guards {
		reasons = append(reasons, g.Reason)
	}
	if len(reasons) == 0 {
		reasons = append(reasons, s.Error)
	}
	a.Message = "A safety guard held the plan of the run started " + started(s.Started) +
		"; nothing was applied.\n" + strings.Join(reasons, "\n") + "\n" +
		"Review the planned changes, then approve the plan to apply them."
	return a
}

// hours says a long duration the way people do: "27 hours", "3 days".
func hours(d time.Duration) string {
	switch h := int(d / time.Hour); {
	case d < time.Hour:
		return count(int(d/time.Minute), "minute")
	case h < 72:
		return count(h, "hour")
	default:
		return count(h/24, "day")
	}
}

// WriteAlertText writes an alert as plain text: its subject, its message,
// and for a held plan the run's summary, as [WriteText] writes it.
func WriteAlertText(w io.Writer, a *Alert) error {
	if a == nil {
		return errors.New("report: WriteAlertText: nil Alert")
	}
	var b strings.Builder
	b.WriteString(clean(a.Subject) + "\n\n")
	for _, l := range strings.Split(a.Message, "\n") {
		b.WriteString(clean(l) + "\n")
	}
	if a.Summary != nil {
		b.WriteString("\n" + text(a.Summary))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteAlertHTML writes an alert as an HTML document, as [WriteHTML] writes
// a summary: its subject, its message in a box, and for a held plan the
// run's summary.
func WriteAlertHTML(w io.Writer, a *Alert) error {
	if a == nil {
		return errors.New("report: WriteAlertHTML: nil Alert")
	}
	v := htmlView{Status: a.Kind.String(), Color: statusColor(usersync.Held)}
	if a.Summary != nil {
		v = newHTMLView(a.Summary)
	}
	v.Headline = clean(a.Subject)
	for _, l := range strings.Split(a.Message, "\n") {
		v.Notice = append(v.Notice, clean(l))
	}
	return writeHTML(w, v)
}

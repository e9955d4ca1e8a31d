// Package mailreport emails the summary of each usersync run, and alerts,
// over SMTP with github.com/wneessen/go-mail.
//
// A [Mailer] is a [usersync.Reporter]: when a run finishes it sends one
// message with the summary as plain text and HTML, and the changes and
// rejected rows as CSV attachments (safe to open in a spreadsheet) and the
// whole summary as a JSON attachment (with the files' SHA-256 and keys,
// which the body leaves out). The subject is the summary's headline, with
// the status and the counts:
//
//	usersync Acme: partly failed — 2 created, 3 updated, 2 failed, 40 unchanged, 1 rejected
//
// The body is written for an administrator reading it on a phone (see
// report.WriteHTML): what to fix first, people by name, updates as old →
// new values. Options.Summary says which attributes are private
// (report.Options.Private) and how to approve a held plan
// (report.Options.ApproveCommand or ApproveURL).
//
// Each [Recipient] chooses what they receive ([Topic]): an HR contact every
// run's summary, IT only the runs that need someone, an approver the
// held-plan alert. The Mailer is also a [report.Alerter], so a
// [report.Watch] delivers its stale-feed alerts through it.
//
// TLS is on by default: STARTTLS, which the server must offer, or implicit
// TLS. The server's certificate is verified, and a password is only sent
// over TLS.
//
// A failed send never fails the sync: the Pipeline keeps the Mailer's error
// in Result.ReportErrors, and the Mailer logs it. A send that failed for a
// temporary reason (the server busy, the connection refused or cut) is tried
// again a few times before the Mailer gives up; nothing a Mailer does can
// make the Pipeline apply anything again. A host that keeps a run history
// (see package history) can send a summary later with [Mailer.Send].
package mailreport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	gomail "github.com/wneessen/go-mail"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
)

// TLSMode says how the connection to the SMTP server is secured.
type TLSMode uint8

// The ways to secure the connection.
const (
	// StartTLS connects in plaintext and upgrades with STARTTLS, which the
	// server must offer (submission, port 587). It is the zero value.
	StartTLS TLSMode = iota
	// ImplicitTLS speaks TLS from the first byte (port 465).
	ImplicitTLS
	// Plaintext uses no TLS at all, for a relay on the same host (port
	// 25). A Mailer refuses to log in over it.
	Plaintext
)

// Defaults of the Options.
const (
	DefaultTimeout   = 30 * time.Second
	DefaultAttempts  = 3
	DefaultRetryWait = 5 * time.Second
	// DefaultMaxCSVRows caps each CSV attachment, so that the first run of
	// a large directory does not make a message that no server accepts.
	DefaultMaxCSVRows = 50000
)

// Options tune a Mailer. A nil *Options means the defaults.
type Options struct {
	// Port is the server's port; 0 means 587 for StartTLS, 465 for
	// ImplicitTLS and 25 for Plaintext.
	Port int
	TLS  TLSMode
	// TLSConfig verifies the server; nil means the system's roots, for the
	// host name given to New.
	TLSConfig *tls.Config
	// Username and Password log in with SMTP AUTH, using the strongest
	// mechanism the server offers. The Password is never logged nor shown
	// in a summary.
	Username, Password string
	// Timeout bounds each attempt to send; 0 means DefaultTimeout.
	Timeout time.Duration
	// Attempts is how often a message is tried when it fails for a
	// temporary reason; 0 means DefaultAttempts. RetryWait is the pause
	// before the second attempt, doubled for each next one; 0 means
	// DefaultRetryWait.
	Attempts  int
	RetryWait time.Duration
	// Summary names the feed and tunes the summary (see report.Options).
	Summary *report.Options
	// CSV tunes the attachments; nil means a UTF-8 byte order mark (for
	// Excel) and DefaultMaxCSVRows. NoAttachments leaves them out.
	CSV           *report.CSVOptions
	NoAttachments bool
	// Logger logs each message that could not be sent; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Topic selects what a Recipient receives: the summaries of runs of some
// statuses, and alerts. Topics combine with |.
type Topic uint16

// The topics.
const (
	OnSucceeded Topic = 1 << iota
	OnPartlyFailed
	OnHeld
	OnFailed
	OnNothingToDo
	OnPlanned
	// OnFeedStale is the alert that no new file came within the window.
	OnFeedStale
	// OnPlanHeld is the alert that a plan waits for approval, for an
	// approver who gets no summaries; a recipient of OnHeld learns it from
	// the held run's summary.
	OnPlanHeld

	// OnProblems is every run that needs someone, and a stale feed: what
	// IT wants.
	OnProblems = OnPartlyFailed | OnHeld | OnFailed | OnFeedStale
	// OnDefault is every run that read a file, and a stale feed: what a
	// Recipient with no topics receives.
	OnDefault = OnSucceeded | OnProblems | OnPlanned
	// OnEverything adds the runs that found nothing to do.
	OnEverything = OnDefault | OnNothingToDo
)

// A Recipient is an address and what it receives.
type Recipient struct {
	// Address is an RFC 5322 address: "it@acme.example" or
	// "Acme IT <it@acme.example>".
	Address string
	// On is what the address receives; 0 means OnDefault.
	On Topic
}

func (r Recipient) wants(t Topic) bool {
	on := r.On
	if on == 0 {
		on = OnDefault
	}
	return on&t != 0
}

// statusTopic is the topic of a run's summary.
func statusTopic(st usersync.Status) Topic {
	switch st {
	case usersync.Succeeded:
		return OnSucceeded
	case usersync.PartlyFailed:
		return OnPartlyFailed
	case usersync.Held:
		return OnHeld
	case usersync.Failed:
		return OnFailed
	case usersync.NothingToDo:
		return OnNothingToDo
	case usersync.Planned:
		return OnPlanned
	}
	return OnFailed // an unknown status is news
}

// alertTopic is the topic of an alert.
func alertTopic(k report.AlertKind) Topic {
	if k == report.PlanHeld {
		return OnPlanHeld
	}
	return OnFeedStale
}

// A Mailer sends summaries and alerts by email. It is safe for concurrent
// use; as a Reporter, it follows one run at a time (see report.Summarize).
type Mailer struct {
	host string
	from string
	to   []Recipient
	opts Options // defaults filled in
	log  *slog.Logger
	sum  usersync.Reporter
}

var (
	_ usersync.Reporter = (*Mailer)(nil)
	_ report.Alerter    = (*Mailer)(nil)
)

// New returns a Mailer that sends through the SMTP server at host, from the
// address from, to the recipients to.
func New(host, from string, to []Recipient, opts *Options) (*Mailer, error) {
	m := &Mailer{host: host, from: from, to: to}
	if opts != nil {
		m.opts = *opts
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	m.defaults()
	m.sum = report.Summarize(m.Send, m.opts.Summary)
	return m, nil
}

func (m *Mailer) validate() error {
	if m.host == "" {
		return errors.New("mailreport: no SMTP host")
	}
	if _, err := mail.ParseAddress(m.from); err != nil {
		return fmt.Errorf("mailreport: sender %q: %w", m.from, err)
	}
	if len(m.to) == 0 {
		return errors.New("mailreport: no recipient")
	}
	for _, r := range m.to {
		if _, err := mail.ParseAddress(r.Address); err != nil {
			return fmt.Errorf("mailreport: recipient %q: %w", r.Address, err)
		}
	}
	if m.opts.TLS == Plaintext && m.opts.Username != "" {
		return errors.New("mailreport: refusing to log in over a plaintext connection; use StartTLS or ImplicitTLS")
	}
	if m.opts.TLS > Plaintext {
		return fmt.Errorf("mailreport: unknown TLS mode %d", m.opts.TLS)
	}
	return nil
}

// defaults fills in the options left zero, and makes sure the password is
// redacted from summaries and logs.
func (m *Mailer) defaults() {
	o := &m.opts
	if o.Port == 0 {
		o.Port = [...]int{StartTLS: 587, ImplicitTLS: 465, Plaintext: 25}[o.TLS]
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Attempts <= 0 {
		o.Attempts = DefaultAttempts
	}
	if o.RetryWait <= 0 {
		o.RetryWait = DefaultRetryWait
	}
	if o.CSV == nil {
		o.CSV = &report.CSVOptions{BOM: true, MaxRows: DefaultMaxCSVRows}
	}
	if o.Password != "" {
		sum := report.Options{}
		if o.Summary != nil {
			sum = *o.Summary
		}
		sum.Secrets = append(append([]string(nil), sum.Secrets...), o.Password)
		o.Summary = &sum
	}
	m.log = o.Logger
	if m.log == nil {
		m.log = slog.Default()
	}
	if o.Password != "" {
		m.log = slog.New(report.RedactSecrets(m.log.Handler(), o.Password))
	}
}

// Report sends the summary of each run when it finishes, to the recipients
// of its status.
func (m *Mailer) Report(ctx context.Context, e usersync.Event) error { return m.sum.Report(ctx, e) }

// Send mails s to the recipients of its status; with none, it sends
// nothing.
func (m *Mailer) Send(ctx context.Context, s *report.Summary) error {
	to := m.recipients(statusTopic(s.Status))
	if len(to) == 0 {
		return nil
	}
	msg, err := m.summaryMessage(s, to)
	if err != nil {
		return err
	}
	return m.deliver(ctx, msg, s.Headline, to)
}

// WriteMessage writes the email Send would send for s, in RFC 5322 form, to
// the recipients of its status: for a preview, or for another transport.
func (m *Mailer) WriteMessage(w io.Writer, s *report.Summary) error {
	msg, err := m.summaryMessage(s, m.recipients(statusTopic(s.Status)))
	if err != nil {
		return err
	}
	_, err = msg.WriteTo(w)
	return err
}

// Alert mails a to the recipients of its kind.
func (m *Mailer) Alert(ctx context.Context, a *report.Alert) error {
	to := m.recipients(alertTopic(a.Kind))
	if len(to) == 0 {
		return nil
	}
	msg, err := m.alertMessage(a, to)
	if err != nil {
		return err
	}
	return m.deliver(ctx, msg, a.Subject, to)
}

func (m *Mailer) recipients(t Topic) []string {
	var to []string
	for _, r := range m.to {
		if r.wants(t) {
			to = append(to, r.Address)
		}
	}
	return to
}

// deliver sends msg, trying again after a temporary failure, and logs the
// failure when it gives up.
func (m *Mailer) deliver(ctx context.Context, msg *gomail.Msg, subject string, to []string) error {
	attempts := 0
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		attempts++
		err := m.send(ctx, msg)
		if err != nil && !temporary(err) {
			err = backoff.Permanent(err)
		}
		return struct{}{}, err
	}, backoff.WithBackOff(m.backOff()), backoff.WithMaxTries(uint(m.opts.Attempts)), backoff.WithMaxElapsedTime(0))
	if err == nil {
		return nil
	}
	err = &SendError{Subject: subject, To: to, Attempts: attempts, Err: err}
	m.log.ErrorContext(ctx, "usersync: email not sent", "subject", subject, "recipients", len(to),
		"attempts", attempts, "err", err)
	return err
}

func (m *Mailer) backOff() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.Multiplier, b.RandomizationFactor = m.opts.RetryWait, 2, 0
	b.MaxInterval = 16 * m.opts.RetryWait
	return b
}

// send makes one attempt, on a connection of its own.
func (m *Mailer) send(ctx context.Context, msg *gomail.Msg) error {
	c, err := gomail.NewClient(m.host, m.clientOptions()...)
	if err != nil {
		return err
	}
	return c.DialAndSendWithContext(ctx, msg)
}

func (m *Mailer) clientOptions() []gomail.Option {
	o := &m.opts
	tc := o.TLSConfig
	if tc == nil {
		tc = &tls.Config{ServerName: m.host, MinVersion: tls.VersionTLS12}
	} else if tc.ServerName == "" {
		tc = tc.Clone()
		tc.ServerName = m.host
	}
	opts := []gomail.Option{gomail.WithPort(o.Port), gomail.WithTimeout(o.Timeout), gomail.WithTLSConfig(tc)}
	switch o.TLS {
	case StartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case ImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case Plaintext:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if o.Username != "" {
		// Auto-discovery picks the strongest mechanism offered, and never
		// a plaintext one (PLAIN, LOGIN) without TLS.
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(o.Username), gomail.WithPassword(o.Password))
	}
	return opts
}

// temporary reports whether err may pass if tried again: a 4xx reply, or
// the network (refused, reset, timed out). A 5xx reply, a failed login or a
// certificate that does not verify will not.
func temporary(err error) bool {
	var se *gomail.SendError
	if errors.As(err, &se) {
		return se.IsTemp()
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 400 && te.Code < 500
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// A SendError is an email that could not be sent.
type SendError struct {
	Subject  string
	To       []string
	Attempts int
	Err      error
}

// Error says which email failed, how often it was tried, and why.
func (e *SendError) Error() string {
	return fmt.Sprintf("mailreport: %q to %s not sent after %d %s: %v", e.Subject, strings.Join(e.To, ", "),
		e.Attempts, plural(e.Attempts, "attempt"), e.Err)
}

// Unwrap returns the reason.
func (e *SendError) Unwrap() error { return e.Err }

func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}

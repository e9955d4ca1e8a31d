package mailreport

import (
	"bytes"
	"io"
	"net/textproto"

	gomail "github.com/wneessen/go-mail"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
)

// summaryMessage makes the email of a run: the summary as text and HTML
// alternatives, and the CSV attachments.
func (m *Mailer) summaryMessage(s *report.Summary, to []string) (*gomail.Msg, error) {
	var text, html bytes.Buffer
	if err := report.WriteText(&text, s); err != nil {
		return nil, err
	}
	if err := report.WriteHTML(&html, s); err != nil {
		return nil, err
	}
	msg, err := m.message(s.Headline, to, urgent(s.Status), text.String(), html.String())
	if err != nil {
		return nil, err
	}
	msg.SetGenHeader("X-Usersync-Status", s.Status.String())
	if !m.opts.NoAttachments {
		msg.SetAttachments(m.attachments(s))
	}
	return msg, nil
}

// alertMessage makes the email of an alert.
func (m *Mailer) alertMessage(a *report.Alert, to []string) (*gomail.Msg, error) {
	var text, html bytes.Buffer
	if err := report.WriteAlertText(&text, a); err != nil {
		return nil, err
	}
	if err := report.WriteAlertHTML(&html, a); err != nil {
		return nil, err
	}
	msg, err := m.message(a.Subject, to, true, text.String(), html.String())
	if err != nil {
		return nil, err
	}
	msg.SetGenHeader("X-Usersync-Alert", a.Kind.String())
	return msg, nil
}

// message makes a message with a text and an HTML body. go-mail encodes a
// subject that is not plain ASCII (the headline's dash, a customer's name)
// as RFC 2047 words.
func (m *Mailer) message(subject string, to []string, important bool, text, html string) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(m.from); err != nil {
		return nil, err
	}
	if len(to) > 0 {
		if err := msg.To(to...); err != nil {
			return nil, err
		}
	}
	msg.Subject(subject)
	msg.SetDate()
	msg.SetMessageID()
	// RFC 3834: no vacation replies to a machine's report.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	if important {
		msg.SetImportance(gomail.ImportanceHigh)
	}
	msg.SetBodyString(gomail.TypeTextPlain, text)
	msg.AddAlternativeString(gomail.TypeTextHTML, html)
	return msg, nil
}

// urgent reports whether a run needs someone.
func urgent(st usersync.Status) bool {
	return st == usersync.PartlyFailed || st == usersync.Held || st == usersync.Failed
}

// attachments are the changes and the rejected rows as CSV files, and the
// summary as JSON, written straight into the message as it is sent, when
// there are any.
func (m *Mailer) attachments(s *report.Summary) []*gomail.File {
	date := ""
	if !s.Started.IsZero() {
		date = "-" + s.Started.UTC().Format("2006-01-02")
	}
	var files []*gomail.File
	changes := 0
	for _, l := range s.Changes {
		changes += l.Total
	}
	if changes > 0 {
		files = append(files, csvFile("changes"+date+".csv", func(w io.Writer) error {
			return report.WriteChangesCSV(w, s, m.opts.CSV)
		}))
	}
	if s.Rejected.Total > 0 {
		files = append(files, csvFile("rejected-rows"+date+".csv", func(w io.Writer) error {
			return report.WriteRejectedCSV(w, s, m.opts.CSV)
		}))
	}
	// The whole summary, with what the body leaves out: each file's SHA-256
	// and the key that decrypted it, for an audit or a support ticket.
	if len(s.Files) > 0 {
		f := csvFile("summary"+date+".json", func(w io.Writer) error { return report.WriteJSON(w, s) })
		f.ContentType = "application/json"
		files = append(files, f)
	}
	return files
}

// csvFile is an attachment that write makes each time the message is
// written, so that it is never held in memory whole.
func csvFile(name string, write func(io.Writer) error) *gomail.File {
	return &gomail.File{
		Name:        name,
		ContentType: "text/csv; charset=utf-8",
		Header:      textproto.MIMEHeader{},
		Writer: func(w io.Writer) (int64, error) {
			cw := &countingWriter{w: w}
			err := write(cw)
			return cw.n, err
		},
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

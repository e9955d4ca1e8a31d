package mailreport_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/smtptest"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/report/internal/testruns"
	"github.com/usersync/usersync/report/mailreport"
	"github.com/usersync/usersync/report/reporttest"
)

const (
	user     = "usersync@acme.example"
	password = "s3cret-Pa55word!"
	from     = "usersync <usersync@acme.example>"
)

var start = time.Date(2025, 3, 4, 2, 0, 0, 0, time.UTC)

// options returns Options for srv: its port, a TLS config that trusts it,
// its credentials, quick retries, and a logger writing to logs.
func options(srv *smtptest.Server, logs *bytes.Buffer) *mailreport.Options {
	return &mailreport.Options{
		Port:      srv.Port,
		TLSConfig: srv.ClientTLS,
		Username:  user,
		Password:  password,
		Timeout:   5 * time.Second,
		RetryWait: time.Millisecond,
		Summary:   &report.Options{Name: "Åby skola"},
		Logger:    slog.New(slog.NewJSONHandler(logs, nil)),
	}
}

// A parsed is an email taken apart as a mail client would.
type parsed struct {
	header      mail.Header
	subject     string
	text, html  string
	attachments map[string][]byte
}

// parse reads a message with net/mail and mime/multipart, decoding the
// subject's RFC 2047 words and each part's transfer encoding.
func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	require.NoError(t, err)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	p := parsed{header: msg.Header, subject: subject, attachments: map[string][]byte{}}
	p.walk(t, msg.Header.Get("Content-Type"), "", msg.Body)
	return p
}

func (p *parsed) walk(t *testing.T, contentType, disposition string, body io.Reader) {
	t.Helper()
	media, params, err := mime.ParseMediaType(contentType)
	require.NoError(t, err, contentType)
	if strings.HasPrefix(media, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				return
			}
			require.NoError(t, err)
			data := decode(t, part.Header.Get("Content-Transfer-Encoding"), part)
			p.walk(t, part.Header.Get("Content-Type"), part.Header.Get("Content-Disposition"), bytes.NewReader(data))
		}
	}
	data, err := io.ReadAll(body)
	require.NoError(t, err)
	if _, dp, err := mime.ParseMediaType(disposition); err == nil && strings.HasPrefix(disposition, "attachment") {
		p.attachments[dp["filename"]] = data
		return
	}
	switch media {
	case "text/plain":
		p.text = string(data)
	case "text/html":
		p.html = string(data)
	}
}

func decode(t *testing.T, encoding string, r io.Reader) []byte {
	t.Helper()
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	data, err := io.ReadAll(r)
	require.NoError(t, err)
	return data
}

// TestSummaryEndToEnd sends the summary of a real run through an SMTP
// server that requires STARTTLS (with a self-signed certificate) and AUTH,
// and reads the message back as a mail client would.
func TestSummaryEndToEnd(t *testing.T) {
	srv := smtptest.Start(t, &smtptest.Options{Username: user, Password: password})
	var logs bytes.Buffer
	m, err := mailreport.New("127.0.0.1", from, []mailreport.Recipient{
		{Address: "HR <hr@acme.example>"},
		{Address: "it@acme.example", On: mailreport.OnProblems},
		{Address: "ceo@acme.example", On: mailreport.OnSucceeded},
	}, options(srv, &logs))
	require.NoError(t, err)

	runs := testruns.New(t, start)
	res := runs.Run(m, testruns.Night{Feed: testruns.Nightly, Fail: []string{"E1002"}})
	require.Equal(t, usersync.PartlyFailed, res.Status, "%v", res.Err)
	require.Empty(t, res.ReportErrors)
	assert.Empty(t, logs.String(), "nothing to log when the mail goes out")

	msgs := srv.Messages()
	require.Len(t, msgs, 1)
	got := msgs[0]
	assert.True(t, got.TLS, "sent after STARTTLS")
	assert.Equal(t, user, got.User, "logged in")
	assert.Equal(t, "usersync@acme.example", got.From)
	assert.Equal(t, []string{"hr@acme.example", "it@acme.example"}, got.To, "the CEO gets successes only")

	p := parse(t, got.Data)
	s := report.NewSummary(res, &report.Options{Name: "Åby skola"})
	assert.Equal(t, s.Headline, p.subject)
	assert.Contains(t, p.subject, "usersync Åby skola: partly failed — ")
	assert.Regexp(t, `(?i)^=\?utf-8\?[QB]\?`, p.header.Get("Subject"), "the subject is RFC 2047 encoded")
	assert.Equal(t, "auto-generated", p.header.Get("Auto-Submitted"))
	assert.Equal(t, "partly failed", p.header.Get("X-Usersync-Status"))
	assert.Equal(t, "1", p.header.Get("X-Priority"), "a run that needs someone is important")

	text := strings.ReplaceAll(p.text, "\r\n", "\n")
	assert.True(t, strings.HasPrefix(text, s.Headline+"\n\nStarted   2025-03-04 02:00:01 UTC\n"), text)
	assert.Contains(t, text, "\nDuration  10s (read 2s, plan 1s, apply 6s)\n", "timed from the events")
	assert.Contains(t, text, "\nCreated (3 of 4)\n")
	assert.Contains(t, text, "\n  Carl Carlsson ("+testruns.Script+")\n", "text shows the name, and the key as it is")
	assert.Contains(t, text, "\n  users.csv:5: column Mail: \""+testruns.Formula+"\": ")

	assert.Contains(t, p.html, "<!DOCTYPE html>")
	assert.Contains(t, p.html, "&lt;script&gt;alert(1)&lt;/script&gt;")
	assert.NotContains(t, p.html, "<script")
	assert.Contains(t, p.html, "Ann Andersson (E1001)", "people by name and ID")
	assert.NotContains(t, p.html, "SHA-256", "no hashes in the body")

	require.Contains(t, p.attachments, "changes-2025-03-04.csv")
	require.Contains(t, p.attachments, "rejected-rows-2025-03-04.csv")
	changes := readCSV(t, p.attachments["changes-2025-03-04.csv"])
	assert.Equal(t, []string{"kind", "key", "old_key", "label", "attributes", "joins", "leaves", "outcome", "error"}, changes[0])
	assert.Contains(t, changes, []string{"create", "E1002", "", "", "", "Sales", "", "failed", "the directory refused E1002"})
	require.Contains(t, p.attachments, "summary-2025-03-04.json", "hashes are kept in the JSON attachment")
	assert.Regexp(t, `"sha256": "[0-9a-f]{64}"`, p.attachments["summary-2025-03-04.json"])
	rejected := readCSV(t, p.attachments["rejected-rows-2025-03-04.csv"])
	require.Len(t, rejected, 2)
	assert.Equal(t, "'"+testruns.Formula, rejected[1][3], "the formula is neutralised")
}

// readCSV parses an attachment, which starts with a byte order mark for
// Excel.
func readCSV(t *testing.T, data []byte) [][]string {
	t.Helper()
	rest, ok := bytes.CutPrefix(data, []byte("\uFEFF"))
	require.True(t, ok, "the CSV starts with a BOM")
	rows, err := csv.NewReader(bytes.NewReader(rest)).ReadAll()
	require.NoError(t, err)
	return rows
}

func TestImplicitTLS(t *testing.T) {
	srv := smtptest.Start(t, &smtptest.Options{ImplicitTLS: true, Username: user, Password: password})
	var logs bytes.Buffer
	opts := options(srv, &logs)
	opts.TLS = mailreport.ImplicitTLS
	m, err := mailreport.New("127.0.0.1", from, []mailreport.Recipient{
		{Address: "hr@acme.example"},
		{Address: "it@acme.example", On: mailreport.OnProblems},
	}, opts)
	require.NoError(t, err)

	res := testruns.New(t, start).Run(m, testruns.Night{Feed: testruns.Feed(3)})
	require.Equal(t, usersync.Succeeded, res.Status)
	require.Empty(t, res.ReportErrors)
	msgs := srv.Messages()
	require.Len(t, msgs, 1)
	assert.True(t, msgs[0].TLS)
	assert.Equal(t, []string{"hr@acme.example"}, msgs[0].To, "IT gets problems only")
	p := parse(t, msgs[0].Data)
	assert.Empty(t, p.header.Get("X-Priority"), "a success is not urgent")
	assert.Contains(t, p.attachments, "changes-2025-03-04.csv")
	assert.NotContains(t, p.attachments, "rejected-rows-2025-03-04.csv", "no rejected rows, no attachment")
}

// TestNoRecipientForStatus checks that a run nobody asked for sends
// nothing.
func TestNoRecipientForStatus(t *testing.T) {
	srv := smtptest.Start(t, &smtptest.Options{Username: user, Password: password})
	var logs bytes.Buffer
	m, err := mailreport.New("127.0.0.1", from, []mailreport.Recipient{{Address: "hr@acme.example"}},
		options(srv, &logs))
	require.NoError(t, err)
	res := testruns.New(t, start).Run(m, testruns.Night{})
	require.Equal(t, usersync.NothingToDo, res.Status)
	assert.Empty(t, res.ReportErrors)
	assert.Empty(t, srv.Messages(), "OnDefault leaves out runs that found nothing")
}

// TestWrongPassword checks that a failed login is reported to the host and
// logged, is not tried again, never fails the run, and never shows the
// password.
func TestWrongPassword(t *testing.T) {
	srv := smtptest.Start(t, &smtptest.Options{Username: user, Password: "the right one"})
	var logs bytes.Buffer
	m, err := mailreport.New("127.0.0.1", from, []mailreport.Recipient{{Address: "hr@acme.example"}},
		options(srv, &logs))
	require.NoError(t, err)

	res := testruns.New(t, start).Run(m, testruns.Night{Feed: testruns.Feed(3)})
	assert.Equal(t, usersync.Succeeded, res.Status, "a failed email does not fail the sync")
	assert.NoError(t, res.Err)
	require.Len(t, res.ReportErrors, 1)
	var se *mailreport.SendError
	require.ErrorAs(t, res.ReportErrors[0], &se)
	assert.Equal(t, 1, se.Attempts, "a refused login is not tried again")
	assert.Contains(t, se.Error(), "535")
	assert.Empty(t, srv.Messages())

	assert.Contains(t, logs.String(), `"msg":"usersync: email not sent"`)
	assert.Contains(t, logs.String(), `"attempts":1`)
	for _, out := range []string{logs.String(), res.ReportErrors[0].Error()} {
		assert.NotContains(t, out, password)
	}
}

// TestTemporaryFailureRetried checks that a 4xx reply is tried again.
func TestTemporaryFailureRetried(t *testing.T) {
	srv := smtptest.Start(t, &smtptest.Options{Username: user, Password: password, Reject: func(n int) error {
		if n == 1 {
			return smtptest.Temporary()
		}
		return nil
	}})
	var logs bytes.Buffer
	m, err := mailreport.New("127.0.0.1", from, []mailreport.Recipient{{Address: "hr@acme.example"}},
		options(srv, &logs))
	require.NoError(t, err)
	res := testruns.New(t, start).Run(m, testruns.Night{Feed: testruns.Feed(3)})
	assert.Empty(t, res.ReportErrors)
	assert.Len(t, srv.Messages(), 1, "the second attempt went through")
	assert.Empty(t, logs.String())
}

// TestServerDown checks that a server that is not there costs a few
// attempts and an error, and nothing else.
func TestServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close()) // nothing listens there now

	var logs bytes.Buffer
	m, err := mailreport.New("127.0.0.1", from, []mailreport.Recipient{{Address: "hr@acme.example"}},
		&mailreport.Options{Port: port, Attempts: 3, RetryWait: time.Millisecond,
			Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	require.NoError(t, err)
	res := testruns.New(t, start).Run(m, testruns.Night{Feed: testruns.Feed(3)})
	assert.Equal(t, usersync.Succeeded, res.Status)
	require.Len(t, res.ReportErrors, 1)
	var se *mailreport.SendError
	require.ErrorAs(t, res.ReportErrors[0], &se)
	assert.Equal(t, 3, se.Attempts)
	var ne net.Error
	assert.ErrorAs(t, se, &ne)
	assert.Contains(t, logs.String(), `"attempts":3`)
}

// TestUntrustedCertificate checks that a server whose certificate does not
// verify gets nothing: not the password, not the report.
func TestUntrustedCertificate(t *testing.T) {
	for _, mode := range []mailreport.TLSMode{mailreport.StartTLS, mailreport.ImplicitTLS} {
		srv := smtptest.Start(t, &smtptest.Options{ImplicitTLS: mode == mailreport.ImplicitTLS,
			Username: user, Password: password})
		var logs bytes.Buffer
		opts := options(srv, &logs)
		opts.TLS, opts.TLSConfig = mode, nil // the system roots do not know the test's certificate
		m, err := mailreport.New("127.0.0.1", from, []mailreport.Recipient{{Address: "hr@acme.example"}}, opts)
		require.NoError(t, err)
		err = m.Send(context.Background(), report.NewSummary(&usersync.Result{Status: usersync.Succeeded}, nil))
		var se *mailreport.SendError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, 1, se.Attempts, "a certificate that does not verify is not tried again")
		assert.ErrorContains(t, err, "certificate")
		assert.Empty(t, srv.Messages())
	}
}

// TestStartTLSRequired checks that a server that does not offer STARTTLS
// gets neither the password nor the report.
func TestStartTLSRequired(t *testing.T) {
	srv := smtptest.Start(t, &smtptest.Options{NoTLS: true, Username: user, Password: password})
	var logs bytes.Buffer
	m, err := mailreport.New("127.0.0.1", from, []mailreport.Recipient{{Address: "hr@acme.example"}},
		options(srv, &logs))
	require.NoError(t, err)
	err = m.Send(context.Background(), report.NewSummary(&usersync.Result{Status: usersync.Succeeded}, nil))
	assert.ErrorContains(t, err, "STARTTLS")
	assert.Empty(t, srv.Messages())
}

// TestPlaintextRelay sends through a relay on the same host, without TLS
// and without logging in.
func TestPlaintextRelay(t *testing.T) {
	srv := smtptest.Start(t, &smtptest.Options{NoTLS: true})
	m, err := mailreport.New("127.0.0.1", from, []mailreport.Recipient{{Address: "hr@acme.example"}},
		&mailreport.Options{Port: srv.Port, TLS: mailreport.Plaintext})
	require.NoError(t, err)
	require.NoError(t, m.Send(context.Background(), report.NewSummary(&usersync.Result{Status: usersync.Succeeded}, nil)))
	msgs := srv.Messages()
	require.Len(t, msgs, 1)
	assert.False(t, msgs[0].TLS)
}

func TestNewValidates(t *testing.T) {
	ok := []mailreport.Recipient{{Address: "hr@acme.example"}}
	for name, tc := range map[string]struct {
		host, from string
		to         []mailreport.Recipient
		opts       *mailreport.Options
		err        string
	}{
		"no host":        {"", from, ok, nil, "no SMTP host"},
		"bad sender":     {"smtp.acme.example", "not an address", ok, nil, "sender"},
		"no recipient":   {"smtp.acme.example", from, nil, nil, "no recipient"},
		"bad recipient":  {"smtp.acme.example", from, []mailreport.Recipient{{Address: "hr@"}}, nil, "recipient"},
		"plaintext auth": {"smtp.acme.example", from, ok, &mailreport.Options{TLS: mailreport.Plaintext, Username: "u", Password: "p"}, "plaintext"},
		"bad TLS mode":   {"smtp.acme.example", from, ok, &mailreport.Options{TLS: 7}, "TLS mode"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := mailreport.New(tc.host, tc.from, tc.to, tc.opts)
			assert.ErrorContains(t, err, tc.err)
		})
	}
}

// TestAlerts sends the alerts of a Watch: a stale feed to who wants it,
// and a held plan to its approver.
func TestAlerts(t *testing.T) {
	srv := smtptest.Start(t, &smtptest.Options{Username: user, Password: password})
	var logs bytes.Buffer
	m, err := mailreport.New("127.0.0.1", from, []mailreport.Recipient{
		{Address: "hr@acme.example", On: mailreport.OnSucceeded},
		{Address: "it@acme.example", On: mailreport.OnProblems},
		{Address: "approver@acme.example", On: mailreport.OnPlanHeld},
	}, options(srv, &logs))
	require.NoError(t, err)

	runs := testruns.New(t, start)
	clock := start
	w := report.NewWatch(&usersync.MemStore{}, m, &report.WatchOptions{
		Summary: &report.Options{Name: "Acme"}, Now: func() time.Time { return clock }})
	res := runs.Run(w, testruns.Night{Feed: testruns.Feed(100)})
	require.Equal(t, usersync.Succeeded, res.Status)
	assert.Empty(t, srv.Messages(), "the Watch itself mails no summary")

	// The next night, 90 of the 100 users are gone: the guard holds.
	clock = clock.Add(24 * time.Hour)
	res = runs.Run(w, testruns.Night{Feed: testruns.Feed(10)})
	require.Equal(t, usersync.Held, res.Status)
	require.Empty(t, res.ReportErrors)
	msgs := srv.Messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, []string{"approver@acme.example"}, msgs[0].To)
	p := parse(t, msgs[0].Data)
	assert.Equal(t, "plan-held", p.header.Get("X-Usersync-Alert"))
	assert.Contains(t, p.subject, "usersync Acme: approval needed — nothing applied; plan: 90 to deactivate")
	assert.Contains(t, p.text, "A safety guard held the plan")
	assert.Contains(t, p.text, "To deactivate (90)", "the held run's summary follows")
	assert.Contains(t, p.html, "To deactivate (90)")

	// Then no file comes for two days.
	clock = clock.Add(50 * time.Hour)
	require.NoError(t, w.Check(context.Background()))
	msgs = srv.Messages()
	require.Len(t, msgs, 2)
	assert.Equal(t, []string{"it@acme.example"}, msgs[1].To)
	p = parse(t, msgs[1].Data)
	assert.Equal(t, "feed-stale", p.header.Get("X-Usersync-Alert"))
	assert.Equal(t, "usersync Acme: feed stale — no new file for 50 hours", p.subject)
	assert.Contains(t, p.text, "The last new file was users.csv")
	assert.Contains(t, p.html, "The last new file was users.csv")
}

// TestConcurrentSends checks that one Mailer sends from many goroutines.
func TestConcurrentSends(t *testing.T) {
	srv := smtptest.Start(t, &smtptest.Options{Username: user, Password: password})
	var logs bytes.Buffer
	m, err := mailreport.New("127.0.0.1", from, []mailreport.Recipient{{Address: "hr@acme.example"}},
		options(srv, &logs))
	require.NoError(t, err)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			errs <- m.Send(context.Background(), report.NewSummary(&usersync.Result{Status: usersync.Succeeded}, nil))
		}()
	}
	for range 8 {
		assert.NoError(t, <-errs)
	}
	assert.Len(t, srv.Messages(), 8)
}

// TestSendErrorUnwraps checks that the reason of a SendError is there for
// errors.Is.
func TestSendErrorUnwraps(t *testing.T) {
	cause := errors.New("boom")
	err := &mailreport.SendError{Subject: "s", To: []string{"a@b.example"}, Attempts: 2, Err: cause}
	assert.ErrorIs(t, err, cause)
	assert.Equal(t, `mailreport: "s" to a@b.example not sent after 2 attempts: boom`, err.Error())
}

func TestReporterConformance(t *testing.T) {
	reporttest.Run(t, func(t *testing.T) usersync.Reporter {
		srv := smtptest.Start(t, &smtptest.Options{Username: user, Password: password})
		var logs bytes.Buffer
		m, err := mailreport.New("127.0.0.1", from, []mailreport.Recipient{{Address: "hr@acme.example",
			On: mailreport.OnEverything | mailreport.OnPlanHeld}}, options(srv, &logs))
		require.NoError(t, err)
		return m
	})
}

package mailreport_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/smtptest"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/report/history"
	"github.com/usersync/usersync/report/mailreport"
	"github.com/usersync/usersync/sink/memsink"
)

// brokenSource fails as an SFTP source whose error names its URL, with the
// password a careless driver put in it, and a key's passphrase.
type brokenSource struct{ err error }

func (s brokenSource) List(context.Context) ([]usersync.FileInfo, error) { return nil, s.err }
func (s brokenSource) Open(context.Context, string) (io.ReadCloser, error) {
	return nil, s.err
}
func (brokenSource) Close() error { return nil }

// usersyncMapper is a Mapper the test never reaches.
type usersyncMapper struct{}

func (usersyncMapper) NewReader(io.Reader, usersync.FileInfo) (usersync.RecordReader, error) {
	return nil, io.ErrUnexpectedEOF
}

// TestSecretsNeverLeak is the log-scrape test: the secrets of a host's
// configuration (SMTP and SFTP passwords, a key's passphrase) appear in no
// log line, summary, email, history entry or reporter error, even when a
// run fails on an error that holds them and an email fails to go out.
func TestSecretsNeverLeak(t *testing.T) {
	const sftpPassword, passphrase = "sftp-Hunter2", "correct horse battery staple"
	secrets := []string{password, sftpPassword, passphrase}
	summary := &report.Options{Name: "Acme", Secrets: []string{sftpPassword, passphrase}}

	srv := smtptest.Start(t, &smtptest.Options{Username: user, Password: password})
	var logs bytes.Buffer
	logger := slog.New(report.RedactSecrets(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}),
		secrets...))
	opts := options(srv, &logs)
	opts.Summary, opts.Logger = summary, logger
	good, err := mailreport.New("127.0.0.1", from, []mailreport.Recipient{{Address: "it@acme.example"}}, opts)
	require.NoError(t, err)
	badOpts := *opts
	badOpts.Password = password + "-but-wrong" // a failed login, logged
	bad, err := mailreport.New("127.0.0.1", from, []mailreport.Recipient{{Address: "it@acme.example"}}, &badOpts)
	require.NoError(t, err)

	var text bytes.Buffer
	hist := history.NewFile(filepath.Join(t.TempDir(), "history.jsonl"))
	p := usersync.Pipeline{
		Source: brokenSource{fmt.Errorf("dial sftp://acme:%s@127.0.0.1:2222/out: key %q: handshake failed",
			sftpPassword, "passphrase "+passphrase)},
		// The run fails before it needs these.
		Mapper:     usersyncMapper{},
		Reconciler: reconcile.New(nil),
		Sink:       memsink.New(),
		Reporter: report.Multi(
			report.Slog(logger),
			report.Summarize(func(_ context.Context, s *report.Summary) error { return report.WriteText(&text, s) }, summary),
			history.Reporter(hist, summary),
			good,
			bad,
		),
	}
	res, err := p.Run(context.Background())
	require.Error(t, err)
	require.Len(t, res.ReportErrors, 1, "the bad login")

	msgs := srv.Messages()
	require.Len(t, msgs, 1)
	entries, err := hist.Query(context.Background(), history.Query{})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	var entry bytes.Buffer
	require.NoError(t, report.WriteJSON(&entry, entries[0].Summary))

	outputs := map[string]string{
		"logs":          logs.String(),
		"text":          text.String(),
		"email":         string(msgs[0].Data),
		"history":       entry.String(),
		"report errors": fmt.Sprint(res.ReportErrors),
	}
	for name, out := range outputs {
		require.NotEmpty(t, out, name)
		for _, s := range secrets {
			assert.NotContains(t, out, s, "%s shows a secret", name)
		}
	}
	assert.Contains(t, text.String(), "sftp://acme:[REDACTED]@127.0.0.1:2222/out")
	assert.Contains(t, logs.String(), `sftp://acme:[REDACTED]@127.0.0.1:2222/out`)
	assert.Contains(t, logs.String(), `"msg":"usersync: email not sent"`)
	assert.True(t, strings.Contains(logs.String(), `"event":"run-finished"`))
}

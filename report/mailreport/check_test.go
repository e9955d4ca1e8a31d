package mailreport_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/internal/smtptest"
	"github.com/usersync/usersync/report/mailreport"
)

func TestCheck(t *testing.T) {
	ctx := context.Background()
	srv := smtptest.Start(t, &smtptest.Options{Username: user, Password: password})
	var logs bytes.Buffer
	to := []mailreport.Recipient{{Address: "it@acme.example"}}

	m, err := mailreport.New(srv.Host, from, to, options(srv, &logs))
	require.NoError(t, err)
	res := m.Check(ctx)
	require.Len(t, res, 1)
	require.NoError(t, res[0].Err)
	assert.Contains(t, res[0].Detail, "STARTTLS")
	assert.Contains(t, res[0].Detail, "logged in as "+user)
	assert.Empty(t, srv.Messages(), "a check sends nothing")

	opts := options(srv, &logs)
	opts.Password = "wrong-password"
	m, err = mailreport.New(srv.Host, from, to, opts)
	require.NoError(t, err)
	res = m.Check(ctx)
	require.Error(t, res[0].Err, "a wrong password fails the check")
	assert.NotContains(t, res[0].Err.Error(), "wrong-password")

	opts = options(srv, &logs)
	opts.TLSConfig = nil // the system's roots do not trust the test's certificate
	m, err = mailreport.New(srv.Host, from, to, opts)
	require.NoError(t, err)
	res = m.Check(ctx)
	require.Error(t, res[0].Err, "an untrusted certificate fails the check")
	assert.True(t, strings.Contains(res[0].Err.Error(), "certificate"), res[0].Err.Error())
}

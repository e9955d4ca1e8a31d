package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/internal/ftptest"
)

// ftpFixture is a fixture whose source is the in-process FTPS server
// (explicit TLS, session reuse required), trusted through a CA file.
func ftpFixture(t *testing.T, opts *ftptest.Options) (*fixture, *ftptest.Server) {
	f := newFixture(t)
	o := ftptest.Options{Password: "ftp-Passw0rd-1"} // 8 characters or more, as the command wants
	if opts != nil {
		o = *opts
		if o.Password == "" {
			o.Password = "ftp-Passw0rd-1"
		}
	}
	srv := ftptest.NewServer(t, &o)
	host, port, _ := strings.Cut(srv.Addr, ":")
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, "ftp-ca.pem"), srv.CertificatePEM, 0o600))
	f.env["FTP_PASSWORD"] = srv.Password()
	f.source = fmt.Sprintf(`source:
  ftp:
    host: %s
    port: %s
    user: %s
    password_env: FTP_PASSWORD
    ca_file: ftp-ca.pem
    connect_timeout: 10s
  pattern: "users*.csv"
`, host, port, srv.User())
	return f, srv
}

func TestRunOverFTPS(t *testing.T) {
	f, srv := ftpFixture(t, nil)
	require.NoError(t, srv.Put("users.csv", users(1, 4), time.Now().Add(-time.Hour)))

	r := f.run("check", "--json")
	require.Equal(t, exitOK, r.code, r)
	out := r.decode(t)
	res, _, _ := findStep(t, out, "mapping", "header line of users.csv")
	assert.Equal(t, "pass", res)

	r = f.run("run", "--json")
	require.Equal(t, exitOK, r.code, r)
	assert.Equal(t, 4, r.decode(t).Summary.Counts.Applied.Created)
}

func TestCheckFTPSCertificateNotTrusted(t *testing.T) {
	f, srv := ftpFixture(t, nil)
	require.NoError(t, srv.Put("users.csv", users(1, 1), time.Now().Add(-time.Hour)))
	f.source = strings.Replace(f.source, "    ca_file: ftp-ca.pem\n", "", 1) // the system's roots do not know it
	r := f.run("check", "--json")
	require.Equal(t, exitCheck, r.code, r)
	out := r.decode(t)
	var shown bool
	for _, c := range out.Checks {
		if c.Result == "fail" && strings.Contains(c.Error, srv.Fingerprint()) {
			shown = true
		}
	}
	assert.True(t, shown, "the failure shows the certificate's fingerprint, to pin it: %s", r)
	assert.Zero(t, srv.Logins(), "no password is sent to a server that is not trusted")

	// Pinned by its fingerprint, it is trusted.
	f.source = strings.Replace(f.source, "    connect_timeout:", fmt.Sprintf("    cert_sha256: [%q]\n    connect_timeout:", srv.Fingerprint()), 1)
	r = f.run("check")
	require.Equal(t, exitOK, r.code, r)
}

func TestPlainFTPOnlyWhenChosen(t *testing.T) {
	f, srv := ftpFixture(t, &ftptest.Options{Mode: ftptest.Plain})
	require.NoError(t, srv.Put("users.csv", users(1, 1), time.Now().Add(-time.Hour)))
	f.source = strings.Replace(f.source, "    ca_file: ftp-ca.pem\n", "", 1)
	r := f.run("run")
	require.Equal(t, exitFailed, r.code, r)
	assert.Contains(t, r.stdout, "does not offer TLS")
	assert.Zero(t, srv.Logins())

	f.source = strings.Replace(f.source, "    connect_timeout:", "    tls: none\n    connect_timeout:", 1)
	r = f.run("run")
	require.Equal(t, exitOK, r.code, r)
	assert.Contains(t, r.stderr, "unencrypted", "choosing plain FTP is warned about")
}

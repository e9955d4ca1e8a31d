package ftpsource_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/internal/ftptest"
	"github.com/usersync/usersync/source/ftpsource"
)

func TestConfigHidesPassword(t *testing.T) {
	cfg := ftpsource.Config{Host: "ftp.example.com", User: "acme", Password: "s3cret!", File: "/imports/users.csv"}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "cfg", cfg)
	for _, s := range []string{cfg.String(), fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), logged.String()} {
		assert.NotContains(t, s, "s3cret")
	}
	assert.Equal(t, "ftps://acme@ftp.example.com:21/imports/users.csv", cfg.String())
	cfg.TLS, cfg.File, cfg.Dir = ftpsource.Implicit, "", "in"
	assert.Equal(t, "ftps://acme@ftp.example.com:990/in", cfg.String())
	cfg.TLS, cfg.Host, cfg.Port = ftpsource.Plain, "10.0.0.1:2121", 0
	assert.Equal(t, "ftp://acme@10.0.0.1:2121/in", cfg.String())
	cfg.Port = 2222
	assert.Equal(t, "ftp://acme@10.0.0.1:2222/in", cfg.String(), "Port wins over the port in Host")
}

func TestConfigErrors(t *testing.T) {
	ok := ftpsource.Config{Host: "127.0.0.1", User: "u", Password: "p"}
	for field, edit := range map[string]func(*ftpsource.Config){
		"Host":              func(c *ftpsource.Config) { c.Host = "" },
		"User":              func(c *ftpsource.Config) { c.User = "" },
		"Port":              func(c *ftpsource.Config) { c.Port = 70000 },
		"TLS":               func(c *ftpsource.Config) { c.TLS = 7 },
		"File":              func(c *ftpsource.Config) { c.Dir, c.File = "in", "/in/users.csv" },
		"Dir, File":         func(c *ftpsource.Config) { c.Dir = "in\r\nDELE x" },
		"CertificateSHA256": func(c *ftpsource.Config) { c.CertificateSHA256 = []string{"AB:CD"} },
	} {
		cfg := ok
		edit(&cfg)
		_, err := ftpsource.Dial(t.Context(), cfg, fastOptions())
		var ce *ftpsource.ConfigError
		if assert.ErrorAs(t, err, &ce, field) {
			assert.Equal(t, field, ce.Field)
		}
		results := ftpsource.CheckConfig(t.Context(), cfg, fastOptions())
		require.Len(t, results, 1)
		assert.Equal(t, "configuration", results[0].Name)
	}
}

// Fingerprints are accepted as openssl, browsers and people write them.
func TestPinFormats(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", []byte("x"), time.Now()))
	fp := srv.Fingerprint()
	plain := strings.ReplaceAll(fp, ":", "")
	for _, pin := range []string{fp, strings.ToLower(fp), plain, "SHA256:" + plain, "sha256 Fingerprint=" + fp, " " + fp + " "} {
		cfg := config(srv)
		cfg.RootCAs, cfg.CertificateSHA256 = nil, []string{pin}
		dial(t, cfg, nil)
	}
}

// Without the server's CA, its self-signed certificate is refused with
// what an administrator needs to pin it.
func TestCertificateRefused(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	cfg := config(srv)
	cfg.RootCAs = nil
	_, err := ftpsource.Dial(t.Context(), cfg, fastOptions())
	var ce *ftpsource.CertificateError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, srv.Fingerprint(), ce.Fingerprint)
	assert.Contains(t, err.Error(), "CertificateSHA256")
	assert.Zero(t, srv.Logins(), "no password sent")

	results := ftpsource.CheckConfig(t.Context(), cfg, fastOptions())
	require.Len(t, results, 4)
	assert.NoError(t, results[0].Err)
	assert.ErrorIs(t, results[1].Err, ftpsource.ErrCertificate)
	assert.ErrorContains(t, results[2].Err, "not checked")
}

// A plain server is refused unless Plain is chosen; then it works, with a
// warning.
func TestPlainOnlyWhenChosen(t *testing.T) {
	srv := ftptest.NewServer(t, &ftptest.Options{Mode: ftptest.Plain})
	require.NoError(t, srv.Put("in/users.csv", []byte("x"), time.Now()))
	cfg := config(srv)
	_, err := ftpsource.Dial(t.Context(), cfg, fastOptions())
	require.ErrorIs(t, err, ftpsource.ErrNoTLS)
	assert.Zero(t, srv.Logins(), "no password sent")

	var logged strings.Builder
	opts := fastOptions()
	opts.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	cfg.TLS = ftpsource.Plain
	results := dial(t, cfg, opts).Check(t.Context())
	for _, r := range results {
		assert.NoError(t, r.Err, r.Name)
	}
	assert.Contains(t, results[1].Detail, "NOT encrypted")
	assert.Contains(t, results[1].Warning, "unencrypted", "a plain connection passes, with a warning")
	assert.Contains(t, logged.String(), "plain FTP")
}

func TestBadPassword(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	cfg := config(srv)
	cfg.Password = "wrong-password"
	_, err := ftpsource.Dial(t.Context(), cfg, fastOptions())
	require.ErrorIs(t, err, ftpsource.ErrAuth)
	assert.Contains(t, err.Error(), "530")
	assert.NotContains(t, err.Error(), "wrong-password")
}

func TestCheck(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", []byte("x"), time.Now()))
	s := dial(t, config(srv), nil)
	results := s.Check(t.Context())
	require.Len(t, results, 4)
	for _, r := range results {
		assert.NoError(t, r.Err, r.Name)
	}
	assert.Equal(t, "reachable", results[0].Detail)
	assert.Contains(t, results[1].Detail, "TLS 1.3")
	assert.Contains(t, results[1].Detail, "verified with Config.RootCAs")
	assert.Equal(t, "readable; files: 1; data connection resumed the TLS session", results[3].Detail)

	cfg := config(srv)
	cfg.Dir = "missing"
	results = ftpsource.CheckConfig(t.Context(), cfg, fastOptions())
	assert.NoError(t, results[2].Err)
	assert.Error(t, results[3].Err)
}

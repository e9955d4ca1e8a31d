package sftpsource_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/sftptest"
	"github.com/usersync/usersync/source/sftpsource"
	"github.com/usersync/usersync/source/sourcetest"
)

func dialErr(t *testing.T, cfg sftpsource.Config, opts *sftpsource.Options) error {
	t.Helper()
	if opts == nil {
		opts = fastOptions()
	}
	s, err := sftpsource.Dial(t.Context(), cfg, opts)
	if err == nil {
		s.Close()
	}
	return err
}

func TestPasswordLogin(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", []byte("x"), time.Now()))
	s := dial(t, config(t, srv), nil)
	files, err := s.List(t.Context())
	require.NoError(t, err)
	require.Len(t, files, 1)

	cfg := config(t, srv)
	cfg.Password = "wrong"
	err = dialErr(t, cfg, nil)
	assert.ErrorIs(t, err, sftpsource.ErrAuth)
	assert.ErrorContains(t, err, `refused user "test"`)
	assert.NotContains(t, err.Error(), "wrong", "the password is never in a message")
	assert.Equal(t, 2, srv.Logins()+1, "a refused login is not retried")
}

func TestKeyboardInteractiveLogin(t *testing.T) {
	srv := sftptest.NewServer(t, &sftptest.Options{KeyboardInteractive: true})
	dial(t, config(t, srv), nil) // the password answers the prompt

	cfg := config(t, srv)
	cfg.Password = ""
	var asked []string
	cfg.KeyboardInteractive = func(_, _ string, questions []string, _ []bool) ([]string, error) {
		asked = append(asked, questions...)
		return []string{srv.Password()}, nil
	}
	dial(t, cfg, nil)
	assert.Equal(t, []string{"Password: "}, asked)
}

// keyFormats returns a private key in each format a customer may hand
// over, with the passphrase that protects it ("" for none).
func keyFormats(t *testing.T) map[string]struct {
	pub  ssh.PublicKey
	pem  []byte
	pass string
} {
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	const pass = "correct horse"
	openssh := func(key any, pass string) []byte {
		var b *pem.Block
		if pass == "" {
			b, err = ssh.MarshalPrivateKey(key, "test")
		} else {
			b, err = ssh.MarshalPrivateKeyWithPassphrase(key, "test", []byte(pass))
		}
		require.NoError(t, err)
		return pem.EncodeToMemory(b)
	}
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	require.NoError(t, err)
	//lint:ignore SA1019 legacy encrypted PEM is what `ssh-keygen -m PEM` and old tools write
	ecPEM, err := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", ecDER, []byte(pass), x509.PEMCipherAES128) //nolint:staticcheck
	require.NoError(t, err)
	pub := func(key any) ssh.PublicKey {
		s, err := ssh.NewSignerFromKey(key)
		require.NoError(t, err)
		return s.PublicKey()
	}
	return map[string]struct {
		pub  ssh.PublicKey
		pem  []byte
		pass string
	}{
		"ed25519 OpenSSH":           {pub(edKey), openssh(edKey, ""), ""},
		"ed25519 OpenSSH encrypted": {pub(edKey), openssh(edKey, pass), pass},
		"RSA PEM":                   {pub(rsaKey), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}), ""},
		"ECDSA PEM encrypted":       {pub(ecKey), pem.EncodeToMemory(ecPEM), pass},
	}
}

func TestKeyLogin(t *testing.T) {
	for name, k := range keyFormats(t) {
		t.Run(name, func(t *testing.T) {
			srv := sftptest.NewServer(t, &sftptest.Options{AuthorizedKeys: []ssh.PublicKey{k.pub}})
			cfg := config(t, srv)
			cfg.Password, cfg.PrivateKey, cfg.Passphrase = "", k.pem, []byte(k.pass)
			dial(t, cfg, nil)
			if k.pass == "" {
				return
			}
			cfg.Passphrase = []byte("wrong")
			err := dialErr(t, cfg, nil)
			assert.ErrorIs(t, err, sftpsource.ErrWrongPassphrase)
			var ce *sftpsource.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "Passphrase", ce.Field)
			assert.Equal(t, 1, srv.Logins(), "a wrong passphrase never reaches the server")

			cfg.Passphrase = nil
			err = dialErr(t, cfg, nil)
			require.ErrorAs(t, err, &ce)
			assert.EqualError(t, err, "sftpsource: Config.Passphrase: the private key is protected by a passphrase; set Config.Passphrase")
		})
	}
}

func TestConfigErrors(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	for name, edit := range map[string]func(*sftpsource.Config){
		"no credentials":  func(c *sftpsource.Config) { c.Password = "" },
		"no address":      func(c *sftpsource.Config) { c.Addr = "" },
		"no user":         func(c *sftpsource.Config) { c.User = "" },
		"no host key":     func(c *sftpsource.Config) { c.KnownHostsFile = "" },
		"bad fingerprint": func(c *sftpsource.Config) { c.HostKeyFingerprints = []string{"MD5:ab:cd"} },
		"bad key":         func(c *sftpsource.Config) { c.PrivateKey = []byte("not a key") },
		"missing known_hosts": func(c *sftpsource.Config) {
			c.KnownHostsFile = t.TempDir() + "/missing"
		},
	} {
		cfg := config(t, srv)
		edit(&cfg)
		var ce *sftpsource.ConfigError
		assert.ErrorAs(t, dialErr(t, cfg, nil), &ce, name)
	}
	assert.Zero(t, srv.Logins())
}

func TestConfigHidesSecrets(t *testing.T) {
	cfg := sftpsource.Config{Addr: "sftp.example.com", User: "acme", Folder: "in", Password: "hunter2", Passphrase: []byte("pp")}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg)} {
		assert.Equal(t, "sftp://acme@sftp.example.com/~/in", s)
	}
	// The folder once, as the URI scheme writes it: never "host//tmp".
	for folder, want := range map[string]string{"/tmp/in": "sftp://acme@h:22/tmp/in", "/": "sftp://acme@h:22/",
		"": "sftp://acme@h:22/~", ".": "sftp://acme@h:22/~", "./in": "sftp://acme@h:22/~/in"} {
		assert.Equal(t, want, sftpsource.Config{Addr: "h:22", User: "acme", Folder: folder}.String(), "folder %q", folder)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "cfg", cfg)
	assert.NotContains(t, buf.String(), "hunter2")
}

func TestUnknownHost(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	other := sftptest.NewServer(t, nil)
	cfg := config(t, srv)
	cfg.KnownHostsFile = other.KnownHosts(t) // knows another server only
	err := dialErr(t, cfg, nil)
	var uh *sftpsource.UnknownHostError
	require.ErrorAs(t, err, &uh)
	assert.ErrorIs(t, err, sftpsource.ErrHostKey)
	assert.Equal(t, srv.Fingerprint(), uh.Fingerprint)
	assert.Equal(t, "ssh-ed25519", uh.KeyType)
	assert.Zero(t, srv.Logins(), "nothing is sent to an unknown host")
}

func TestChangedHostKey(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	cfg := config(t, srv)
	old := sftptest.NewSigner(t)
	cfg.KnownHostsFile = srv.KnownHosts(t, old.PublicKey()) // the key it had before
	err := dialErr(t, cfg, nil)
	var hc *sftpsource.HostKeyChangedError
	require.ErrorAs(t, err, &hc)
	assert.ErrorIs(t, err, sftpsource.ErrHostKey)
	assert.Equal(t, srv.Fingerprint(), hc.Fingerprint)
	assert.Equal(t, []string{"ssh-ed25519 " + ssh.FingerprintSHA256(old.PublicKey())}, hc.Known)
	assert.ErrorContains(t, err, "HOST KEY CHANGED")
	assert.Zero(t, srv.Logins())
}

func TestPinnedFingerprint(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	cfg := config(t, srv)
	cfg.KnownHostsFile = ""
	cfg.HostKeyFingerprints = []string{srv.Fingerprint()}
	dial(t, cfg, nil)

	cfg.HostKeyFingerprints = []string{ssh.FingerprintSHA256(sftptest.NewSigner(t).PublicKey())}
	var hc *sftpsource.HostKeyChangedError
	require.ErrorAs(t, dialErr(t, cfg, nil), &hc)
	assert.Equal(t, srv.Fingerprint(), hc.Fingerprint)
}

// signers returns an RSA, an ECDSA and an ed25519 host key.
func signers(t *testing.T) (rsaS, ecS, edS ssh.Signer) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	rsaS, err = ssh.NewSignerFromKey(rk)
	require.NoError(t, err)
	ecS, err = ssh.NewSignerFromKey(ek)
	require.NoError(t, err)
	return rsaS, ecS, sftptest.NewSigner(t)
}

// A server with several host keys is recognized by whichever one
// known_hosts or a pin records (golang/go#11722).
func TestServerWithSeveralHostKeys(t *testing.T) {
	rsaS, ecS, edS := signers(t)
	srv := sftptest.NewServer(t, &sftptest.Options{HostKeys: []ssh.Signer{edS, ecS, rsaS}})
	for _, k := range []ssh.Signer{rsaS, ecS, edS} {
		t.Run(k.PublicKey().Type(), func(t *testing.T) {
			cfg := config(t, srv)
			cfg.KnownHostsFile = srv.KnownHosts(t, k.PublicKey())
			dial(t, cfg, nil)

			cfg.KnownHostsFile = ""
			cfg.HostKeyFingerprints = []string{ssh.FingerprintSHA256(k.PublicKey())}
			dial(t, cfg, nil)
		})
	}
	cfg := config(t, srv)
	cfg.KnownHostsFile = ""
	cfg.HostKeyFingerprints = []string{ssh.FingerprintSHA256(sftptest.NewSigner(t).PublicKey())}
	var hc *sftpsource.HostKeyChangedError
	assert.ErrorAs(t, dialErr(t, cfg, nil), &hc, "no key of the server is pinned")
}

func TestInsecureIgnoreHostKeyIsLoud(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	cfg := config(t, srv)
	cfg.KnownHostsFile, cfg.InsecureIgnoreHostKey = "", true
	var logs bytes.Buffer
	opts := fastOptions()
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	s := dial(t, cfg, opts)
	assert.Contains(t, logs.String(), "HOST KEY NOT VERIFIED")
	results := s.Check(t.Context())
	assert.ErrorIs(t, results[1].Err, sftpsource.ErrHostKeyNotVerified)
}

func TestCheck(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", []byte("x"), time.Now()))
	require.NoError(t, srv.Put("in/a\\b.csv", []byte("x"), time.Now()))
	s := dial(t, config(t, srv), nil)
	results := s.Check(t.Context())
	require.Len(t, results, 4)
	for _, r := range results {
		assert.NoError(t, r.Err, r.Name)
	}
	assert.Equal(t, "connect to "+srv.Addr, results[0].Name)
	assert.Contains(t, results[1].Detail, "ssh-ed25519 "+srv.Fingerprint()+", listed in ")
	assert.Equal(t, "log in as test", results[2].Name)
	assert.Equal(t, `readable; files: 1; names refused: "a\\b.csv" (holds a backslash, which Windows and some servers read as a separator, so it could be read as a path)`, results[3].Detail)

	files, err := s.List(t.Context())
	require.NoError(t, err)
	assert.Len(t, files, 1, "a name that could be a path is not listed")

	t.Run("wrong password", func(t *testing.T) {
		cfg := config(t, srv)
		cfg.Password = "nope"
		results := checkOf(t, srv, cfg)
		assert.NoError(t, results[0].Err)
		assert.NoError(t, results[1].Err)
		assert.ErrorIs(t, results[2].Err, sftpsource.ErrAuth)
		assert.EqualError(t, results[3].Err, "not checked: log in as test failed")
	})
	t.Run("unknown host", func(t *testing.T) {
		cfg := config(t, srv)
		cfg.KnownHostsFile = sftptest.NewServer(t, nil).KnownHosts(t)
		results := checkOf(t, srv, cfg)
		var uh *sftpsource.UnknownHostError
		assert.ErrorAs(t, results[1].Err, &uh)
		assert.EqualError(t, results[2].Err, "not checked: host key of "+srv.Addr+" failed")
	})
	t.Run("missing folder", func(t *testing.T) {
		cfg := config(t, srv)
		cfg.Folder = "nope"
		results := checkOf(t, srv, cfg)
		assert.NoError(t, results[2].Err)
		assert.ErrorIs(t, results[3].Err, fs.ErrNotExist)
	})
	t.Run("server down", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ln.Close() // nothing listens there now
		cfg := config(t, srv)
		cfg.Addr = ln.Addr().String()
		results := checkOf(t, srv, cfg)
		assert.ErrorContains(t, results[0].Err, "connection refused")
		for _, r := range results[1:] {
			assert.ErrorContains(t, r.Err, "not checked")
		}
	})
	t.Run("bad configuration", func(t *testing.T) {
		cfg := config(t, srv)
		cfg.Password = ""
		results := checkOf(t, srv, cfg)
		require.Len(t, results, 1)
		assert.Equal(t, "configuration", results[0].Name)
		var ce *sftpsource.ConfigError
		assert.ErrorAs(t, results[0].Err, &ce)
	})
}

// checkOf checks settings that Dial would refuse, as an administrator's
// "Check connection" button does before saving them.
func checkOf(t *testing.T, _ *sftptest.Server, cfg sftpsource.Config) []usersync.CheckResult {
	t.Helper()
	return sftpsource.CheckConfig(t.Context(), cfg, fastOptions())
}

func TestNewOverOwnClient(t *testing.T) {
	sourcetest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (sourcetest.Harness, error) {
		srv := sftptest.NewServer(t, nil)
		if err := srv.Put("in/.keep", nil, time.Now()); err != nil {
			return nil, err
		}
		return &clientHarness{srv: srv}, nil
	})
}

type clientHarness struct{ srv *sftptest.Server }

func (h *clientHarness) MakeSource(ctx context.Context) (usersync.Source, error) {
	client, err := ssh.Dial("tcp", h.srv.Addr, &ssh.ClientConfig{
		User:            h.srv.User(),
		Auth:            []ssh.AuthMethod{ssh.Password(h.srv.Password())},
		HostKeyCallback: ssh.FixedHostKey(h.srv.HostKeys[0].PublicKey()),
	})
	if err != nil {
		return nil, err
	}
	sc, err := sftp.NewClient(client)
	if err != nil {
		return nil, errors.Join(err, client.Close())
	}
	return sftpsource.New(sc, "in", fastOptions())
}

func (h *clientHarness) Put(_ context.Context, name string, data []byte, modTime time.Time) error {
	return h.srv.Put("in/"+name, data, modTime)
}

func (h *clientHarness) Close() {}

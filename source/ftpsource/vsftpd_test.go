package ftpsource_test

// Integration tests against real vsftpd on 127.0.0.1, which
// .ci/services/vsftpd.sh starts (explicit FTPS with require_ssl_reuse=YES,
// implicit FTPS, and plain FTP): they skip when it is not running, and fail
// under CI=true.

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/testenv"
	"github.com/usersync/usersync/source/ftpsource"
	"github.com/usersync/usersync/source/sourcetest"
)

// vsftpd is the real server .ci/services/vsftpd.sh started.
type vsftpd struct {
	explicit, implicit, plain string // addresses
	user, password            string
	ca, wrongCA               string // certificate files
	folder, dir               string // as the user sees it, and locally
}

func realVsftpd(t testing.TB) *vsftpd {
	t.Helper()
	get := func(name string) string { return testenv.Getenv(t, "USERSYNC_TEST_"+name, "vsftpd") }
	return &vsftpd{
		explicit: get("FTPS_ADDR"), implicit: get("FTPS_IMPLICIT_ADDR"), plain: get("FTP_PLAIN_ADDR"),
		user: get("FTPS_USER"), password: get("FTPS_PASSWORD"),
		ca: get("FTPS_CA"), wrongCA: get("FTPS_WRONG_CA"),
		folder: get("FTPS_FOLDER"), dir: get("FTPS_DIR"),
	}
}

var caseSeq atomic.Int64

// newFolder makes an empty folder for one test inside the served one,
// writable by the FTP user, and returns its remote and local paths.
func (v *vsftpd) newFolder(t testing.TB) (remote, local string) {
	t.Helper()
	name := fmt.Sprintf("t%d-%d", os.Getpid(), caseSeq.Add(1))
	local = filepath.Join(v.dir, name)
	require.NoError(t, os.Mkdir(local, 0o777))
	require.NoError(t, os.Chmod(local, 0o777)) // past the umask: the FTP user removes and renames here
	t.Cleanup(func() { os.RemoveAll(local) })
	return path.Join(v.folder, name), local
}

// pool reads a certificate file into a pool.
func pool(t testing.TB, file string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(file)
	require.NoError(t, err)
	p := x509.NewCertPool()
	require.True(t, p.AppendCertsFromPEM(pem))
	return p
}

// config logs in to the explicit-TLS instance's folder, trusting its
// certificate as a CA.
func (v *vsftpd) config(t testing.TB, dir string) ftpsource.Config {
	return ftpsource.Config{Host: v.explicit, User: v.user, Password: v.password, Dir: dir, RootCAs: pool(t, v.ca)}
}

// put writes a file as a customer's upload would.
func put(local, name string, data []byte, modTime time.Time) error {
	p := filepath.Join(local, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
		return err
	}
	os.Chmod(filepath.Dir(p), 0o777)
	if err := os.WriteFile(p, data, 0o666); err != nil {
		return err
	}
	return os.Chtimes(p, modTime, modTime)
}

type vsftpdHarness struct {
	cfg   ftpsource.Config
	local string
}

func (h *vsftpdHarness) MakeSource(ctx context.Context) (usersync.Source, error) {
	return ftpsource.Dial(ctx, h.cfg, fastOptions())
}

func (h *vsftpdHarness) Put(_ context.Context, name string, data []byte, modTime time.Time) error {
	return put(h.local, name, data, modTime)
}

func (h *vsftpdHarness) Close() {}

func vsftpdConformance(t *testing.T, cfg func(v *vsftpd, dir string) ftpsource.Config) {
	v := realVsftpd(t)
	sourcetest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (sourcetest.Harness, error) {
		remote, local := v.newFolder(t)
		return &vsftpdHarness{cfg: cfg(v, remote), local: local}, nil
	})
}

// Explicit FTPS with require_ssl_reuse=YES: every listing and download
// resumes the TLS session, or vsftpd refuses it.
func TestVsftpdConformanceExplicit(t *testing.T) {
	vsftpdConformance(t, func(v *vsftpd, dir string) ftpsource.Config { return v.config(t, dir) })
}

func TestVsftpdConformanceImplicit(t *testing.T) {
	vsftpdConformance(t, func(v *vsftpd, dir string) ftpsource.Config {
		cfg := v.config(t, dir)
		cfg.Host, cfg.TLS = v.implicit, ftpsource.Implicit
		return cfg
	})
}

// Session reuse works with TLS 1.2 (session tickets in the handshake) and
// TLS 1.3 (tickets after it), where the server allows each.
func TestVsftpdSessionReuseTLSVersions(t *testing.T) {
	v := realVsftpd(t)
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			remote, local := v.newFolder(t)
			require.NoError(t, put(local, "users.csv", []byte("id\n1\n"), time.Now()))
			opts := fastOptions()
			opts.TLSConfig = &tls.Config{MinVersion: version, MaxVersion: version}
			results := ftpsource.CheckConfig(t.Context(), v.config(t, remote), opts)
			for _, r := range results {
				require.NoError(t, r.Err, r.Name)
			}
			assert.Contains(t, results[1].Detail, tls.VersionName(version))
			assert.Contains(t, results[3].Detail, "resumed the TLS session")

			s := dial(t, v.config(t, remote), opts)
			data, err := readAll(t.Context(), s, "users.csv")
			require.NoError(t, err)
			assert.Equal(t, "id\n1\n", string(data))
		})
	}
}

// A server without TLS is refused before the password is sent; plain FTP
// runs only when chosen.
func TestVsftpdPlainOnlyWhenChosen(t *testing.T) {
	v := realVsftpd(t)
	remote, local := v.newFolder(t)
	require.NoError(t, put(local, "users.csv", []byte("id\n1\n"), time.Now()))
	cfg := v.config(t, remote)
	cfg.Host = v.plain
	_, err := ftpsource.Dial(t.Context(), cfg, fastOptions())
	require.ErrorIs(t, err, ftpsource.ErrNoTLS)
	assert.NotContains(t, err.Error(), v.password)

	cfg.TLS = ftpsource.Plain
	s := dial(t, cfg, nil)
	data, err := readAll(t.Context(), s, "users.csv")
	require.NoError(t, err)
	assert.Equal(t, "id\n1\n", string(data))
}

func TestVsftpdWrongCertificate(t *testing.T) {
	v := realVsftpd(t)
	remote, _ := v.newFolder(t)
	for name, edit := range map[string]func(*ftpsource.Config){
		"unknown CA":   func(c *ftpsource.Config) { c.RootCAs = pool(t, v.wrongCA) },
		"system roots": func(c *ftpsource.Config) { c.RootCAs = nil },
		"wrong name":   func(c *ftpsource.Config) { c.ServerName = "ftp.example.com" },
		"wrong pin":    func(c *ftpsource.Config) { c.CertificateSHA256 = []string{strings.Repeat("AB:", 31) + "AB"} },
		"implicit, unknown CA": func(c *ftpsource.Config) {
			c.Host, c.TLS, c.RootCAs = v.implicit, ftpsource.Implicit, pool(t, v.wrongCA)
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := v.config(t, remote)
			edit(&cfg)
			_, err := ftpsource.Dial(t.Context(), cfg, fastOptions())
			require.ErrorIs(t, err, ftpsource.ErrCertificate)
			var ce *ftpsource.CertificateError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "CN=usersync server", ce.Subject)
			assert.Equal(t, fingerprintOf(t, v.ca), ce.Fingerprint)
		})
	}

	// The fingerprint the error showed, pinned, is trusted.
	cfg := v.config(t, remote)
	cfg.RootCAs, cfg.CertificateSHA256 = nil, []string{"sha256 Fingerprint=" + fingerprintOf(t, v.ca)}
	dial(t, cfg, nil)
}

// fingerprintOf returns the SHA-256 fingerprint of a PEM certificate file,
// as "openssl x509 -noout -fingerprint -sha256" prints it.
func fingerprintOf(t testing.TB, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	block, _ := pem.Decode(data)
	require.NotNil(t, block)
	sum := sha256.Sum256(block.Bytes)
	return strings.ToUpper(strings.ReplaceAll(fmt.Sprintf("% x", sum[:]), " ", ":"))
}

func TestVsftpdBadPassword(t *testing.T) {
	v := realVsftpd(t)
	remote, _ := v.newFolder(t)
	cfg := v.config(t, remote)
	cfg.Password = "not-" + v.password
	start := time.Now()
	_, err := ftpsource.Dial(t.Context(), cfg, fastOptions())
	require.ErrorIs(t, err, ftpsource.ErrAuth)
	assert.Contains(t, err.Error(), "530")
	assert.NotContains(t, err.Error(), cfg.Password)
	assert.Less(t, time.Since(start), 10*time.Second, "a refused login is not retried")

	results := ftpsource.CheckConfig(t.Context(), cfg, fastOptions())
	require.Len(t, results, 4)
	assert.NoError(t, results[0].Err)
	assert.NoError(t, results[1].Err)
	assert.ErrorIs(t, results[2].Err, ftpsource.ErrAuth)
	assert.Error(t, results[3].Err)
}

// The wrong TLS mode for the port fails with a hint, without hanging.
func TestVsftpdWrongMode(t *testing.T) {
	v := realVsftpd(t)
	remote, _ := v.newFolder(t)
	cfg := v.config(t, remote)
	cfg.TLS = ftpsource.Implicit // on the explicit port
	_, err := ftpsource.Dial(t.Context(), cfg, fastOptions())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "did not answer with TLS")

	cfg = v.config(t, remote)
	cfg.Host = v.implicit // explicit on the implicit port: both wait
	opts := fastOptions()
	opts.ConnectTimeout = time.Second
	start := time.Now()
	_, err = ftpsource.Dial(t.Context(), cfg, opts)
	assert.ErrorIs(t, err, ftpsource.ErrTimeout)
	assert.Less(t, time.Since(start), 5*time.Second)
}

// A file named as SMARTFENSE's setup names it, by absolute path.
func TestVsftpdAbsoluteFile(t *testing.T) {
	v := realVsftpd(t)
	remote, local := v.newFolder(t)
	require.NoError(t, put(local, "users.csv", []byte("id\n1\n"), time.Now()))
	require.NoError(t, put(local, "other.csv", []byte("x"), time.Now()))
	cfg := v.config(t, "")
	cfg.File = path.Join(filepath.ToSlash(local), "users.csv") // no chroot: the server's path is the local one
	_ = remote
	files, err := dial(t, cfg, nil).List(t.Context())
	require.NoError(t, err)
	require.Len(t, files, 1)
	assert.Equal(t, "users.csv", files[0].Name)
}

// The server really refuses a data connection that does not resume the
// TLS session: github.com/jlaffaye/ftp as it comes, without a session
// cache, fails to list where a Source succeeds.
func TestVsftpdRequiresSessionReuse(t *testing.T) {
	v := realVsftpd(t)
	c, err := ftp.Dial(v.explicit, ftp.DialWithTimeout(5*time.Second),
		ftp.DialWithExplicitTLS(&tls.Config{RootCAs: pool(t, v.ca), ServerName: "127.0.0.1"}))
	require.NoError(t, err)
	defer c.Quit()
	require.NoError(t, c.Login(v.user, v.password))
	_, err = c.List(v.folder)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "reuse")
}

package sftpsource_test

// Integration tests against a real OpenSSH sshd on 127.0.0.1, which
// .ci/services/sshd.sh starts: they skip when it is not running, and fail
// under CI=true.

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/sftptest"
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/internal/testenv"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/sftpsource"
	"github.com/usersync/usersync/source/sourcetest"
)

// sshd is the real server .ci/services/sshd.sh started.
type sshd struct {
	addr, user, password, knownHosts string
	key, keyEnc, keyPEM, passphrase  string
	folder, localDir                 string
}

func realSSHD(t testing.TB) *sshd {
	t.Helper()
	get := func(name string) string { return testenv.Getenv(t, "USERSYNC_TEST_SSHD_"+name, "OpenSSH sshd") }
	return &sshd{
		addr: get("ADDR"), user: get("USER"), password: get("PASSWORD"), knownHosts: get("KNOWN_HOSTS"),
		key: get("KEY"), keyEnc: get("KEY_ENC"), keyPEM: get("KEY_PEM"), passphrase: get("KEY_PASSPHRASE"),
		folder: get("FOLDER"), localDir: get("LOCAL_DIR"),
	}
}

var caseSeq atomic.Int64

// newFolder makes an empty folder for one test inside the served one,
// writable by the SFTP user, and returns its remote and local paths.
func (d *sshd) newFolder(t testing.TB) (remote, local string) {
	t.Helper()
	name := fmt.Sprintf("t%d-%d", os.Getpid(), caseSeq.Add(1))
	local = filepath.Join(d.localDir, name)
	require.NoError(t, os.Mkdir(local, 0o777))
	require.NoError(t, os.Chmod(local, 0o777)) // past the umask: the SFTP user removes and renames here
	t.Cleanup(func() { os.RemoveAll(local) })
	return path.Join(d.folder, name), local
}

// config logs in with the password to folder, trusting known_hosts.
func (d *sshd) config(folder string) sftpsource.Config {
	return sftpsource.Config{Addr: d.addr, User: d.user, Password: d.password, Folder: folder, KnownHostsFile: d.knownHosts}
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

// hostKeys returns the server's keys from known_hosts, by type.
func (d *sshd) hostKeys(t testing.TB) map[string]ssh.PublicKey {
	t.Helper()
	data, err := os.ReadFile(d.knownHosts)
	require.NoError(t, err)
	keys := map[string]ssh.PublicKey{}
	for rest := data; len(rest) > 0; {
		var k ssh.PublicKey
		_, _, k, _, rest, err = ssh.ParseKnownHosts(rest)
		if err != nil {
			break
		}
		keys[k.Type()] = k
	}
	require.Len(t, keys, 3)
	return keys
}

// knownHostsWith writes a known_hosts file with the given keys for the
// server.
func (d *sshd) knownHostsWith(t testing.TB, keys ...ssh.PublicKey) string {
	t.Helper()
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintln(&b, knownhosts.Line([]string{knownhosts.Normalize(d.addr)}, k))
	}
	p := filepath.Join(t.TempDir(), "known_hosts")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o600))
	return p
}

func TestSSHDConformance(t *testing.T) {
	d := realSSHD(t)
	sourcetest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (sourcetest.Harness, error) {
		remote, local := d.newFolder(t)
		return &sshdHarness{cfg: d.config(remote), local: local}, nil
	})
}

type sshdHarness struct {
	cfg   sftpsource.Config
	local string
}

func (h *sshdHarness) MakeSource(ctx context.Context) (usersync.Source, error) {
	return sftpsource.Dial(ctx, h.cfg, sshdOptions())
}

func (h *sshdHarness) Put(_ context.Context, name string, data []byte, modTime time.Time) error {
	return put(h.local, name, data, modTime)
}

func (h *sshdHarness) Close() {}

// sshdOptions leave time for a real sshd on a busy machine: it forks for
// each login, and delays the answer to a wrong password (PAM waits about
// two seconds, once for password and once for keyboard-interactive).
func sshdOptions() *sftpsource.Options {
	o := fastOptions()
	o.ConnectTimeout = 30 * time.Second
	return o
}

func readKey(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}

func TestSSHDLogins(t *testing.T) {
	d := realSSHD(t)
	remote, local := d.newFolder(t)
	require.NoError(t, put(local, "users.csv", synctest.CSV(3), time.Now()))
	withKey := func(key string, pass string) sftpsource.Config {
		c := d.config(remote)
		c.Password, c.PrivateKey, c.Passphrase = "", readKey(t, key), []byte(pass)
		return c
	}
	kbd := d.config(remote)
	kbd.Password = ""
	kbd.KeyboardInteractive = func(_, _ string, questions []string, _ []bool) ([]string, error) {
		answers := make([]string, len(questions))
		for i := range answers {
			answers[i] = d.password
		}
		return answers, nil
	}
	for name, cfg := range map[string]sftpsource.Config{
		"password":                    d.config(remote),
		"ed25519 key":                 withKey(d.key, ""),
		"ed25519 key with passphrase": withKey(d.keyEnc, d.passphrase),
		"PEM key with passphrase":     withKey(d.keyPEM, d.passphrase),
		"keyboard-interactive":        kbd,
	} {
		t.Run(name, func(t *testing.T) {
			s := dial(t, cfg, sshdOptions())
			files, err := s.List(t.Context())
			require.NoError(t, err)
			assert.Len(t, files, 1)
		})
	}

	wrong := d.config(remote)
	wrong.Password = "not the password"
	assert.ErrorIs(t, dialErr(t, wrong, sshdOptions()), sftpsource.ErrAuth)
	for _, key := range []string{d.keyEnc, d.keyPEM} {
		assert.ErrorIs(t, dialErr(t, withKey(key, "wrong"), sshdOptions()), sftpsource.ErrWrongPassphrase)
	}
}

func TestSSHDHostKeys(t *testing.T) {
	d := realSSHD(t)
	remote, _ := d.newFolder(t)
	keys := d.hostKeys(t)
	t.Run("one key type on record", func(t *testing.T) {
		for typ, k := range keys {
			cfg := d.config(remote)
			cfg.KnownHostsFile = d.knownHostsWith(t, k)
			dial(t, cfg, sshdOptions())
			cfg.KnownHostsFile, cfg.HostKeyFingerprints = "", []string{ssh.FingerprintSHA256(k)}
			dial(t, cfg, sshdOptions())
			t.Logf("%s: recognized by known_hosts and by fingerprint", typ)
		}
	})
	t.Run("unknown host", func(t *testing.T) {
		cfg := d.config(remote)
		_, port, _ := net.SplitHostPort(d.addr)
		other := strings.ReplaceAll(string(readKey(t, d.knownHosts)), "]:"+port, "]:1")
		cfg.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
		require.NoError(t, os.WriteFile(cfg.KnownHostsFile, []byte(other), 0o600))
		var uh *sftpsource.UnknownHostError
		assert.ErrorAs(t, dialErr(t, cfg, sshdOptions()), &uh)
	})
	t.Run("changed key", func(t *testing.T) {
		cfg := d.config(remote)
		cfg.KnownHostsFile = d.knownHostsWith(t, sftptest.NewSigner(t).PublicKey())
		var hc *sftpsource.HostKeyChangedError
		assert.ErrorAs(t, dialErr(t, cfg, sshdOptions()), &hc)
	})
	t.Run("wrong pinned fingerprint", func(t *testing.T) {
		cfg := d.config(remote)
		cfg.KnownHostsFile = ""
		cfg.HostKeyFingerprints = []string{ssh.FingerprintSHA256(sftptest.NewSigner(t).PublicKey())}
		var hc *sftpsource.HostKeyChangedError
		assert.ErrorAs(t, dialErr(t, cfg, sshdOptions()), &hc)
	})
}

func TestSSHDCheck(t *testing.T) {
	d := realSSHD(t)
	remote, local := d.newFolder(t)
	require.NoError(t, put(local, "users.csv", synctest.CSV(3), time.Now()))
	for _, r := range sftpsource.CheckConfig(t.Context(), d.config(remote), sshdOptions()) {
		assert.NoError(t, r.Err, r.Name)
		t.Logf("%s: %s", r.Name, r.Detail)
	}
	wrong := d.config(remote)
	wrong.Password = "nope"
	results := sftpsource.CheckConfig(t.Context(), wrong, sshdOptions())
	assert.ErrorIs(t, results[2].Err, sftpsource.ErrAuth)
}

func TestSSHDPickup(t *testing.T) {
	d := realSSHD(t)
	for _, after := range []source.AfterSuccess{source.Archive, source.Delete} {
		remote, local := d.newFolder(t)
		require.NoError(t, put(local, "users.csv", synctest.CSV(50), time.Now()))
		s := synctest.New(t, dial(t, d.config(remote), sshdOptions()), source.PickupOptions{Pattern: "users.csv", AfterSuccess: after})
		res, err := s.P.Run(t.Context())
		require.NoError(t, err)
		require.NoError(t, res.Files[0].FinishErr)
		assert.Equal(t, 50, s.Users())
		assert.False(t, exists(local, "users.csv"))
		assert.Equal(t, after == source.Archive, exists(local, "archive/20260314T020000Z-users.csv"))
	}
}

func TestSSHDFaults(t *testing.T) {
	d := realSSHD(t)
	remote, local := d.newFolder(t)
	data := synctest.CSV(20000)
	require.NoError(t, put(local, "users.csv", data, time.Now()))
	proxy := sftptest.NewProxy(t, d.addr)
	cfg := d.config(remote)
	cfg.Addr = proxy.Addr
	cfg.KnownHostsFile = ""
	for _, k := range d.hostKeys(t) {
		cfg.HostKeyFingerprints = append(cfg.HostKeyFingerprints, ssh.FingerprintSHA256(k))
	}

	t.Run("cut mid-transfer", func(t *testing.T) {
		proxy.CutAfter(300 << 10)
		s := synctest.New(t, dial(t, cfg, sshdOptions()), source.PickupOptions{AfterSuccess: source.Delete})
		res, err := s.P.Run(t.Context())
		require.Error(t, err)
		assert.Equal(t, usersync.Failed, res.Status)
		assert.Zero(t, s.Users(), "nothing applied")
		assert.True(t, exists(local, "users.csv"), "the file stays for the next run")
		proxy.CutAfter(0)
	})
	t.Run("server stops answering", func(t *testing.T) {
		opts := sshdOptions()
		opts.Timeout, opts.KeepAlive = time.Second, 100*time.Millisecond
		// One read in flight, so that the file cannot have arrived whole
		// before the proxy stalls.
		opts.Concurrency = 1
		src := dial(t, cfg, opts)
		rc, err := src.Open(t.Context(), "users.csv")
		require.NoError(t, err)
		defer rc.Close()
		_, err = io.ReadFull(rc, make([]byte, 1000))
		require.NoError(t, err)
		proxy.Stall()
		within(t, timeoutBound, func() { _, err = io.Copy(io.Discard, rc) })
		assert.ErrorIs(t, err, sftpsource.ErrTimeout)
	})
}

package sftpserver_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	"github.com/usersync/usersync/source/sftpserver"
)

// testServer is a Server on 127.0.0.1 with tenants made by addTenant, an
// audit log the test can read, and the uploads it announced.
type testServer struct {
	*sftpserver.Server
	addr    string
	hostKey ssh.Signer
	tenants *sftpserver.MemTenants
	audit   *auditLog
	dir     string // holds the tenants' folders

	mu      sync.Mutex
	uploads []sftpserver.Upload
	onEvent chan sftpserver.Upload
}

// newTestServer starts a server; opts may be nil. Failed-password delays
// are off unless opts sets them, so that tests do not wait.
func newTestServer(t testing.TB, opts *sftpserver.Options) *testServer {
	t.Helper()
	ts := &testServer{
		hostKey: newSigner(t),
		tenants: &sftpserver.MemTenants{},
		audit:   &auditLog{},
		dir:     t.TempDir(),
		onEvent: make(chan sftpserver.Upload, 1024),
	}
	o := sftpserver.Options{}
	if opts != nil {
		o = *opts
	}
	if o.Lockout.Delay == 0 {
		o.Lockout.Delay = -1
	}
	o.Logger = slog.New(ts.audit)
	user := o.OnUpload
	o.OnUpload = func(u sftpserver.Upload) {
		ts.mu.Lock()
		ts.uploads = append(ts.uploads, u)
		ts.mu.Unlock()
		select {
		case ts.onEvent <- u:
		default:
		}
		if user != nil {
			user(u)
		}
	}
	srv, err := sftpserver.New(sftpserver.Config{HostKeys: []ssh.Signer{ts.hostKey}, Tenants: ts.tenants}, &o)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ts.Server, ts.addr = srv, ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		require.ErrorIs(t, <-served, sftpserver.ErrServerClosed)
	})
	return ts
}

// tenant is a tenant's login.
type tenant struct {
	id, user, password, root string
	key                      ssh.Signer
}

// addTenant makes a folder and a login for a tenant, with a password and
// a key. Its password hash is a cheap bcrypt one, to keep tests fast.
func (ts *testServer) addTenant(t testing.TB, id string, quota sftpserver.Quota) *tenant {
	t.Helper()
	tn := &tenant{id: id, user: id + "-user", password: "pw-" + randomHex(8), root: filepath.Join(ts.dir, id), key: newSigner(t)}
	require.NoError(t, os.Mkdir(tn.root, 0o750))
	hash, err := bcrypt.GenerateFromPassword([]byte(tn.password), bcrypt.MinCost)
	require.NoError(t, err)
	require.NoError(t, ts.tenants.Set(tn.user, sftpserver.Tenant{
		ID: id, Root: tn.root, PasswordHashes: []string{string(hash)},
		AuthorizedKeys: []ssh.PublicKey{tn.key.PublicKey()}, Quota: quota,
	}))
	return tn
}

// sshConfig returns a client configuration that trusts only the server's
// host key.
func (ts *testServer) sshConfig(user string, auth ...ssh.AuthMethod) *ssh.ClientConfig {
	return &ssh.ClientConfig{
		User:            user,
		Auth:            auth,
		HostKeyCallback: ssh.FixedHostKey(ts.hostKey.PublicKey()),
		Timeout:         10 * time.Second,
	}
}

// dialSSH logs in as the tenant, with its key.
func (ts *testServer) dialSSH(tn *tenant) (*ssh.Client, error) {
	return ssh.Dial("tcp", ts.addr, ts.sshConfig(tn.user, ssh.PublicKeys(tn.key)))
}

// client returns an SFTP client logged in as the tenant, closed when the
// test ends.
func (ts *testServer) client(t testing.TB, tn *tenant) *sftp.Client {
	t.Helper()
	sc, err := ts.dialSSH(tn)
	require.NoError(t, err)
	c, err := sftp.NewClient(sc)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close(); sc.Close() })
	return c
}

// passwordLogin tries to log in with a password and returns the error.
func (ts *testServer) passwordLogin(user, password string) error {
	sc, err := ssh.Dial("tcp", ts.addr, ts.sshConfig(user, ssh.Password(password)))
	if err == nil {
		sc.Close()
	}
	return err
}

// passwordLoginFrom is passwordLogin from the loopback address src, such
// as 127.0.0.2 (all of 127.0.0.0/8 is loopback).
func (ts *testServer) passwordLoginFrom(src, user, password string) error {
	return ts.loginFrom(src, ts.sshConfig(user, ssh.Password(password)))
}

// loginFrom logs in with cfg from the loopback address src and returns the
// error.
func (ts *testServer) loginFrom(src string, cfg *ssh.ClientConfig) error {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	nc, err := d.Dial("tcp", ts.addr)
	if err != nil {
		return err
	}
	sc, chans, reqs, err := ssh.NewClientConn(nc, ts.addr, cfg)
	if err != nil {
		nc.Close()
		return err
	}
	ssh.NewClient(sc, chans, reqs).Close()
	return nil
}

// announced returns the uploads announced so far.
func (ts *testServer) announced() []sftpserver.Upload {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]sftpserver.Upload(nil), ts.uploads...)
}

// staged returns the names in a tenant's staging folder.
func staged(t testing.TB, tn *tenant) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(tn.root, sftpserver.StagingDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// put uploads data as name through c and returns the client's error.
func put(c *sftp.Client, name string, data []byte) error {
	f, err := c.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func newSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	return s
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// auditLog is a slog.Handler that keeps the records, with their
// attributes as strings.
type auditLog struct {
	mu      sync.Mutex
	records []auditRecord
}

type auditRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (a *auditLog) Enabled(context.Context, slog.Level) bool { return true }

func (a *auditLog) Handle(_ context.Context, r slog.Record) error {
	rec := auditRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	r.Attrs(func(at slog.Attr) bool {
		rec.attrs[at.Key] = at.Value.String()
		return true
	})
	a.mu.Lock()
	defer a.mu.Unlock()
	a.records = append(a.records, rec)
	return nil
}

func (a *auditLog) WithAttrs([]slog.Attr) slog.Handler { return a }
func (a *auditLog) WithGroup(string) slog.Handler      { return a }

// events returns the records whose "event" attribute is event.
func (a *auditLog) events(event string) []map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []map[string]string
	for _, r := range a.records {
		if r.attrs["event"] == event {
			out = append(out, r.attrs)
		}
	}
	return out
}

// text returns every record, for a test to search for secrets.
func (a *auditLog) text() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var s string
	for _, r := range a.records {
		s += fmt.Sprintln(r.msg, r.attrs)
	}
	return s
}

// readAll reads a file of the local disk.
func readAll(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}

var fixedTime = time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)

//go:build unix

package sftpserver_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/usersync/usersync/internal/testenv"
	"github.com/usersync/usersync/source/sftpserver"
)

// openssh runs OpenSSH's sftp client against a testServer, verifying its
// host key from a known_hosts file.
type openssh struct {
	prog, dir, knownHosts, host, port string
}

func newOpenSSH(t *testing.T, ts *testServer) *openssh {
	t.Helper()
	o := &openssh{prog: testenv.LookPath(t, "sftp"), dir: t.TempDir()}
	o.knownHosts = filepath.Join(o.dir, "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(ts.addr)}, ts.hostKey.PublicKey())
	require.NoError(t, os.WriteFile(o.knownHosts, []byte(line+"\n"), 0o600))
	var err error
	o.host, o.port, err = net.SplitHostPort(ts.addr)
	require.NoError(t, err)
	return o
}

// keyFile writes a new ed25519 private key in OpenSSH's format and returns
// its path and public key.
func (o *openssh) keyFile(t *testing.T) (string, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "sftpserver test")
	require.NoError(t, err)
	p := filepath.Join(o.dir, "id_ed25519")
	require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(block), 0o600))
	sshPub, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	return p, sshPub
}

// command returns an sftp command running batch as user ("sftp -b -",
// which stops at the first failed command not prefixed by "-"), with extra
// options before the destination.
func (o *openssh) command(ctx context.Context, user, batch string, extra ...string) *exec.Cmd {
	return o.commandArgs(ctx, user, batch, append([]string{"-b", "-"}, extra...)...)
}

// commandArgs is command without "-b -": sftp then reads its commands from
// stdin without the batch mode that -b implies, which allows passwords.
func (o *openssh) commandArgs(ctx context.Context, user, batch string, extra ...string) *exec.Cmd {
	args := []string{"-P", o.port,
		"-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + o.knownHosts,
		"-o", "GlobalKnownHostsFile=/dev/null", "-F", "/dev/null"}
	args = append(append(args, extra...), user+"@"+o.host)
	cmd := exec.CommandContext(ctx, o.prog, args...)
	cmd.Stdin = strings.NewReader(batch)
	cmd.Env = append(os.Environ(), "HOME="+o.dir)
	return cmd
}

func TestOpenSSHClientUploads(t *testing.T) {
	ts := newTestServer(t, nil)
	o := newOpenSSH(t, ts)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	key, pub := o.keyFile(t)
	require.NoError(t, ts.tenants.AddKey(acme.user, pub))

	users := usersCSV(30000) // about 1.4 MB: many requests in flight
	local := filepath.Join(o.dir, "users.csv")
	require.NoError(t, os.WriteFile(local, users, 0o600))
	mtime := time.Date(2026, 11, 20, 22, 30, 0, 0, time.UTC)
	require.NoError(t, os.Chtimes(local, mtime, mtime))
	batch := fmt.Sprintf(`put %[1]s users.csv
mkdir archive
put -p %[1]s archive/users-2026-11-20.csv
rename users.csv today.csv
ls -l
-get today.csv %[2]s/back.csv
-symlink today.csv link.csv
-put %[1]s ../../escape.csv
-cd ..
-put %[1]s /.usersync-uploads/x
rm archive/users-2026-11-20.csv
rmdir archive
`, local, o.dir)
	out, err := o.command(t.Context(), acme.user, batch, "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes").CombinedOutput()
	require.NoError(t, err, "%s", out)

	// "../../escape.csv" and "cd .." stay in the tenant's folder.
	assert.Equal(t, map[string]int64{"today.csv": int64(len(users)), "escape.csv": int64(len(users))}, folderFiles(t, acme))
	assert.Equal(t, users, readAll(t, filepath.Join(acme.root, "today.csv")))
	assert.NoFileExists(t, filepath.Join(o.dir, "back.csv"), "downloads are off")
	assert.NoFileExists(t, filepath.Join(ts.dir, "escape.csv"))
	assert.Empty(t, staged(t, acme))

	var events []string
	for _, u := range ts.announced() {
		assert.Equal(t, "acme", u.TenantID)
		if u.RenamedFrom == "" {
			assert.Equal(t, sha256Hex(users), u.SHA256, u.Name)
		}
		events = append(events, u.Name+"<"+u.RenamedFrom)
	}
	assert.Equal(t, []string{"users.csv<", "archive/users-2026-11-20.csv<", "today.csv<users.csv", "escape.csv<"}, events)
	uploads := ts.audit.events("upload")
	require.Len(t, uploads, 3)
	var denied []string
	for _, e := range ts.audit.events("denied") {
		denied = append(denied, e["request"])
	}
	assert.Equal(t, []string{"download", "symlink"}, denied)
	assert.Equal(t, "publickey", ts.audit.events("login")[0]["method"])
	assert.Contains(t, string(out), "today.csv")
}

func TestOpenSSHClientPreservesTimes(t *testing.T) {
	ts := newTestServer(t, nil)
	o := newOpenSSH(t, ts)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	key, pub := o.keyFile(t)
	require.NoError(t, ts.tenants.AddKey(acme.user, pub))
	local := filepath.Join(o.dir, "users.csv")
	require.NoError(t, os.WriteFile(local, usersCSV(10), 0o600))
	mtime := time.Date(2026, 11, 20, 22, 30, 0, 0, time.UTC)
	require.NoError(t, os.Chtimes(local, mtime, mtime))
	out, err := o.command(t.Context(), acme.user, "put -p "+local+" users.csv\n", "-i", key, "-o", "BatchMode=yes").CombinedOutput()
	require.NoError(t, err, "%s", out)
	fi, err := os.Stat(filepath.Join(acme.root, "users.csv"))
	require.NoError(t, err)
	assert.True(t, fi.ModTime().Equal(mtime), "mtime %v", fi.ModTime())
}

func TestOpenSSHClientPasswordAndBanner(t *testing.T) {
	ts := newTestServer(t, &sftpserver.Options{Banner: "Acme drop box: authorized use only\n"})
	o := newOpenSSH(t, ts)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	askpass := filepath.Join(o.dir, "askpass")
	require.NoError(t, os.WriteFile(askpass, []byte("#!/bin/sh\nprintf '%s\\n' \"$SFTP_TEST_PASSWORD\"\n"), 0o700))
	run := func(password string) ([]byte, error) {
		cmd := o.commandArgs(t.Context(), acme.user, "ls\n",
			"-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1")
		cmd.Env = append(cmd.Env, "SSH_ASKPASS="+askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=none", "SFTP_TEST_PASSWORD="+password)
		return cmd.CombinedOutput()
	}
	out, err := run(acme.password)
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "Acme drop box")
	out, err = run("wrong")
	require.Error(t, err, "%s", out)
	assert.Len(t, ts.audit.events("login"), 1)
	assert.Len(t, ts.audit.events("login_failed"), 1)
	assert.NotContains(t, ts.audit.text(), acme.password)
}

func TestOpenSSHClientRefusesAnUnknownHostKey(t *testing.T) {
	ts := newTestServer(t, nil)
	o := newOpenSSH(t, ts)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	key, pub := o.keyFile(t)
	require.NoError(t, ts.tenants.AddKey(acme.user, pub))
	other := newSigner(t).PublicKey()
	require.NoError(t, os.WriteFile(o.knownHosts, []byte(knownhosts.Line([]string{knownhosts.Normalize(ts.addr)}, other)+"\n"), 0o600))
	out, err := o.command(t.Context(), acme.user, "ls\n", "-i", key, "-o", "BatchMode=yes").CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "HOST IDENTIFICATION HAS CHANGED")
	assert.Empty(t, ts.audit.events("login"))
}

// TestOpenSSHClientKilledMidUpload kills sftp (and its ssh) while it
// uploads, slowed down by its bandwidth limit so that it is surely mid-way:
// the file never appears and nothing is announced.
func TestOpenSSHClientKilledMidUpload(t *testing.T) {
	ts := newTestServer(t, nil)
	o := newOpenSSH(t, ts)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	key, pub := o.keyFile(t)
	require.NoError(t, ts.tenants.AddKey(acme.user, pub))
	local := filepath.Join(o.dir, "users.csv")
	require.NoError(t, os.WriteFile(local, usersCSV(300000), 0o600)) // about 14 MB
	cmd := o.command(t.Context(), acme.user, "put "+local+" users.csv\n", "-i", key, "-o", "BatchMode=yes", "-l", "4000")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	require.Eventually(t, func() bool {
		names := staged(t, acme)
		if len(names) != 1 {
			return false
		}
		fi, err := os.Stat(filepath.Join(acme.root, sftpserver.StagingDir, names[0]))
		return err == nil && fi.Size() >= 256<<10
	}, 30*time.Second, 5*time.Millisecond, "upload under way")
	require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL))
	cmd.Wait()

	require.Eventually(t, func() bool { return len(ts.audit.events("upload_failed")) == 1 }, 10*time.Second, 10*time.Millisecond)
	assert.Empty(t, staged(t, acme))
	assert.Empty(t, folderFiles(t, acme))
	assert.Empty(t, ts.announced())
}

// OpenSSH's client shows why a connection over the per-address limit is
// refused.
func TestOpenSSHClientIsToldWhyItIsRefused(t *testing.T) {
	ts := newTestServer(t, &sftpserver.Options{MaxConnectionsPerIP: 1})
	o := newOpenSSH(t, ts)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	nc, err := net.Dial("tcp", ts.addr) // the one connection allowed (accepted first: Serve accepts in order)
	require.NoError(t, err)
	defer nc.Close()
	out, err := o.command(t.Context(), acme.user, "ls\n", "-o", "BatchMode=yes").CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "too many connections from this address, try again later")
}

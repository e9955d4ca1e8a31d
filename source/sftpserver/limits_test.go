package sftpserver_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/source/sftpserver"
)

// sftpSession tries to log in as the tenant and start SFTP.
func (ts *testServer) sftpSession(tn *tenant) (*sftp.Client, error) {
	sc, err := ts.dialSSH(tn)
	if err != nil {
		return nil, err
	}
	c, err := sftp.NewClient(sc)
	if err != nil {
		sc.Close()
		return nil, err
	}
	return c, nil
}

func TestSessionsPerTenantAreLimited(t *testing.T) {
	ts := newTestServer(t, &sftpserver.Options{MaxSessionsPerTenant: 2})
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	globex := ts.addTenant(t, "globex", sftpserver.Quota{})
	first, err := ts.dialSSH(acme) // a session is a logged-in connection
	require.NoError(t, err)
	ts.client(t, acme)
	// The server counts a session once the client is in: wait for it.
	require.Eventually(t, func() bool { return len(ts.audit.events("login")) == 2 }, 5*time.Second, 5*time.Millisecond)
	_, err = ts.sftpSession(acme)
	require.Error(t, err)
	refused := ts.audit.events("refused")
	require.Len(t, refused, 1)
	assert.Equal(t, "too many sessions", refused[0]["reason"])
	assert.Equal(t, "acme", refused[0]["tenant"])

	ts.client(t, globex) // another tenant is not affected

	first.Close()
	require.Eventually(t, func() bool {
		c, err := ts.sftpSession(acme)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 5*time.Second, 20*time.Millisecond)
}

func TestConnectionsPerAddressAreLimited(t *testing.T) {
	ts := newTestServer(t, &sftpserver.Options{MaxConnectionsPerIP: 2})
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	for range 2 { // connected, not logged in
		nc, err := net.Dial("tcp", ts.addr)
		require.NoError(t, err)
		defer nc.Close()
	}
	_, err := ts.dialSSH(acme)
	require.Error(t, err)
	// The client is told why, in an SSH disconnect message, rather than
	// left with "handshake failed: EOF".
	assert.ErrorContains(t, err, "too many connections from this address, try again later")
	assert.ErrorContains(t, err, "reason 12")
	refused := ts.audit.events("refused")
	require.Len(t, refused, 1)
	assert.Equal(t, "too many connections from this address", refused[0]["reason"])
}

func TestConnectionsAreLimited(t *testing.T) {
	ts := newTestServer(t, &sftpserver.Options{MaxConnections: 1})
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	ts.client(t, acme)
	_, err := ts.dialSSH(acme)
	assert.ErrorContains(t, err, "too many connections to this server, try again later")
	assert.Equal(t, "too many connections", ts.audit.events("refused")[0]["reason"])
}

func TestLoginTimeout(t *testing.T) {
	ts := newTestServer(t, &sftpserver.Options{LoginTimeout: 100 * time.Millisecond})
	nc, err := net.Dial("tcp", ts.addr)
	require.NoError(t, err)
	defer nc.Close()
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.Copy(io.Discard, nc) // the version line, then nothing: the server hangs up
	require.NoError(t, err, "closed by the server, not by the read deadline")
	require.Eventually(t, func() bool { return len(ts.audit.events("handshake_failed")) == 1 }, 5*time.Second, 10*time.Millisecond)
}

func TestIdleConnectionsAreClosed(t *testing.T) {
	ts := newTestServer(t, &sftpserver.Options{IdleTimeout: 100 * time.Millisecond})
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	c := ts.client(t, acme)
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("idle connection still open")
	}
	require.Len(t, ts.audit.events("idle_timeout"), 1)
}

func TestActiveConnectionsAreNotIdle(t *testing.T) {
	ts := newTestServer(t, &sftpserver.Options{IdleTimeout: 2 * time.Second})
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	c := ts.client(t, acme)
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		_, err := c.Getwd()
		require.NoError(t, err)
		_, err = c.ReadDir("/")
		require.NoError(t, err)
	}
	assert.Empty(t, ts.audit.events("idle_timeout"))
}

func TestShutdownLetsUploadsFinish(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	uploader, idle := ts.client(t, acme), ts.client(t, acme)
	f, err := uploader.Create("users.csv")
	require.NoError(t, err)
	data := randomBytes(1 << 20)
	_, err = f.Write(data[:1<<19])
	require.NoError(t, err)

	shut := make(chan error, 1)
	go func() { shut <- ts.Shutdown(context.Background()) }()
	idleDone := make(chan error, 1)
	go func() { idleDone <- idle.Wait() }()
	select {
	case <-idleDone: // closed at once, having nothing in progress
	case <-time.After(10 * time.Second):
		t.Fatal("idle connection not closed by Shutdown")
	}
	require.Eventually(t, func() bool {
		_, err := ts.dialSSH(acme)
		return err != nil
	}, 5*time.Second, 10*time.Millisecond, "new connections refused")

	// The upload in progress completes; no new one may start.
	_, err = f.Write(data[1<<19:])
	require.NoError(t, err)
	assert.Error(t, put(uploader, "another.csv", nil))
	require.NoError(t, f.Close())
	select {
	case err := <-shut:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return after the last upload")
	}
	assert.Equal(t, data, readAll(t, acme.root+"/users.csv"))
	require.Len(t, ts.announced(), 1)
	assert.Equal(t, sha256Hex(data), ts.announced()[0].SHA256)
}

func TestShutdownDeadlineDiscardsUnfinishedUploads(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	f, err := ts.client(t, acme).Create("users.csv")
	require.NoError(t, err)
	_, err = f.Write([]byte("id;name\n1;An"))
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, ts.Shutdown(ctx), context.DeadlineExceeded)
	assert.Error(t, f.Close())
	assert.Empty(t, folderFiles(t, acme))
	assert.Empty(t, staged(t, acme))
	assert.Empty(t, ts.announced())
}

func TestDisconnectEndsARevokedUsersSessions(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	globex := ts.addTenant(t, "globex", sftpserver.Quota{})
	c := ts.client(t, acme)
	other := ts.client(t, globex)

	require.NoError(t, ts.tenants.RevokeKey(acme.user, acme.key.PublicKey()))
	_, err := ts.dialSSH(acme)
	require.Error(t, err, "the revoked key no longer logs in")
	_, err = c.Getwd()
	require.NoError(t, err, "sessions already open go on until disconnected")

	assert.Equal(t, 1, ts.Disconnect(acme.user))
	require.Error(t, c.Wait())
	_, err = other.Getwd()
	require.NoError(t, err)
}

package sftpsource_test

import (
	"context"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/sftptest"
	"github.com/usersync/usersync/source/sftpsource"
)

// shortTimeouts make a dead server show within a second (three to connect), and are still
// long enough for a healthy one under the race detector on a busy machine.
func shortTimeouts() *sftpsource.Options {
	o := fastOptions()
	o.ConnectTimeout, o.Timeout, o.KeepAlive = 3*time.Second, time.Second, 100*time.Millisecond
	return o
}

// timeoutBound is how long a test waits for a one-second timeout.
const timeoutBound = 5 * time.Second

// within fails t if fn does not return within d.
func within(t *testing.T, d time.Duration, fn func()) {
	t.Helper()
	start := time.Now()
	fn()
	assert.Less(t, time.Since(start), d, "took too long")
}

// A TCP listener that never speaks SSH: the handshake deadline ends the
// wait, and a timeout is not retried.
func TestHandshakeTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	srv := sftptest.NewServer(t, nil)
	cfg := config(t, srv)
	cfg.Addr = ln.Addr().String()
	within(t, timeoutBound, func() {
		err = dialErr(t, cfg, shortTimeouts())
	})
	assert.ErrorIs(t, err, sftpsource.ErrTimeout)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
}

// An SFTP server that stops answering while SSH keeps answering: each
// operation fails within Timeout, and the next one reconnects.
func TestStalledServer(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", []byte("x"), time.Now()))
	s := dial(t, config(t, srv), shortTimeouts())
	srv.Stall()
	var err error
	within(t, timeoutBound, func() { _, err = s.List(t.Context()) })
	assert.ErrorIs(t, err, sftpsource.ErrTimeout)

	srv.Resume()
	files, err := s.List(t.Context())
	require.NoError(t, err)
	assert.Len(t, files, 1)
	assert.Equal(t, 2, srv.Logins(), "a new connection after the timeout")
}

// A connection that goes silent (a dead server, a dropped NAT mapping)
// fails within Timeout, in an operation and in a download.
func TestSilentConnection(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	data := make([]byte, 8<<20)
	require.NoError(t, srv.Put("in/users.csv", data, time.Now()))
	proxy := sftptest.NewProxy(t, srv.Addr)
	cfg := config(t, srv)
	cfg.Addr = proxy.Addr
	cfg.KnownHostsFile = srv.KnownHosts(t) // recorded for the server's own address
	cfg.HostKeyFingerprints = []string{srv.Fingerprint()}
	s := dial(t, cfg, shortTimeouts())

	rc, err := s.Open(t.Context(), "users.csv")
	require.NoError(t, err)
	defer rc.Close()
	_, err = io.ReadFull(rc, make([]byte, 64<<10))
	require.NoError(t, err)
	proxy.Stall()
	within(t, timeoutBound, func() { _, err = io.Copy(io.Discard, rc) })
	assert.ErrorIs(t, err, sftpsource.ErrTimeout)
	within(t, timeoutBound, func() { rc.Close() })

	within(t, 2*timeoutBound, func() { _, err = s.List(t.Context()) })
	assert.ErrorIs(t, err, sftpsource.ErrTimeout, "the new connection hangs too: connecting times out")
}

// Keepalives keep a quiet, healthy connection open past Timeout.
func TestKeepAlive(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", []byte("x"), time.Now()))
	s := dial(t, config(t, srv), shortTimeouts())
	time.Sleep(2500 * time.Millisecond) // over twice Timeout with nothing to do
	_, err := s.List(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Logins(), "the first connection is still up")
}

func TestReconnectsAfterDrop(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", []byte("x"), time.Now()))
	s := dial(t, config(t, srv), nil)
	srv.DropConnections() // a server restart
	files, err := s.List(t.Context())
	require.NoError(t, err)
	assert.Len(t, files, 1)
	assert.Equal(t, 2, srv.Logins())
}

func TestCancelStalledOperation(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	opts := fastOptions()
	opts.Timeout = time.Minute
	s := dial(t, config(t, srv), opts)
	srv.Stall()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	var err error
	within(t, timeoutBound, func() { _, err = s.List(ctx) })
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestClosedDuringDownload(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", make([]byte, 4<<20), time.Now()))
	s := dial(t, config(t, srv), nil)
	rc, err := s.Open(t.Context(), "users.csv")
	require.NoError(t, err)
	_, err = rc.Read(make([]byte, 10))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = io.Copy(io.Discard, rc)
	assert.Error(t, err, "a download cannot outlive its Source")
	rc.Close()
}

// A file that grows or shrinks between Open and the end of its download
// fails: the stream must end at the size the server reported.
func TestSizeChangesDuringDownload(t *testing.T) {
	for name, change := range map[string][]byte{"grew": make([]byte, 3<<20), "shrank": make([]byte, 1<<20)} {
		t.Run(name, func(t *testing.T) {
			srv := sftptest.NewServer(t, nil)
			require.NoError(t, srv.Put("in/users.csv", make([]byte, 2<<20), time.Now()))
			opts := fastOptions()
			opts.Concurrency = 1 // nothing read ahead before the change
			s := dial(t, config(t, srv), opts)
			rc, err := s.Open(t.Context(), "users.csv")
			require.NoError(t, err)
			defer rc.Close()
			require.NoError(t, os.WriteFile(srv.Dir+"/in/users.csv", change, 0o644))
			_, err = io.Copy(io.Discard, rc)
			assert.ErrorIs(t, err, usersync.ErrIntegrity)
		})
	}
}

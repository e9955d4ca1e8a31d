package ftpsource_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/ftptest"
	"github.com/usersync/usersync/internal/netfault"
	"github.com/usersync/usersync/source/ftpsource"
)

// shortTimeouts make a dead server show within a second (three to
// connect), and are still long enough for a healthy one under the race
// detector on a busy machine.
func shortTimeouts() *ftpsource.Options {
	o := fastOptions()
	o.ConnectTimeout, o.Timeout = 3*time.Second, time.Second
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

// viaProxy makes opts dial every connection, control and data, through a
// new fault proxy.
func viaProxy(t *testing.T, opts *ftpsource.Options) *netfault.Proxy {
	proxy := netfault.NewProxy(t, "")
	opts.DialContext = proxy.DialContext
	return proxy
}

// A TCP listener that never speaks FTP: connecting times out, and a
// timeout is not retried.
func TestGreetingTimeout(t *testing.T) {
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
	cfg := ftpsource.Config{Host: ln.Addr().String(), User: "u", Password: "p"}
	opts := shortTimeouts()
	opts.ConnectTimeout = time.Second
	within(t, timeoutBound, func() { _, err = ftpsource.Dial(t.Context(), cfg, opts) })
	assert.ErrorIs(t, err, ftpsource.ErrTimeout)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
}

// A server that stops answering: a listing and a download under way each
// fail within Timeout, and so does the next connection.
func TestStalledServer(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", make([]byte, 8<<20), time.Now()))
	opts := shortTimeouts()
	proxy := viaProxy(t, opts)
	s := dial(t, config(srv), opts)

	rc, err := s.Open(t.Context(), "users.csv")
	require.NoError(t, err)
	defer rc.Close()
	_, err = io.ReadFull(rc, make([]byte, 64<<10))
	require.NoError(t, err)
	proxy.Stall()
	within(t, timeoutBound, func() { _, err = io.Copy(io.Discard, rc) })
	assert.ErrorIs(t, err, ftpsource.ErrTimeout)
	within(t, timeoutBound, func() { rc.Close() })

	within(t, 2*timeoutBound, func() { _, err = s.List(t.Context()) })
	assert.ErrorIs(t, err, ftpsource.ErrTimeout)

	proxy.Resume()
	files, err := s.List(t.Context())
	require.NoError(t, err)
	assert.Len(t, files, 1)
}

// A canceled ctx interrupts a read blocked on a silent server at once.
func TestCancelInterruptsBlockedRead(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", make([]byte, 8<<20), time.Now()))
	opts := fastOptions() // Timeout 5s: the cancel must come first
	proxy := viaProxy(t, opts)
	s := dial(t, config(srv), opts)
	ctx, cancel := context.WithCancel(t.Context())
	rc, err := s.Open(ctx, "users.csv")
	require.NoError(t, err)
	defer rc.Close()
	_, err = io.ReadFull(rc, make([]byte, 64<<10))
	require.NoError(t, err)
	proxy.Stall()
	time.AfterFunc(200*time.Millisecond, cancel)
	within(t, 2*time.Second, func() { _, err = io.Copy(io.Discard, rc) })
	assert.ErrorIs(t, err, context.Canceled)
}

// The server sends every byte, then reports the transfer failed: the file
// fails, whatever arrived.
func TestFinalReplyFailure(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	data := make([]byte, 300_000)
	require.NoError(t, srv.Put("in/users.csv", data, time.Now()))
	s := dial(t, config(srv), nil)

	srv.SetFault(ftptest.Reply426)
	got, err := readAll(t.Context(), s, "users.csv")
	assert.Len(t, got, len(data), "every byte came")
	assert.ErrorIs(t, err, usersync.ErrIntegrity)
	assert.ErrorContains(t, err, "426")

	srv.SetFault(ftptest.ShortData)
	_, err = readAll(t.Context(), s, "users.csv")
	assert.ErrorIs(t, err, usersync.ErrIntegrity)
	assert.ErrorContains(t, err, "ended after 150000 bytes")

	srv.SetFault(ftptest.NoFault)
	got, err = readAll(t.Context(), s, "users.csv")
	require.NoError(t, err, "the Source recovers")
	assert.Len(t, got, len(data))
}

// A server that never sends the final reply (rclone issue 3086): the
// download fails within Timeout instead of hanging.
func TestNoFinalReply(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", make([]byte, 100_000), time.Now()))
	s := dial(t, config(srv), shortTimeouts())
	srv.SetFault(ftptest.NoFinalReply)
	var err error
	within(t, timeoutBound, func() { _, err = readAll(t.Context(), s, "users.csv") })
	assert.ErrorIs(t, err, usersync.ErrIntegrity)
	assert.ErrorIs(t, err, ftpsource.ErrTimeout)
}

// Connections that break while idle are replaced: the next call retries
// on a new one.
func TestReconnectsAfterDrop(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", []byte("id\n1\n"), time.Now()))
	opts := fastOptions()
	proxy := viaProxy(t, opts)
	s := dial(t, config(srv), opts)
	proxy.Drop()
	data, err := readAll(t.Context(), s, "users.csv")
	require.NoError(t, err)
	assert.Equal(t, "id\n1\n", string(data))
	assert.Equal(t, 2, srv.Logins())
}

// A PASV answer naming another host (a server behind NAT, or a hostile
// one) is not followed: data connections go to the control connection's
// host.
func TestPassiveAddressIgnored(t *testing.T) {
	srv := ftptest.NewServer(t, &ftptest.Options{PASVAddress: "10.11.12.13"})
	require.NoError(t, srv.Put("in/users.csv", []byte("id\n1\n"), time.Now()))
	opts := fastOptions()
	opts.DisableEPSV = true
	var mu sync.Mutex
	var dialed []string
	opts.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dialed = append(dialed, addr)
		mu.Unlock()
		if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
			return nil, errors.New("test: refusing to dial " + addr) // never leave the machine
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	s := dial(t, config(srv), opts)
	data, err := readAll(t.Context(), s, "users.csv")
	require.NoError(t, err)
	assert.Equal(t, "id\n1\n", string(data))
	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, len(dialed), 2)
	for _, addr := range dialed {
		host, _, _ := net.SplitHostPort(addr)
		assert.Equal(t, "127.0.0.1", host, "dialed %s", addr)
	}
}

// At most MaxConnections connections, however many readers: the others
// wait their turn.
func TestMaxConnections(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		require.NoError(t, srv.Put("in/"+n+".csv", make([]byte, 200_000), time.Now()))
	}
	opts := fastOptions()
	opts.MaxConnections = 2
	s := dial(t, config(srv), opts)
	var wg sync.WaitGroup
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		wg.Go(func() {
			data, err := readAll(t.Context(), s, n+".csv")
			assert.NoError(t, err)
			assert.Len(t, data, 200_000)
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, srv.Logins(), 2)
	total, resumed := srv.DataTLS()
	assert.Equal(t, total, resumed, "every data connection resumed its control connection's session")
}

// A reader that waits for a connection gives up when its ctx ends.
func TestWaitForConnectionHonorsContext(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", make([]byte, 1000), time.Now()))
	opts := fastOptions()
	opts.MaxConnections = 1
	s := dial(t, config(srv), opts)
	rc, err := s.Open(t.Context(), "users.csv")
	require.NoError(t, err)
	defer rc.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err = s.List(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

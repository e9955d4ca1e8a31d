package sftpsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/usersync/usersync/internal/retry"
)

// errConnLost is why a connection that broke on its own died: the server
// closed it, or the network did. Operations on it are retried on a new one.
var errConnLost = errors.New("connection to the server lost")

// conn is one SSH connection and its SFTP session.
type conn struct {
	sftp  *sftp.Client
	ssh   *ssh.Client   // nil for a client given to New
	nc    *deadlineConn // nil for a client given to New
	posix bool          // the server replaces files on rename (posix-rename@openssh.com)
	chunk int           // bytes per read request
	reqs  int           // read requests a download keeps in flight

	once sync.Once
	dead chan struct{}
	err  error // why it died; set before dead is closed
}

func newConn(sc *sftp.Client, client *ssh.Client, nc *deadlineConn, o Options) *conn {
	c := &conn{sftp: sc, ssh: client, nc: nc, dead: make(chan struct{})}
	_, c.posix = sc.HasExtension("posix-rename@openssh.com")
	c.chunk = o.MaxPacket
	if c.chunk == 0 {
		c.chunk = DefaultMaxPacket
		if _, ok := sc.HasExtension("limits@openssh.com"); ok && client != nil {
			c.chunk = MaxPacketOpenSSH
		}
	}
	c.reqs = o.Concurrency
	if c.reqs == 0 {
		c.reqs = min(64, max(1, DefaultInFlight/c.chunk))
	}
	go func() {
		err := sc.Wait()
		if nc != nil && nc.timedOut.Load() {
			c.kill(timeout("the connection was silent", nc.idle()))
			return
		}
		c.kill(fmt.Errorf("%w: %v", errConnLost, err))
	}()
	return c
}

// kill closes the connection, recording why, which makes every operation
// under way on it return.
func (c *conn) kill(why error) {
	c.once.Do(func() {
		c.err = why
		close(c.dead)
		if c.ssh != nil {
			c.ssh.Close()
		}
		c.sftp.Close()
	})
}

func (c *conn) alive() bool {
	select {
	case <-c.dead:
		return false
	default:
		return true
	}
}

// run calls fn, which uses the connection. If ctx ends, or fn takes longer
// than limit, the connection is closed to make fn return, and run returns
// why.
func (c *conn) run(ctx context.Context, limit time.Duration, what string, fn func() error) error {
	stop := context.AfterFunc(ctx, func() { c.kill(context.Cause(ctx)) })
	t := time.AfterFunc(limit, func() { c.kill(timeout(what, limit)) })
	err := fn()
	t.Stop()
	stop()
	if err != nil {
		return c.failed(err)
	}
	return nil
}

// failed returns the error to report for a request that failed with err:
// if the connection is gone, why it went (a canceled ctx, a timeout, the
// server or the network), closing it if that was not noticed yet;
// otherwise err.
func (c *conn) failed(err error) error {
	switch {
	case !c.alive():
	case c.nc != nil && c.nc.timedOut.Load():
		c.kill(timeout("the connection was silent", c.nc.idle()))
	case brokenConn(err):
		c.kill(fmt.Errorf("%w: %v", errConnLost, err))
	default:
		return err
	}
	return c.err
}

// brokenConn reports whether err says the connection is gone, which
// pkg/sftp may tell a request before the connection's end is noticed.
func brokenConn(err error) bool {
	return errors.Is(err, sftp.ErrSSHFxConnectionLost) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// keepAlive asks the server for a sign of life every interval until the
// connection dies. Each answer is bytes read, which keeps the idle
// deadline of deadlineConn from firing on a healthy, quiet connection.
func (c *conn) keepAlive(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.dead:
			return
		case <-t.C:
			// The reply (even "unsupported") is what counts; a dead
			// server is caught by the idle deadline.
			_, _, _ = c.ssh.SendRequest("keepalive@openssh.com", true, nil)
		}
	}
}

// deadlineConn fails a Read that waits longer than its idle time, and a
// Write that cannot go out within it: without that, a server that stops
// answering (or a dropped NAT mapping) leaves every SFTP request waiting
// forever. Before the idle time is set (during the handshake) the
// connection's own deadline applies.
type deadlineConn struct {
	net.Conn
	idleNS   atomic.Int64
	timedOut atomic.Bool
}

func (c *deadlineConn) idle() time.Duration { return time.Duration(c.idleNS.Load()) }

func (c *deadlineConn) Read(p []byte) (int, error) {
	if d := c.idle(); d > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(d))
	}
	n, err := c.Conn.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.timedOut.Store(true)
	}
	return n, err
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	if d := c.idle(); d > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(d))
	}
	n, err := c.Conn.Write(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.timedOut.Store(true)
	}
	return n, err
}

// dialer connects to a server, as a Config and Options say.
type dialer struct {
	cfg  Config
	addr string
	opts Options
	auth []ssh.AuthMethod
	keys *hostKeys
}

func newDialer(cfg Config, opts Options) (*dialer, error) {
	d := &dialer{cfg: cfg, addr: withPort(cfg.Addr), opts: opts}
	if cfg.Addr == "" {
		return nil, &ConfigError{Field: "Addr", Err: errors.New("no server address")}
	}
	if cfg.User == "" {
		return nil, &ConfigError{Field: "User", Err: errors.New("no user name")}
	}
	var err error
	if d.auth, err = cfg.authMethods(); err != nil {
		return nil, err
	}
	if d.keys, err = newHostKeys(&cfg); err != nil {
		return nil, err
	}
	return d, nil
}

// withPort adds SSH's port 22 to an address without one.
func withPort(addr string) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	return net.JoinHostPort(strings.Trim(addr, "[]"), "22")
}

// dial connects, retrying with backoff when the connection is refused or
// breaks; a refused login, an untrusted host key, a timeout or a canceled
// ctx end it at once.
func (d *dialer) dial(ctx context.Context) (*conn, error) {
	return withRetries(ctx, d.opts, func() (*conn, error) {
		c, _, err := d.dialOnce(ctx)
		if err != nil && !retryable(err) {
			return nil, retry.Permanent(err)
		}
		return c, err
	})
}

// dialStage records how far a connection attempt got, for Check.
type dialStage struct {
	mu        sync.Mutex
	tcp       bool // the TCP connection was made
	hostKey   error
	hostKeyOK bool
	login     bool // logged in
	key       string
}

// retryable reports whether connecting again may help: not after a
// refused login, an untrusted host, a timeout, a bad Config or a canceled
// ctx, which would only repeat.
func retryable(err error) bool {
	var ce *ConfigError
	return !errors.Is(err, ErrAuth) && !errors.Is(err, ErrHostKey) && !errors.Is(err, ErrTimeout) &&
		!errors.As(err, &ce) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) &&
		!isNegotiation(err)
}

func isNegotiation(err error) bool {
	var ane *ssh.AlgorithmNegotiationError
	return errors.As(err, &ane)
}

// dialOnce makes one connection. With only pinned fingerprints, whose key
// type is unknown, it connects again for each other key type the server
// may have, until one matches.
func (d *dialer) dialOnce(ctx context.Context) (*conn, *dialStage, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.ConnectTimeout)
	defer cancel()
	var excluded []string
	var first error
	for {
		st := &dialStage{}
		nc, err := d.opts.DialContext(ctx, "tcp", d.addr)
		if err != nil {
			return nil, st, d.connectErr(ctx, err)
		}
		st.tcp = true
		algos, probing := d.keys.algorithms(d.addr, nc.RemoteAddr(), excluded)
		if probing && len(algos) == 0 {
			nc.Close()
			return nil, st, first
		}
		c, err := d.handshake(ctx, nc, algos, st)
		var changed *HostKeyChangedError
		if probing && errors.As(err, &changed) && !changed.Revoked {
			if first == nil {
				first = err
			}
			excluded = append(excluded, changed.KeyType)
			continue
		}
		if first != nil && isNegotiation(err) {
			return nil, st, first // the server has no other key type to try
		}
		return c, st, err
	}
}

// connectErr says why connecting failed: the ConnectTimeout, ctx, or the
// network.
func (d *dialer) connectErr(ctx context.Context, err error) error {
	if ctx.Err() == context.DeadlineExceeded && context.Cause(ctx) == context.DeadlineExceeded {
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			return timeout("connecting to "+d.addr, d.opts.ConnectTimeout)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if oe := (*net.OpError)(nil); errors.As(err, &oe) && oe.Addr != nil {
		return err // "dial tcp 10.0.0.5:22: connect: connection refused" names the address already
	}
	return fmt.Errorf("connect to %s: %w", d.addr, err)
}

// handshake runs SSH and SFTP over nc, within ctx's deadline.
func (d *dialer) handshake(ctx context.Context, raw net.Conn, algos []string, st *dialStage) (*conn, error) {
	dl, _ := ctx.Deadline()
	raw.SetDeadline(dl)
	nc := &deadlineConn{Conn: raw}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	cfg := &ssh.ClientConfig{
		User:              d.cfg.User,
		Auth:              d.auth,
		HostKeyAlgorithms: algos,
		HostKeyCallback:   d.checkHostKey(st),
	}
	sc, chans, reqs, err := ssh.NewClientConn(nc, d.addr, cfg)
	if err != nil {
		raw.Close()
		return nil, d.handshakeErr(ctx, err, st)
	}
	st.mu.Lock()
	st.login = true
	st.mu.Unlock()
	client := ssh.NewClient(sc, chans, reqs)
	// The client's packet size only bounds what one ReadAt asks for at
	// once (and writes, which a Source never makes); conn.chunk says how
	// much each request of a download asks for.
	s, err := sftp.NewClient(client, sftp.MaxPacketUnchecked(MaxPacketOpenSSH))
	if err != nil {
		client.Close()
		if ctx.Err() != nil {
			return nil, d.connectErr(ctx, ctx.Err())
		}
		return nil, fmt.Errorf("start SFTP on %s: %w", d.addr, err)
	}
	raw.SetDeadline(time.Time{})
	c := newConn(s, client, nc, d.opts)
	if d.opts.KeepAlive > 0 {
		nc.idleNS.Store(int64(d.opts.Timeout))
		go c.keepAlive(d.opts.KeepAlive)
	}
	return c, nil
}

func (d *dialer) checkHostKey(st *dialStage) ssh.HostKeyCallback {
	return func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := d.keys.check(host, remote, key)
		st.mu.Lock()
		defer st.mu.Unlock()
		st.key = key.Type() + " " + ssh.FingerprintSHA256(key)
		st.hostKey, st.hostKeyOK = err, err == nil
		if err == nil && d.keys.insecure {
			d.opts.Logger.Warn("sftpsource: HOST KEY NOT VERIFIED (Config.InsecureIgnoreHostKey): anyone on the network path can pose as this server",
				"server", d.addr, "key", st.key)
		}
		return err
	}
}

// handshakeErr says why the SSH handshake failed.
func (d *dialer) handshakeErr(ctx context.Context, err error, st *dialStage) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case st.hostKey != nil:
		return st.hostKey
	case ctx.Err() != nil:
		return d.connectErr(ctx, err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return timeout("SSH handshake with "+d.addr, d.opts.ConnectTimeout)
	case st.hostKeyOK && strings.Contains(err.Error(), "unable to authenticate"):
		// x/crypto/ssh has no error type for this; its message has been
		// the same for years.
		return fmt.Errorf("%w: %s refused user %q with every credential given (%v)", ErrAuth, d.addr, d.cfg.User, err)
	case isNegotiation(err):
		return fmt.Errorf("SSH handshake with %s: %w (the server offers only algorithms this client does not use by default)", d.addr, err)
	}
	return fmt.Errorf("SSH handshake with %s: %w", d.addr, err)
}

// withRetries runs op with the Options' retries and exponential backoff.
func withRetries[T any](ctx context.Context, o Options, op func() (T, error)) (T, error) {
	return retry.Do(ctx, o.Retries+1, o.RetryWait, o.Logger, "sftpsource", op)
}

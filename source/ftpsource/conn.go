package ftpsource

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jlaffaye/ftp"

	"github.com/usersync/usersync/internal/retry"
	"github.com/usersync/usersync/source"
)

// errConnLost is why a connection that broke on its own died: the server
// closed it, or the network did. Operations on it are retried on a new one.
var errConnLost = errors.New("connection to the server lost")

// conn is one control connection, logged in and in the Source's folder,
// with the data connection of its transfer under way, if any.
type conn struct {
	ftp      *ftp.ServerConn
	o        *Options
	ctrlTLS  *tls.Config // nil for Plain
	dataTLS  *tls.Config
	implicit bool // TLS from the first byte

	mu    sync.Mutex
	ctrl  *deadlineConn // the control connection's TCP
	data  *deadlineConn // the latest data connection's TCP
	host  net.IP        // the control connection's peer: where data connections go
	idled time.Time     // when it was last put back in the pool

	ctx    context.Context // canceled by kill, to stop a data connection being dialed
	cancel context.CancelFunc
	once   sync.Once
	dead   chan struct{}
	err    error // why it died; set before dead is closed
}

func newConn(o *Options) *conn {
	c := &conn{o: o, dead: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c
}

// kill closes the connection, recording why, which makes every operation
// under way on it return.
func (c *conn) kill(why error) {
	c.once.Do(func() {
		c.err = why
		close(c.dead)
		c.cancel()
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.ctrl != nil {
			c.ctrl.Close()
		}
		if c.data != nil {
			c.data.Close()
		}
	})
}

// quit says goodbye to the server before closing, as a connection that
// was idle can.
func (c *conn) quit() {
	if c.alive() && c.ftp != nil {
		c.mu.Lock()
		c.ctrl.setIdle(time.Second) // no long wait for a server that is gone
		c.mu.Unlock()
		_ = c.ftp.Quit()
	}
	c.kill(source.ErrClosed)
}

func (c *conn) alive() bool {
	select {
	case <-c.dead:
		return false
	default:
		return true
	}
}

// run calls fn, which uses the connection. If ctx ends first, the
// connection is closed to make fn return, and run returns why.
func (c *conn) run(ctx context.Context, fn func() error) error {
	stop := context.AfterFunc(ctx, func() { c.kill(context.Cause(ctx)) })
	err := fn()
	stop()
	if err != nil {
		return c.failed(err)
	}
	return nil
}

// failed returns the error to report for a command that failed with err:
// if the connection is gone, why it went (a canceled ctx, a timeout, the
// server or the network), closing it if that was not noticed yet;
// otherwise err.
func (c *conn) failed(err error) error {
	switch {
	case !c.alive():
	case c.timedOut():
		c.kill(timeout("the server was silent", c.o.Timeout))
	case brokenConn(err):
		c.kill(fmt.Errorf("%w: %v", errConnLost, err))
	default:
		return err
	}
	return c.err
}

// timedOut reports whether a read or write on the control connection or
// the latest data connection missed its deadline.
func (c *conn) timedOut() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return (c.ctrl != nil && c.ctrl.timedOut.Load()) || (c.data != nil && c.data.timedOut.Load())
}

// brokenConn reports whether err says the connection is gone: closed,
// reset, or (421) about to be closed by the server.
func brokenConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		replyCode(err) == ftp.StatusNotAvailable
}

// dialFunc is what github.com/jlaffaye/ftp dials with: first the control
// connection, then each data connection.
func (c *conn) dialFunc(ctx context.Context, st *dialStage) func(network, addr string) (net.Conn, error) {
	return func(_, addr string) (net.Conn, error) {
		c.mu.Lock()
		first := c.ctrl == nil
		c.mu.Unlock()
		if first {
			return c.dialControl(ctx, st, addr)
		}
		return c.dialData(addr)
	}
}

// dialControl opens the control connection; with Implicit, it completes
// the TLS handshake too, so that a certificate is refused before anything
// is sent. (With Explicit, jlaffaye/ftp wraps the connection after AUTH
// TLS, and the handshake runs at the first command.)
func (c *conn) dialControl(ctx context.Context, st *dialStage, addr string) (net.Conn, error) {
	raw, err := c.o.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	ta, ok := raw.RemoteAddr().(*net.TCPAddr)
	if !ok {
		raw.Close()
		return nil, fmt.Errorf("Options.DialContext returned a %T, not a TCP connection", raw)
	}
	dc := &deadlineConn{Conn: raw}
	c.mu.Lock()
	c.ctrl, c.host = dc, ta.IP
	c.mu.Unlock()
	if !c.alive() { // killed while dialing
		dc.Close()
		return nil, c.err
	}
	st.set(func() { st.tcp = true })
	if c.implicit {
		tc := tls.Client(dc, c.ctrlTLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		return tc, nil
	}
	return dc, nil
}

// dialData opens a data connection to the port the server named, on the
// control connection's host whatever host it named: behind NAT a server
// often names an unusable address, and a hostile one could name a third
// host. With TLS, the connection resumes the control connection's session
// at its first read.
func (c *conn) dialData(addr string) (net.Conn, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	target := net.JoinHostPort(c.host.String(), port)
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(c.ctx, c.o.ConnectTimeout)
	defer cancel()
	raw, err := c.o.DialContext(ctx, "tcp", target)
	if err != nil {
		return nil, fmt.Errorf("opening a data connection to %s: %w", target, err)
	}
	dc := &deadlineConn{Conn: raw}
	dc.setIdle(c.o.Timeout)
	c.mu.Lock()
	c.data = dc
	c.mu.Unlock()
	if !c.alive() {
		dc.Close()
		return nil, c.err
	}
	var nc net.Conn = dc
	if c.dataTLS != nil {
		nc = tls.Client(dc, c.dataTLS)
	}
	return &dataConn{Conn: nc}, nil
}

// dataConn closes once and reports no error from closing, so that the
// error of ftp.Response.Close is the server's verdict on the transfer
// alone (a close_notify that fails to go out after the server closed is
// not a failed transfer).
type dataConn struct {
	net.Conn
	once sync.Once
}

func (d *dataConn) Close() error {
	d.once.Do(func() { d.Conn.Close() })
	return nil
}

// deadlineConn fails a Read that waits longer than its idle time, and a
// Write that cannot go out within it: without that, a server that stops
// answering (or a dropped NAT mapping) leaves a command or a transfer
// waiting forever. Before the idle time is set (while connecting) the
// connect context bounds it instead.
type deadlineConn struct {
	net.Conn
	idleNS   atomic.Int64
	timedOut atomic.Bool
	lastSet  atomic.Int64 // unix nanoseconds of the last deadline set
}

func (c *deadlineConn) setIdle(d time.Duration) { c.idleNS.Store(int64(d)); c.lastSet.Store(0) }

func (c *deadlineConn) idle() time.Duration { return time.Duration(c.idleNS.Load()) }

// refresh pushes the deadline to now plus the idle time. A download reads
// thousands of times a second: the deadline moves only once an eighth of
// the idle time has passed, so a silent peer is caught within 7/8 to 8/8
// of it.
func (c *deadlineConn) refresh(set func(time.Time) error) {
	d := c.idle()
	if d <= 0 {
		return
	}
	now := time.Now()
	if last := c.lastSet.Load(); last != 0 && now.UnixNano()-last < int64(d/8) {
		return
	}
	c.lastSet.Store(now.UnixNano())
	set(now.Add(d))
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	c.refresh(c.Conn.SetReadDeadline)
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

// SetDeadline is how jlaffaye/ftp bounds the wait for a transfer's final
// reply (its shut timeout); the idle time set here does the same, so the
// call only resets the refresh.
func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.lastSet.Store(0)
	return c.Conn.SetDeadline(t)
}

// dialer connects to a server, as a Config and Options say.
type dialer struct {
	cfg    Config
	addr   string
	folder string // "" for the login folder
	opts   *Options
	trust  *trust // nil for Plain
}

func newDialer(cfg Config, o *Options) (*dialer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d := &dialer{cfg: cfg, addr: cfg.addr(), opts: o}
	d.folder, _ = cfg.folderAndFile()
	if cfg.TLS != Plain {
		var err error
		if d.trust, err = newTrust(cfg, *o); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// dialStage records how far a connection attempt got, for Check.
type dialStage struct {
	mu     sync.Mutex
	tcp    bool // the TCP connection was made
	login  bool // logged in
	folder bool // changed to the folder
	tls    tlsSeen
}

func (st *dialStage) set(fn func()) {
	st.mu.Lock()
	defer st.mu.Unlock()
	fn()
}

// dial connects, retrying with backoff when the connection is refused or
// breaks; a refused login, an untrusted certificate, a server without TLS,
// a timeout or a canceled ctx end it at once.
func (d *dialer) dial(ctx context.Context) (*conn, error) {
	return withRetries(ctx, d.opts, func() (*conn, error) {
		c, _, err := d.dialOnce(ctx)
		if err != nil && !retryable(err) {
			return nil, retry.Permanent(err)
		}
		return c, err
	})
}

// dialOnce connects, logs in and changes to the folder, within
// ConnectTimeout.
func (d *dialer) dialOnce(ctx context.Context) (*conn, *dialStage, error) {
	st := &dialStage{}
	c := newConn(d.opts)
	c.implicit = d.cfg.TLS == Implicit
	if d.trust != nil {
		c.ctrlTLS, c.dataTLS = d.trust.configs(&st.tls)
	} else {
		d.opts.Logger.WarnContext(ctx, "ftpsource: plain FTP: the password and the files cross the network unencrypted", "server", d.addr)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, d.opts.ConnectTimeout, timeout("connecting to "+d.addr+d.timeoutHint(), d.opts.ConnectTimeout))
	defer cancel()
	err := c.run(ctx, func() error { return d.connect(ctx, c, st) })
	if err != nil {
		c.kill(err)
		return nil, st, err
	}
	c.mu.Lock()
	c.ctrl.SetDeadline(time.Time{})
	c.ctrl.setIdle(d.opts.Timeout)
	c.mu.Unlock()
	return c, st, nil
}

// connect runs the steps of dialOnce on c.
func (d *dialer) connect(ctx context.Context, c *conn, st *dialStage) error {
	opts := []ftp.DialOption{
		ftp.DialWithDialFunc(c.dialFunc(ctx, st)),
		ftp.DialWithShutTimeout(d.opts.Timeout),
		ftp.DialWithDisabledEPSV(d.opts.DisableEPSV),
		ftp.DialWithLocation(d.opts.Location),
	}
	switch d.cfg.TLS {
	case Explicit:
		opts = append(opts, ftp.DialWithExplicitTLS(c.ctrlTLS))
	case Implicit:
		opts = append(opts, ftp.DialWithTLS(c.ctrlTLS))
	}
	fc, err := ftp.Dial(d.addr, opts...)
	if err != nil {
		return d.dialError(c, err)
	}
	c.ftp = fc
	if err := fc.Login(d.cfg.User, d.cfg.Password); err != nil {
		return d.loginError(c, err)
	}
	st.set(func() { st.login = true })
	if d.folder != "" {
		if err := fc.ChangeDir(d.folder); err != nil {
			if code := replyCode(err); code >= 500 {
				// The caller names the folder: the check step, Dial's URL, List's PathError.
				return fmt.Errorf("no such folder: %w (%w)", fs.ErrNotExist, err)
			}
			return err
		}
	}
	st.set(func() { st.folder = true })
	return nil
}

// dialError explains why connecting failed before the login.
func (d *dialer) dialError(c *conn, err error) error {
	var rh tls.RecordHeaderError
	code := replyCode(err)
	switch {
	case !c.alive():
		return c.err
	case errors.As(err, new(*CertificateError)):
		return err
	case d.cfg.TLS == Explicit && code != 0 && code != ftp.StatusNotAvailable && code != ftp.StatusReadyMinute:
		// The greeting fails only with 421 or 120: any other reply
		// refused AUTH TLS.
		return fmt.Errorf("%w: it answered %w. No password was sent; set Config.TLS to Plain only if the password and the files may cross the network in clear", ErrNoTLS, err)
	case errors.As(err, &rh):
		return fmt.Errorf("TLS handshake with %s: the server did not answer with TLS (%w); port 21 usually wants Config.TLS Explicit, port 990 Implicit", d.addr, err)
	case code != 0:
		return fmt.Errorf("the server refused the connection: %w", err)
	}
	return err
}

// loginError explains why logging in failed.
func (d *dialer) loginError(c *conn, err error) error {
	var te *textproto.Error
	switch {
	case !c.alive():
		return c.err
	case errors.As(err, new(*CertificateError)):
		return err
	case errors.As(err, &te) && te.Code == ftp.StatusNotLoggedIn:
		return fmt.Errorf("%w: user %q: %w", ErrAuth, d.cfg.User, err)
	case te != nil:
		return fmt.Errorf("logging in as %q: %w", d.cfg.User, err)
	case transportError(err):
		return c.failed(err)
	}
	// jlaffaye/ftp reports a USER the server refuses with the server's
	// message alone, code dropped.
	return fmt.Errorf("%w: the server refused user %q: %w", ErrAuth, d.cfg.User, err)
}

// transportError reports whether err came from the network or TLS rather
// than from the server's replies.
func transportError(err error) bool {
	var ne net.Error
	var ae tls.AlertError
	var rh tls.RecordHeaderError
	return errors.As(err, &ne) || errors.As(err, &ae) || errors.As(err, &rh) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// timeoutHint suggests Implicit when an Explicit connection to port 990
// times out: an implicit-TLS server waits for a TLS hello, and the client
// for a greeting.
func (d *dialer) timeoutHint() string {
	if _, port := d.cfg.hostPort(); d.cfg.TLS == Explicit && port == 990 {
		return " (port " + strconv.Itoa(port) + " usually speaks implicit TLS: set Config.TLS to Implicit)"
	}
	return ""
}

// retryable reports whether connecting again may help: not after a
// refused login, an untrusted certificate, a server without TLS, a
// timeout, a bad Config, a TLS failure, a permanent (5xx) reply or a
// canceled ctx, which would only repeat.
func retryable(err error) bool {
	var ce *ConfigError
	var ae tls.AlertError
	var rh tls.RecordHeaderError
	return !errors.Is(err, ErrAuth) && !errors.Is(err, ErrNoTLS) && !errors.Is(err, ErrCertificate) &&
		!errors.Is(err, ErrTimeout) && !errors.As(err, &ce) && !errors.As(err, &ae) && !errors.As(err, &rh) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) &&
		!errors.Is(err, fs.ErrNotExist) && !errors.Is(err, source.ErrClosed) && replyCode(err) < 500
}

// withRetries runs op with the Options' retries and exponential backoff.
func withRetries[T any](ctx context.Context, o *Options, op func() (T, error)) (T, error) {
	return retry.Do(ctx, o.Retries+1, o.RetryWait, o.Logger, "ftpsource", op)
}

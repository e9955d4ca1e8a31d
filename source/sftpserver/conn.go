package sftpserver

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// maxChannels bounds the SFTP sessions one connection may open at once;
// a client needs one.
const maxChannels = 4

// Permissions.Extensions keys the authentication callbacks fill in.
const (
	extTenant = "sftpserver-tenant"
	extMethod = "sftpserver-method"
	extKey    = "sftpserver-key"
)

// A conn is one client connection, from accept to close.
type conn struct {
	s      *Server
	nc     net.Conn
	ip     string
	addr   netip.Addr // ip, parsed; IPv4 in IPv6 unmapped
	remote string

	auth authState // during login

	mu        sync.Mutex
	user      string // once logged in
	tenant    *Tenant
	ts        *tenantState
	root      *os.Root
	uploads   []*upload // in progress
	downloads int       // files open for reading
	draining  bool      // close once no upload is in progress
	closed    bool

	lastActive      atomic.Int64 // UnixNano of the client's last SFTP traffic
	closeAfterReply atomic.Bool  // draining, and the last upload is done
}

func newConn(s *Server, nc net.Conn, ip string) *conn {
	addr, _ := netip.ParseAddr(ip)
	return &conn{s: s, nc: nc, ip: ip, addr: addr.Unmap().WithZone(""), remote: nc.RemoteAddr().String()}
}

// serve runs the connection: handshake and login within the login
// timeout, then the SFTP sessions until the client leaves, the idle timeout
// or the server closes it.
func (c *conn) serve() {
	defer c.nc.Close()
	c.nc.SetDeadline(time.Now().Add(c.s.opts.LoginTimeout))
	sc, chans, reqs, err := ssh.NewServerConn(c.nc, c.serverConfig())
	if err != nil {
		c.loginFailed(err)
		return
	}
	defer sc.Close()
	c.nc.SetDeadline(time.Time{})
	if !c.loggedIn(sc) {
		return
	}
	defer c.loggedOut()
	go ssh.DiscardRequests(reqs) // refuses port forwarding; "no" answers keepalives
	stop := c.watchIdle()
	defer stop()
	c.serveChannels(chans)
}

// loginFailed logs a handshake that ended before a login, unless its
// failed attempts are logged already, or it was a port scan.
func (c *conn) loginFailed(err error) {
	switch {
	case c.auth.failed, errors.Is(err, io.EOF) && !c.auth.tried:
	case c.auth.tried:
		// Only keys the user does not have were offered.
		tenant := ""
		if t := c.auth.looked[c.auth.user]; t != nil {
			tenant = t.ID
		}
		c.s.log.Warn("sftpserver: login failed", "event", "login_failed", "tenant", tenant, "user", c.auth.user,
			"remote", c.remote, "method", "publickey", "reason", "no authorized key", "error", err.Error())
	default:
		c.s.log.Warn("sftpserver: handshake failed", "event", "handshake_failed", "remote", c.remote, "error", err.Error())
	}
}

// loggedIn records a successful login, unless the tenant has its maximum
// of sessions, and opens the tenant's folder.
func (c *conn) loggedIn(sc *ssh.ServerConn) bool {
	t := c.auth.tenant
	ts := c.s.tenant(t.ID)
	attrs := []any{"event", "login", "tenant", t.ID, "user", sc.User(), "remote", c.remote, "method", sc.Permissions.Extensions[extMethod]}
	if k := sc.Permissions.Extensions[extKey]; k != "" {
		attrs = append(attrs, "key", k)
	}
	if !ts.addSession(c.s.opts.MaxSessionsPerTenant) {
		c.s.log.Warn("sftpserver: session refused: tenant has too many sessions", "event", "refused", "tenant", t.ID,
			"user", sc.User(), "remote", c.remote, "reason", "too many sessions")
		return false
	}
	root, err := os.OpenRoot(t.Root)
	if err != nil {
		ts.removeSession()
		c.s.log.Error("sftpserver: tenant folder unavailable", "event", "refused", "tenant", t.ID, "user", sc.User(),
			"remote", c.remote, "reason", "folder unavailable", "error", err.Error())
		return false
	}
	c.mu.Lock()
	c.user, c.tenant, c.ts, c.root = sc.User(), t, ts, root
	closed := c.closed // by Close or Disconnect, during the handshake
	c.mu.Unlock()
	c.lastActive.Store(time.Now().UnixNano())
	c.s.log.Info("sftpserver: login", attrs...)
	if closed {
		c.loggedOut()
		return false
	}
	return true
}

func (c *conn) loggedOut() {
	c.mu.Lock()
	root := c.root
	c.mu.Unlock()
	root.Close()
	c.ts.removeSession()
	c.s.log.Info("sftpserver: logout", "event", "logout", "tenant", c.tenant.ID, "user", c.user, "remote", c.remote)
}

// loggedInAs reports whether the connection is logged in as user.
func (c *conn) loggedInAs(user string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.user == user
}

// serveChannels accepts SFTP sessions and refuses every other channel:
// port forwarding ("direct-tcpip"), X11, agent forwarding.
func (c *conn) serveChannels(chans <-chan ssh.NewChannel) {
	var wg sync.WaitGroup
	defer wg.Wait()
	var open atomic.Int32
	for nc := range chans {
		if nc.ChannelType() != "session" {
			c.denied("channel "+nc.ChannelType(), "")
			nc.Reject(ssh.Prohibited, "only SFTP is allowed")
			continue
		}
		if open.Load() >= maxChannels {
			nc.Reject(ssh.ResourceShortage, "too many sessions on this connection")
			continue
		}
		ch, reqs, err := nc.Accept()
		if err != nil {
			continue // the connection is closing: chans ends
		}
		open.Add(1)
		wg.Go(func() {
			defer open.Add(-1)
			c.serveSession(ch, reqs)
		})
	}
}

// serveSession serves the "sftp" subsystem on a session channel and
// refuses everything else asked of it: a shell, a command, a terminal,
// agent forwarding, X11, environment variables.
func (c *conn) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		if req.Type == "subsystem" && subsystem(req.Payload) == "sftp" {
			req.Reply(true, nil)
			go ssh.DiscardRequests(reqs)
			c.serveSFTP(ch)
			return
		}
		switch req.Type {
		case "env", "pty-req", "window-change":
			// OpenSSH's sftp client sends its locale; nothing to log.
		default:
			c.denied(req.Type, subsystem(req.Payload))
		}
		req.Reply(false, nil)
	}
}

// subsystem returns the name in a "subsystem" or "exec" request's payload.
func subsystem(payload []byte) string {
	var p struct{ Name string }
	if ssh.Unmarshal(payload, &p) != nil {
		return ""
	}
	return p.Name
}

func (c *conn) serveSFTP(ch ssh.Channel) {
	rs := sftp.NewRequestServer(activity{ch, c}, handlers(c), sftp.WithStartDirectory("/"))
	rs.Serve()
	rs.Close()
}

// activity is an SFTP channel that marks the connection active whenever
// the client sends something, for the idle timeout, and closes a draining
// connection once it has replied to the close of its last upload.
type activity struct {
	ssh.Channel
	c *conn
}

func (a activity) Read(p []byte) (int, error) {
	n, err := a.Channel.Read(p)
	if n > 0 {
		a.c.lastActive.Store(time.Now().UnixNano())
	}
	return n, err
}

func (a activity) Write(p []byte) (int, error) {
	n, err := a.Channel.Write(p)
	if a.c.closeAfterReply.Load() {
		a.c.close()
	}
	return n, err
}

// watchIdle closes the connection once the client has sent nothing on its
// SFTP sessions for the idle timeout. It returns a function that stops
// watching.
func (c *conn) watchIdle() (stop func()) {
	idle := c.s.opts.IdleTimeout
	var t *time.Timer
	t = time.AfterFunc(idle, func() {
		since := time.Since(time.Unix(0, c.lastActive.Load()))
		if since < idle {
			t.Reset(idle - since)
			return
		}
		if c.uploading() {
			// A client that went quiet mid-upload is idle too; its
			// upload is discarded when the connection closes.
			c.s.log.Warn("sftpserver: idle timeout during an upload", "event", "idle_timeout", "tenant", c.tenant.ID, "user", c.user, "remote", c.remote)
		} else {
			c.s.log.Info("sftpserver: idle timeout", "event", "idle_timeout", "tenant", c.tenant.ID, "user", c.user, "remote", c.remote)
		}
		c.close()
	})
	return func() { t.Stop() }
}

// denied logs a refused request that a well-behaved SFTP client never
// makes.
func (c *conn) denied(what, detail string, attrs ...any) {
	c.mu.Lock()
	tenant, user := "", c.user
	if c.tenant != nil {
		tenant = c.tenant.ID
	}
	c.mu.Unlock()
	attrs = append([]any{"event", "denied", "tenant", tenant, "user", user, "remote", c.remote, "request", clip(what)}, attrs...)
	if detail != "" {
		attrs = append(attrs, "detail", clip(detail))
	}
	c.s.log.Warn("sftpserver: request denied", attrs...)
}

// uploading reports whether an upload is in progress.
func (c *conn) uploading() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.uploads) > 0
}

// drain closes the connection now if no upload is in progress, or else
// once the last one ends; until then it refuses new uploads.
func (c *conn) drain() {
	c.mu.Lock()
	c.draining = true
	idle := len(c.uploads) == 0
	c.mu.Unlock()
	if idle {
		c.close()
	}
}

// close closes the network connection, which ends the SSH connection and
// its SFTP sessions; pkg/sftp then reports the uploads in progress as
// failed transfers and they are discarded.
func (c *conn) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.nc.Close()
}

// clip shortens what a client chose (a command, a channel type) to a
// length fit for a log line.
func clip(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

func maxProcs() int { return runtime.GOMAXPROCS(0) }

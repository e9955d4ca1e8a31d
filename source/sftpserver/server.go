package sftpserver

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// A Server is an SFTP server that gives each tenant its own folder. Make
// one with New, then call Serve or ListenAndServe. Its methods are safe for
// concurrent use.
type Server struct {
	tenants  Tenants
	hostKeys []ssh.Signer
	opts     Options // with defaults
	log      *slog.Logger
	lockout  *lockout
	verify   chan struct{} // bounds the password hashes checked at once
	refusing chan struct{} // bounds the refused connections told why at once

	ctx    context.Context // canceled by Close; governs tenant lookups
	cancel context.CancelFunc

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	perIP     map[string]int
	tenantsBy map[string]*tenantState // by Tenant.ID
	draining  bool                    // Shutdown was called
	closed    bool                    // Close was called
	drained   chan struct{}           // closed when draining and conns is empty
	wg        sync.WaitGroup          // connection goroutines
}

// New returns a Server for cfg, tuned by opts (nil for the defaults). It
// fails if cfg lacks host keys or Tenants, if a host key is of a type the
// allowed algorithms exclude (DSA, RSA under 2048 bits), or if an option
// is negative where it must not be.
func New(cfg Config, opts *Options) (*Server, error) {
	if opts == nil {
		opts = &Options{}
	}
	o := opts.withDefaults()
	if err := o.check(); err != nil {
		return nil, err
	}
	if cfg.Tenants == nil {
		return nil, errors.New("sftpserver: Config.Tenants is nil")
	}
	keys, err := hostSigners(cfg.HostKeys, o.Algorithms.HostKeys)
	if err != nil {
		return nil, err
	}
	s := &Server{
		tenants:   cfg.Tenants,
		hostKeys:  keys,
		opts:      o,
		log:       o.Logger,
		lockout:   newLockout(o.Lockout, o.Now),
		verify:    make(chan struct{}, max(2, maxProcs())),
		refusing:  make(chan struct{}, maxRefusing),
		listeners: map[net.Listener]struct{}{},
		conns:     map[*conn]struct{}{},
		perIP:     map[string]int{},
		tenantsBy: map[string]*tenantState{},
		drained:   make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if weak := insecureAlgorithms(o.Algorithms); len(weak) > 0 {
		s.log.Warn("sftpserver: insecure SSH algorithms allowed by Options.Algorithms", "algorithms", weak)
	}
	return s, nil
}

// hostSigners checks the host keys against the allowed host key algorithms
// and limits each to the signature algorithms allowed for its type, so
// that an RSA key never signs with SHA-1.
func hostSigners(keys []ssh.Signer, allowed []string) ([]ssh.Signer, error) {
	if len(keys) == 0 {
		return nil, errors.New("sftpserver: Config.HostKeys is empty")
	}
	out := make([]ssh.Signer, 0, len(keys))
	for _, k := range keys {
		typ := k.PublicKey().Type()
		algos := []string{typ}
		if typ == ssh.KeyAlgoRSA {
			if rsaBits(k.PublicKey()) < 2048 {
				return nil, errors.New("sftpserver: RSA host key shorter than 2048 bits")
			}
			algos = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
		}
		algos = slices.DeleteFunc(algos, func(a string) bool { return !slices.Contains(allowed, a) })
		as, ok := k.(ssh.AlgorithmSigner)
		if len(algos) == 0 || !ok {
			return nil, fmt.Errorf("sftpserver: host key type %s is not allowed", typ)
		}
		ms, err := ssh.NewSignerWithAlgorithms(as, algos)
		if err != nil {
			return nil, fmt.Errorf("sftpserver: host key %s: %w", typ, err)
		}
		out = append(out, ms)
	}
	return out, nil
}

// rsaBits returns the size of an RSA public key, or 0 if key is not one.
func rsaBits(key ssh.PublicKey) int {
	ck, ok := key.(ssh.CryptoPublicKey)
	if !ok {
		return 0
	}
	rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey)
	if !ok {
		return 0
	}
	return rk.N.BitLen()
}

// ListenAndServe listens on the TCP address addr ("127.0.0.1:2022",
// ":22") and serves connections until Shutdown or Close is called, or ctx
// is done, which closes the server as Close does. It returns
// ErrServerClosed after Shutdown or Close, and ctx's error if ctx ended it.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("sftpserver: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	err = s.Serve(ln)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// Serve accepts connections on ln and serves each in its own goroutine
// until Shutdown or Close is called, and then returns ErrServerClosed.
// It closes ln when it returns. A server may serve several listeners.
func (s *Server) Serve(ln net.Listener) error {
	if !s.track(ln) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.untrack(ln)
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.stopping() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("sftpserver: %w", err)
			}
			// Out of file descriptors, say: wait and try again rather
			// than spin or give up.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Error("sftpserver: accept failed", "error", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.accept(nc)
	}
}

func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining || s.closed {
		return false
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *Server) untrack(ln net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.listeners, ln)
	ln.Close()
}

func (s *Server) stopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining || s.closed
}

// accept admits nc within the connection limits and serves it.
func (s *Server) accept(nc net.Conn) {
	ip := remoteIP(nc.RemoteAddr())
	s.mu.Lock()
	var refused refusal
	switch {
	case s.draining || s.closed:
		refused = refusal{"server shutting down", disconnectByApplication, "server shutting down, try again later"}
	case len(s.conns) >= s.opts.MaxConnections:
		refused = refusal{"too many connections", disconnectTooManyConnections, "too many connections to this server, try again later"}
	case s.perIP[ip] >= s.opts.MaxConnectionsPerIP:
		refused = refusal{"too many connections from this address", disconnectTooManyConnections,
			"too many connections from this address, try again later"}
	}
	if refused.reason != "" {
		s.mu.Unlock()
		s.log.Warn("sftpserver: connection refused", "event", "refused", "remote", nc.RemoteAddr().String(), "reason", refused.reason)
		s.refuse(nc, refused)
		return
	}
	c := newConn(s, nc, ip)
	s.conns[c] = struct{}{}
	s.perIP[ip]++
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer s.forget(c)
		c.serve()
	}()
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if s.perIP[c.ip]--; s.perIP[c.ip] <= 0 {
		delete(s.perIP, c.ip)
	}
	if s.draining && len(s.conns) == 0 {
		s.closeDrained()
	}
}

// closeDrained closes s.drained once; s.mu is held.
func (s *Server) closeDrained() {
	select {
	case <-s.drained:
	default:
		close(s.drained)
	}
}

// Shutdown stops the server gracefully: it stops accepting connections,
// closes the connections that have no upload in progress, lets uploads in
// progress finish (refusing new ones) and closes each connection when its
// last upload is done. It returns once every connection is closed, or when
// ctx is done, in which case it closes the server as Close does, so that
// unfinished uploads are discarded, and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	for ln := range s.listeners {
		ln.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	if len(s.conns) == 0 {
		s.closeDrained()
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.drain()
	}
	select {
	case <-s.drained:
		s.Close()
		return nil
	case <-ctx.Done():
		s.Close()
		return ctx.Err()
	}
}

// Close stops the server at once: it closes its listeners and every
// connection. Uploads in progress are discarded, never left as complete
// files. It waits for the connections' goroutines to end.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.close()
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// Disconnect closes the connections of the user name, discarding their
// uploads in progress, and returns how many it closed. Call it after
// revoking a user's credentials to end the sessions already open with
// them.
func (s *Server) Disconnect(user string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.conns {
		if c.loggedInAs(user) {
			c.close()
			n++
		}
	}
	return n
}

// tenant returns the shared state of the tenant with that ID, making it on
// first use.
func (s *Server) tenant(id string) *tenantState {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.tenantsBy[id]
	if ts == nil {
		ts = &tenantState{id: id, uploads: map[string]bool{}}
		s.tenantsBy[id] = ts
	}
	return ts
}

// remoteIP returns the address part of a, without the port.
func remoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// Package sftptest runs an SSH server with the SFTP subsystem on
// 127.0.0.1 inside the test process: real SSH (key exchange, host keys,
// password, public-key and keyboard-interactive authentication) and real
// SFTP (github.com/pkg/sftp's request server), over a temporary folder the
// test can also write to directly, as a customer's upload would.
//
// It can misbehave on purpose: answer reads with fewer bytes than asked
// for, as a server whose packets are smaller than the client's does
// ([Options.MaxRead]), or stop answering SFTP requests while the SSH
// connection stays up ([Server.Stall]). [Proxy] breaks the TCP connection
// instead: it cuts it after some bytes or stops forwarding.
package sftptest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Options configures a Server. The zero value, like nil, gives a server
// with one new ed25519 host key that lets in User "test" with Password
// "secret".
type Options struct {
	User string // "test" if empty
	// Password is accepted with password authentication, and with
	// keyboard-interactive if KeyboardInteractive is set. "secret" if
	// empty.
	Password string
	// KeyboardInteractive makes the server ask for the password with a
	// keyboard-interactive prompt, as PAM does, instead of accepting
	// password authentication.
	KeyboardInteractive bool
	// AuthorizedKeys are the public keys accepted for User.
	AuthorizedKeys []ssh.PublicKey
	// HostKeys are the server's keys; one new ed25519 key if empty.
	HostKeys []ssh.Signer
	// MaxRead, when positive, caps the bytes each SFTP read returns, so
	// that a client asking for more gets short reads in the middle of a
	// file (github.com/pkg/sftp issue 658).
	MaxRead int
}

// A Server is an SSH server with the SFTP subsystem on 127.0.0.1. Make one
// with [NewServer], which stops it when the test ends, or [Start].
type Server struct {
	// Addr is the server's host:port.
	Addr string
	// Dir is the local folder the server serves as "/".
	Dir      string
	HostKeys []ssh.Signer
	opts     Options
	root     *os.Root
	ln       net.Listener
	cfg      *ssh.ServerConfig

	mu     sync.Mutex
	conns  map[net.Conn]bool
	logins int
	auths  int           // password and keyboard-interactive attempts, right or wrong
	stall  chan struct{} // non-nil while stalled; closed by Resume
	done   chan struct{}
	wg     sync.WaitGroup
}

// NewServer starts a Server over a new temporary folder and stops it when
// the test ends.
func NewServer(t testing.TB, opts *Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a Server over a new temporary folder, outside a test (in an
// example, say). The caller must Close it, which removes the folder.
func Start(opts *Options) (*Server, error) {
	s := &Server{conns: map[net.Conn]bool{}, done: make(chan struct{})}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.User == "" {
		s.opts.User = "test"
	}
	if s.opts.Password == "" {
		s.opts.Password = "secret"
	}
	s.HostKeys = s.opts.HostKeys
	if len(s.HostKeys) == 0 {
		k, err := newSigner()
		if err != nil {
			return nil, err
		}
		s.HostKeys = []ssh.Signer{k}
	}
	var err error
	if s.Dir, err = os.MkdirTemp("", "sftptest-"); err != nil {
		return nil, err
	}
	if s.root, err = os.OpenRoot(s.Dir); err != nil {
		os.RemoveAll(s.Dir)
		return nil, err
	}
	s.cfg = s.serverConfig()
	if s.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		s.root.Close()
		os.RemoveAll(s.Dir)
		return nil, err
	}
	s.Addr = s.ln.Addr().String()
	s.wg.Go(s.accept)
	return s, nil
}

// NewSigner returns a new ed25519 key, for a host or a client.
func NewSigner(t testing.TB) ssh.Signer {
	t.Helper()
	s, err := newSigner()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newSigner() (ssh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return ssh.NewSignerFromKey(priv)
}

func (s *Server) serverConfig() *ssh.ServerConfig {
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			for _, k := range s.opts.AuthorizedKeys {
				if c.User() == s.opts.User && bytes.Equal(k.Marshal(), key.Marshal()) {
					return nil, nil
				}
			}
			return nil, errors.New("key not authorized")
		},
	}
	if s.opts.KeyboardInteractive {
		cfg.KeyboardInteractiveCallback = func(c ssh.ConnMetadata, ask ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
			s.countAuth()
			answers, err := ask(c.User(), "", []string{"Password: "}, []bool{false})
			if err != nil {
				return nil, err
			}
			if c.User() == s.opts.User && len(answers) == 1 && answers[0] == s.opts.Password {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		}
	} else {
		cfg.PasswordCallback = func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			s.countAuth()
			if c.User() == s.opts.User && string(pw) == s.opts.Password {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		}
	}
	for _, k := range s.HostKeys {
		cfg.AddHostKey(k)
	}
	return cfg
}

// User returns the user name the server lets in.
func (s *Server) User() string { return s.opts.User }

// Password returns the password the server accepts.
func (s *Server) Password() string { return s.opts.Password }

// Logins returns how many SSH logins succeeded so far.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// PasswordAttempts returns how many passwords the server was sent so far
// (by password or keyboard-interactive authentication), right or wrong.
func (s *Server) PasswordAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auths
}

func (s *Server) countAuth() {
	s.mu.Lock()
	s.auths++
	s.mu.Unlock()
}

// Fingerprint returns the SHA256 fingerprint of the server's first host
// key, as ssh-keygen -l prints it ("SHA256:...").
func (s *Server) Fingerprint() string { return ssh.FingerprintSHA256(s.HostKeys[0].PublicKey()) }

// KnownHosts writes a known_hosts file listing the given keys for the
// server's address, or all its host keys if none is given, and returns its
// path.
func (s *Server) KnownHosts(t testing.TB, keys ...ssh.PublicKey) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(p, []byte(s.KnownHostsLines(keys...)), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// KnownHostsLines returns known_hosts lines listing the given keys for the
// server's address, or all its host keys if none is given.
func (s *Server) KnownHostsLines(keys ...ssh.PublicKey) string {
	if len(keys) == 0 {
		for _, k := range s.HostKeys {
			keys = append(keys, k.PublicKey())
		}
	}
	var b bytes.Buffer
	for _, k := range keys {
		fmt.Fprintln(&b, knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, k))
	}
	return b.String()
}

// Put writes a file into the served folder, creating its folders, and sets
// its modification time, as an upload would.
func (s *Server) Put(name string, data []byte, modTime time.Time) error {
	if err := s.root.MkdirAll(filepath.Dir(filepath.FromSlash(name)), 0o755); err != nil {
		return err
	}
	if err := s.root.WriteFile(name, data, 0o644); err != nil {
		return err
	}
	return s.root.Chtimes(name, modTime, modTime)
}

// Stall makes the server stop answering SFTP requests, as a server whose
// disk hangs would, while its SSH layer keeps answering keepalives.
// Resume undoes it.
func (s *Server) Stall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stall == nil {
		s.stall = make(chan struct{})
	}
}

// Resume makes a stalled server answer again.
func (s *Server) Resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stall != nil {
		close(s.stall)
		s.stall = nil
	}
}

// wait blocks while the server is stalled.
func (s *Server) wait() {
	s.mu.Lock()
	stall := s.stall
	s.mu.Unlock()
	if stall == nil {
		return
	}
	select {
	case <-stall:
	case <-s.done:
	}
}

// DropConnections closes every connection, as a server restart would.
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// Close stops the server and waits for its goroutines.
func (s *Server) Close() {
	select {
	case <-s.done:
		return
	default:
	}
	close(s.done)
	s.ln.Close()
	s.DropConnections()
	s.wg.Wait()
	s.root.Close()
	os.RemoveAll(s.Dir)
}

func (s *Server) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Go(func() {
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		})
	}
}

func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	sc, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	s.mu.Lock()
	s.logins++
	s.mu.Unlock()
	s.wg.Go(func() { ssh.DiscardRequests(reqs) }) // answers keepalives with "no", which is an answer
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		s.wg.Go(func() { s.serveSession(ch, creqs) })
	}
}

// serveSession serves the sftp subsystem and refuses everything else.
func (s *Server) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		ok := req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp"
		req.Reply(ok, nil)
		if !ok {
			continue
		}
		s.wg.Go(func() { ssh.DiscardRequests(reqs) })
		srv := sftp.NewRequestServer(ch, s.handlers())
		srv.Serve()
		srv.Close()
		return
	}
}

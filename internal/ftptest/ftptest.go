// Package ftptest runs an FTP server on 127.0.0.1 inside the test process:
// goftp.io/server/v2 over a temporary folder the test can also write to
// directly, as a customer's upload would, with explicit TLS (AUTH TLS, the
// default), implicit TLS or none, and a self-signed certificate made at
// start.
//
// Like vsftpd with require_ssl_reuse=YES, it refuses a TLS data connection
// that does not resume the session of its control connection
// (Options.NoSessionReuse turns that off), so a client that does not
// resume fails here as it would there. It can misbehave on purpose at the
// end of a download ([Server.SetFault]): answer 426 after sending every
// byte, send half the file and claim success, or never send the final
// reply. internal/netfault breaks the connections themselves.
//
// One limit comes from goftp: its passive data listeners bind every
// interface, not only 127.0.0.1, each for one connection (and at most 60
// seconds). The control listener is on 127.0.0.1; vsftpd in CI binds
// 127.0.0.1 for both.
package ftptest

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ftpserver "goftp.io/server/v2"

	"github.com/usersync/usersync/internal/testcert"
)

// Mode says how a Server uses TLS.
type Mode int

const (
	// Explicit upgrades the control connection with AUTH TLS, and refuses
	// to log in before it (like vsftpd's force_local_logins_ssl).
	Explicit Mode = iota
	// Implicit speaks TLS from the first byte, as on port 990.
	Implicit
	// Plain offers no TLS at all.
	Plain
)

// Options configures a Server. The zero value, like nil, gives an
// explicit-TLS server that lets in User "test" with Password "secret" and
// requires TLS session reuse on data connections.
type Options struct {
	User     string // "test" if empty
	Password string // "secret" if empty
	Mode     Mode
	// NoSessionReuse accepts TLS data connections that do not resume the
	// control connection's session.
	NoSessionReuse bool
	// NoMLSD leaves out MLSD and MLST, as vsftpd does: clients then list
	// with LIST, whose times are to the minute at best.
	NoMLSD bool
	// PASVAddress, if set, is the IPv4 address PASV answers name instead
	// of the server's, as a server behind NAT names its public address.
	// Clients must not follow it.
	PASVAddress string
}

// A Fault is a way for a Server to misbehave at the end of a download.
type Fault int32

const (
	// NoFault ends every download properly, with 226.
	NoFault Fault = iota
	// Reply426 sends the whole file, then answers 426 (transfer aborted)
	// instead of 226.
	Reply426
	// ShortData sends the first half of the file, then answers 226.
	ShortData
	// NoFinalReply sends the whole file, closes the data connection, and
	// never answers on the control connection.
	NoFinalReply
)

// A Server is an FTP server on 127.0.0.1. Make one with [NewServer],
// which stops it when the test ends, or [Start].
type Server struct {
	// Addr is the server's host:port.
	Addr string
	// Dir is the local folder the server serves as "/".
	Dir string
	// Certificate is the server's self-signed certificate, valid for
	// 127.0.0.1 and localhost; CertificatePEM is it in PEM.
	Certificate    *x509.Certificate
	CertificatePEM []byte

	opts  Options
	root  *os.Root
	srv   *ftpserver.Server
	ln    net.Listener
	fault atomic.Int32

	mu             sync.Mutex
	logins         int
	passwords      int // PASS commands checked, right or wrong
	dataTLS        int // TLS data connections accepted
	dataTLSResumed int // of which resumed the control session
	done           chan struct{}
	serveDone      chan struct{}
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
	s := &Server{done: make(chan struct{}), serveDone: make(chan struct{})}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.User == "" {
		s.opts.User = "test"
	}
	if s.opts.Password == "" {
		s.opts.Password = "secret"
	}
	var err error
	if s.Dir, err = os.MkdirTemp("", "ftptest-"); err != nil {
		return nil, err
	}
	if err := s.start(); err != nil {
		if s.root != nil {
			s.root.Close()
		}
		os.RemoveAll(s.Dir)
		return nil, err
	}
	return s, nil
}

func (s *Server) start() error {
	var err error
	if s.root, err = os.OpenRoot(s.Dir); err != nil {
		return err
	}
	var tlsCfg *tls.Config
	if s.opts.Mode != Plain {
		cert, err := testcert.New("ftptest")
		if err != nil {
			return err
		}
		s.Certificate, s.CertificatePEM = cert.Leaf, testcert.PEM(cert)
		tlsCfg = s.tlsConfig(cert)
	}
	if s.srv, err = ftpserver.NewServer(s.serverOptions(tlsCfg)); err != nil {
		return err
	}
	// Refuse to log in before AUTH TLS. NewServer drops this option, so it
	// is set after; Implicit needs none, every connection starts with TLS.
	s.srv.ForceTLS = s.opts.Mode == Explicit
	if tlsCfg != nil {
		// goftp takes its TLS settings in ListenAndServe only, which then
		// listens where it likes. The port it cannot parse (serverOptions)
		// makes it stop right after taking them; Serve runs on our own
		// listener.
		if err := s.srv.ListenAndServe(); err == nil || strings.Contains(err.Error(), "closed") {
			return fmt.Errorf("ftptest: goftp did not fail on port -1 (%v)", err)
		}
	}
	if s.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return err
	}
	s.Addr = s.ln.Addr().String()
	var ln net.Listener = s.ln
	if s.opts.Mode == Implicit {
		ln = &implicitListener{Listener: s.ln}
	}
	go func() {
		defer close(s.serveDone)
		_ = s.srv.Serve(ln)
	}()
	return nil
}

func (s *Server) serverOptions(tlsCfg *tls.Config) *ftpserver.Options {
	commands := make(map[string]ftpserver.Command, len(ftpserver.DefaultCommands()))
	for name, c := range ftpserver.DefaultCommands() {
		commands[name] = c
	}
	commands["RETR"] = retrCommand{s: s, Command: commands["RETR"]}
	commands["SIZE"] = sizeCommand{s: s, Command: commands["SIZE"]}
	commands["MDTM"] = feature{commands["MDTM"]}
	if s.opts.Mode == Implicit {
		commands["AUTH"] = implicitAuth{Command: commands["AUTH"]}
	}
	if s.opts.NoMLSD {
		delete(commands, "MLSD")
		delete(commands, "MLST")
	}
	return &ftpserver.Options{
		Name:           "ftptest",
		Hostname:       "127.0.0.1",
		PublicIP:       s.opts.PASVAddress,
		Port:           -1, // see start
		Driver:         &driver{root: s.root},
		Auth:           authCounter{s},
		Perm:           ftpserver.NewSimplePerm("test", "test"),
		Commands:       commands,
		TLS:            tlsCfg != nil,
		TLSConfig:      tlsCfg,
		ExplicitFTPS:   true, // the listener is ours; Implicit wraps it
		WelcomeMessage: welcome,
		Logger:         &ftpserver.DiscardLogger{},
	}
}

const welcome = "ftptest ready"

// tlsConfig serves cert, and requires data connections to resume the
// control connection's session unless told otherwise. Data connections are
// those that do not arrive on the control port; their config shares the
// control's session ticket keys, as a Config from GetConfigForClient that
// sets none does.
func (s *Server) tlsConfig(cert tls.Certificate) *tls.Config {
	data := &tls.Config{
		Certificates: []tls.Certificate{cert},
		VerifyConnection: func(cs tls.ConnectionState) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.dataTLS++
			if cs.DidResume {
				s.dataTLSResumed++
				return nil
			}
			if s.opts.NoSessionReuse {
				return nil
			}
			return errors.New("ftptest: TLS session of the data connection not resumed (session reuse required)")
		},
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			if hello.Conn != nil && hello.Conn.LocalAddr().String() == s.Addr {
				return nil, nil // the control connection
			}
			return data, nil
		},
	}
}

// CertPool returns a pool holding the server's certificate, to trust it as
// a CA.
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	if s.Certificate != nil {
		p.AddCert(s.Certificate)
	}
	return p
}

// Fingerprint returns the SHA-256 fingerprint of the server's certificate
// as openssl x509 -fingerprint -sha256 prints it: "AB:CD:...".
func (s *Server) Fingerprint() string {
	sum := sha256.Sum256(s.Certificate.Raw)
	return strings.ToUpper(strings.ReplaceAll(fmt.Sprintf("% x", sum[:]), " ", ":"))
}

// User returns the user name the server lets in.
func (s *Server) User() string { return s.opts.User }

// Password returns the password the server accepts.
func (s *Server) Password() string { return s.opts.Password }

// Logins returns how many logins succeeded so far.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// PasswordAttempts returns how many passwords the server was sent so far,
// right or wrong: how often a client tried to log in.
func (s *Server) PasswordAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.passwords
}

// DataTLS returns how many TLS data connections completed a handshake, and
// how many of them resumed their control connection's session.
func (s *Server) DataTLS() (total, resumed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dataTLS, s.dataTLSResumed
}

// SetFault makes every later download misbehave as f says.
func (s *Server) SetFault(f Fault) { s.fault.Store(int32(f)) }

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

// Close stops the server and removes its folder. Connections already open
// are closed as their sessions notice.
func (s *Server) Close() {
	select {
	case <-s.done:
		return
	default:
	}
	close(s.done)
	s.srv.Shutdown()
	<-s.serveDone
	s.root.Close()
	os.RemoveAll(s.Dir)
}

// authCounter checks the password and counts the logins.
type authCounter struct{ s *Server }

func (a authCounter) CheckPasswd(_ *ftpserver.Context, user, pass string) (bool, error) {
	ok := user == a.s.opts.User && pass == a.s.opts.Password
	a.s.mu.Lock()
	a.s.passwords++
	if ok {
		a.s.logins++
	}
	a.s.mu.Unlock()
	return ok, nil
}

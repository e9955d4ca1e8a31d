// Package smtptest runs an SMTP server on 127.0.0.1 for tests, with
// github.com/emersion/go-smtp: STARTTLS or implicit TLS with a self-signed
// certificate made for the test, optional AUTH PLAIN (only over TLS), and
// the messages it received. The server stops when the test ends.
package smtptest

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/usersync/usersync/internal/testcert"
)

// Options configure a Server. A nil *Options means STARTTLS without AUTH.
type Options struct {
	// ImplicitTLS speaks TLS from the first byte, as on port 465, instead
	// of offering STARTTLS.
	ImplicitTLS bool
	// NoTLS offers no TLS at all.
	NoTLS bool
	// Username and Password, when set, are the only credentials AUTH PLAIN
	// accepts, and a client must log in before MAIL.
	Username, Password string
	// Reject, when set, is asked about each message after its data was
	// received; n counts the messages so far, from 1. A non-nil error,
	// such as an *smtp.SMTPError with code 451, is the server's reply and
	// the message is not kept.
	Reject func(n int) error
}

// A Message is what the server received.
type Message struct {
	From string
	To   []string
	Data []byte
	// TLS says whether the connection was encrypted, User who logged in.
	TLS  bool
	User string
}

// A Server is an SMTP server on 127.0.0.1.
type Server struct {
	// Host and Port are where it listens.
	Host string
	Port int
	// ClientTLS is a client configuration that trusts the server's
	// certificate, and only it.
	ClientTLS *tls.Config
	// CertificatePEM is the server's self-signed certificate in PEM, for
	// clients configured with a CA file.
	CertificatePEM []byte

	opts Options
	mu   sync.Mutex
	msgs []Message
	n    int // messages whose data came, kept or rejected
}

// Start starts a Server; it stops when t ends.
func Start(t testing.TB, opts *Options) *Server {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	cert, err := testcert.New("smtptest")
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	s := &Server{Host: "127.0.0.1", opts: *opts,
		ClientTLS:      &tls.Config{RootCAs: testcert.Pool(cert), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		CertificatePEM: testcert.PEM(cert)}

	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 32 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)
	serverTLS := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if !opts.NoTLS && !opts.ImplicitTLS {
		srv.TLSConfig = serverTLS // offers STARTTLS
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	if opts.ImplicitTLS {
		l = tls.NewListener(l, serverTLS)
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l) // returns when closed
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		// Close registers the listener only once Serve has started: close
		// it here too, or a Serve that starts late would never return.
		_ = l.Close()
		<-done
	})
	return s
}

// Addr returns "127.0.0.1:port".
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Messages returns the messages received so far. A message is there once
// the client's DATA command has been answered.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// NewSession starts a session; it implements smtp.Backend.
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, tlsOn := c.TLSConnectionState()
	return &session{srv: s, tls: tlsOn, conn: c}, nil
}

// session is one SMTP connection.
type session struct {
	srv  *Server
	conn *smtp.Conn
	tls  bool
	user string
	msg  Message
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	if ss.srv.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != ss.srv.opts.Username || password != ss.srv.opts.Password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "invalid credentials"}
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.srv.opts.Username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	_, ss.tls = ss.conn.TLSConnectionState()
	ss.msg = Message{From: from, TLS: ss.tls, User: ss.user}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.msg.To = append(ss.msg.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if s.opts.Reject != nil {
		if err := s.opts.Reject(s.n); err != nil {
			return err
		}
	}
	ss.msg.Data = data
	s.msgs = append(s.msgs, ss.msg)
	return nil
}

func (ss *session) Reset()        { ss.msg = Message{} }
func (ss *session) Logout() error { return nil }

// Temporary returns a 451 reply, for Options.Reject: the client should try
// again later.
func Temporary() error {
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
}

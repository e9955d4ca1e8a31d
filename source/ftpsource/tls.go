package ftpsource

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// trust verifies server certificates as a Config says, and makes the TLS
// settings of each connection.
type trust struct {
	addr       string
	serverName string
	roots      *x509.CertPool
	pins       map[[sha256.Size]byte]bool
	base       *tls.Config
}

func newTrust(cfg Config, o Options) (*trust, error) {
	pins, err := parsePins(cfg.CertificateSHA256)
	if err != nil {
		return nil, &ConfigError{Field: "CertificateSHA256", Err: err}
	}
	host, _ := cfg.hostPort()
	t := &trust{addr: cfg.addr(), serverName: cfg.ServerName, roots: cfg.RootCAs, pins: pins, base: o.TLSConfig}
	if t.serverName == "" {
		t.serverName = host
	}
	return t, nil
}

// tlsSeen records what the TLS handshakes of one connection found, for
// Check.
type tlsSeen struct {
	mu          sync.Mutex
	handshake   bool // the control connection's certificate was trusted
	version     uint16
	cert        *x509.Certificate
	certErr     *CertificateError
	dataConns   int // data connections that completed a handshake
	dataResumed int // of which resumed the control connection's session
}

// configs returns the TLS settings of one control connection and of its
// data connections. They share a session cache that only the control
// connection fills, so that every data connection resumes the control
// connection's session, as servers that require session reuse check
// (ProFTPD compares the sessions; a ticket a data connection received
// would not do). The cache is keyed by ServerName, which is set even for
// an IP address: without it, Go keys sessions by address and port, and
// the data connection's port differs.
func (t *trust) configs(seen *tlsSeen) (ctrl, data *tls.Config) {
	ctrl = &tls.Config{MinVersion: tls.VersionTLS12}
	if t.base != nil {
		ctrl = t.base.Clone()
		ctrl.MinVersion = max(ctrl.MinVersion, tls.VersionTLS12)
	}
	ctrl.ServerName = t.serverName
	ctrl.RootCAs = nil
	// Verification is done by VerifyConnection, which also runs on
	// resumed sessions and can pin a certificate; Go's own would refuse
	// a pinned self-signed one first.
	ctrl.InsecureSkipVerify = true
	ctrl.VerifyPeerCertificate = nil
	cache := tls.NewLRUClientSessionCache(1)
	ctrl.ClientSessionCache = cache

	data = ctrl.Clone()
	data.ClientSessionCache = readOnlyCache{cache}
	ctrl.VerifyConnection = func(cs tls.ConnectionState) error {
		err := t.verify(cs)
		seen.mu.Lock()
		defer seen.mu.Unlock()
		seen.version = cs.Version
		if len(cs.PeerCertificates) > 0 {
			seen.cert = cs.PeerCertificates[0]
		}
		seen.handshake = err == nil
		errors.As(err, &seen.certErr)
		return err
	}
	data.VerifyConnection = func(cs tls.ConnectionState) error {
		if err := t.verify(cs); err != nil {
			return err
		}
		seen.mu.Lock()
		defer seen.mu.Unlock()
		seen.dataConns++
		if cs.DidResume {
			seen.dataResumed++
		}
		return nil
	}
	return ctrl, data
}

// verify checks the server's certificate: pinned, or signed by a trusted
// authority for the server's name and valid now.
func (t *trust) verify(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the server presented no certificate")
	}
	leaf := cs.PeerCertificates[0]
	e := &CertificateError{Addr: t.addr, ServerName: t.serverName, Pinned: len(t.pins) > 0}
	e.describe(leaf)
	if len(t.pins) > 0 {
		if t.pins[sha256.Sum256(leaf.Raw)] {
			return nil
		}
		e.Err = errNotPinned
		return e
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{DNSName: t.serverName, Roots: t.roots, Intermediates: inter})
	if err != nil {
		e.Err = err
		return e
	}
	return nil
}

// describe says how a trusted certificate was recognized.
func (t *trust) describe(cert *x509.Certificate) string {
	switch {
	case cert == nil:
		return "no certificate"
	case len(t.pins) > 0:
		return fmt.Sprintf("certificate %q pinned by SHA-256", cert.Subject.String())
	case t.roots != nil:
		return fmt.Sprintf("certificate %q for %s, issued by %q, verified with Config.RootCAs", cert.Subject.String(), t.serverName, cert.Issuer.String())
	}
	return fmt.Sprintf("certificate %q for %s, issued by %q, verified with the system's roots", cert.Subject.String(), t.serverName, cert.Issuer.String())
}

// readOnlyCache gives a data connection the control connection's session
// and keeps what the data connection's own handshake would store.
type readOnlyCache struct{ tls.ClientSessionCache }

func (readOnlyCache) Put(string, *tls.ClientSessionState) {}

// parsePins parses SHA-256 fingerprints written as openssl prints them, or
// as plain hex, with an optional "SHA256:" or "sha256 Fingerprint="
// prefix.
func parsePins(pins []string) (map[[sha256.Size]byte]bool, error) {
	if len(pins) == 0 {
		return nil, nil
	}
	m := make(map[[sha256.Size]byte]bool, len(pins))
	for _, p := range pins {
		s := strings.TrimSpace(p)
		if i := strings.LastIndexByte(s, '='); i >= 0 {
			s = s[i+1:] // "sha256 Fingerprint=AB:CD:..."
		}
		if len(s) > 7 && strings.EqualFold(s[:7], "SHA256:") {
			s = s[7:]
		}
		s = strings.ReplaceAll(s, ":", "")
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("%q is not a SHA-256 fingerprint (64 hex digits, colons allowed)", p)
		}
		m[[sha256.Size]byte(b)] = true
	}
	return m, nil
}

// fingerprint returns the SHA-256 of der as openssl prints it.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return strings.ToUpper(strings.ReplaceAll(fmt.Sprintf("% x", sum[:]), " ", ":"))
}

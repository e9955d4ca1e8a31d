package ftpsource

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/textproto"
	"os"
	"strings"
	"time"
)

// Sentinel errors, for errors.Is.
var (
	// ErrAuth means the server refused the user or the password. It is
	// never retried: retrying could lock the account.
	ErrAuth = errors.New("login refused")
	// ErrNoTLS means the server did not accept AUTH TLS: it offers no
	// TLS, so the Source stopped before sending the password. It is never
	// retried.
	ErrNoTLS = errors.New("the server does not offer TLS (AUTH TLS refused)")
	// ErrCertificate is wrapped by every [CertificateError]: the server's
	// certificate could not be trusted.
	ErrCertificate = errors.New("certificate not trusted")
	// ErrTimeout is wrapped by the error of an operation the server did
	// not answer within Options.Timeout (or connecting, within
	// ConnectTimeout). errors.Is(err, os.ErrDeadlineExceeded) is true for
	// it too.
	ErrTimeout = timeoutError{}
)

type timeoutError struct{}

func (timeoutError) Error() string { return "the server did not answer in time" }

// Is makes errors.Is(ErrTimeout, os.ErrDeadlineExceeded) true.
func (timeoutError) Is(target error) bool { return target == os.ErrDeadlineExceeded }

// Timeout reports true, as net.Error's method does.
func (timeoutError) Timeout() bool { return true }

// timeout returns an error wrapping ErrTimeout that says what waited.
func timeout(what string, d time.Duration) error {
	return fmt.Errorf("%w: %s for %s", ErrTimeout, what, d)
}

// A ConfigError is a Config that cannot work: no host, no user, Dir and
// File both set, a fingerprint that does not parse. It is never retried.
type ConfigError struct {
	Field string // the Config field at fault, e.g. "CertificateSHA256"
	Err   error
}

// Error says which field is wrong and why.
func (e *ConfigError) Error() string { return "ftpsource: Config." + e.Field + ": " + e.Err.Error() }

// Unwrap returns the reason.
func (e *ConfigError) Unwrap() error { return e.Err }

// A CertificateError means the server's certificate is not trusted: no
// trusted authority signed it, it is not valid for the name, it expired,
// or it is not the pinned one. Nothing was sent to the server after the
// TLS handshake: no password.
type CertificateError struct {
	Addr       string // as dialed, e.g. "ftp.example.com:21"
	ServerName string // the name the certificate had to be valid for
	// What the server presented.
	Subject     string
	Issuer      string
	NotAfter    time.Time
	Fingerprint string // SHA-256, "AB:CD:..."
	Pinned      bool   // the Config pins certificates
	Err         error  // why it is not trusted, e.g. an x509.UnknownAuthorityError
}

// Error says what was presented, why it is not trusted, and what to do.
func (e *CertificateError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %s presented %q, issued by %q, valid until %s, SHA-256 %s: ",
		ErrCertificate, e.Addr, e.Subject, e.Issuer, e.NotAfter.Format(time.DateOnly), e.Fingerprint)
	b.WriteString(e.Err.Error())
	if e.Pinned {
		b.WriteString(". If the server's administrator confirms this certificate, add its fingerprint to Config.CertificateSHA256")
	} else {
		b.WriteString(". If the server's administrator confirms this certificate, pin it with Config.CertificateSHA256, or trust its authority with Config.RootCAs")
	}
	return b.String()
}

// Unwrap returns ErrCertificate and the reason.
func (e *CertificateError) Unwrap() []error { return []error{ErrCertificate, e.Err} }

// errNotPinned is the reason of a CertificateError for a certificate that
// is not among the pinned ones.
var errNotPinned = errors.New("not a pinned certificate")

// describeCert fills the presented certificate's fields of e.
func (e *CertificateError) describe(cert *x509.Certificate) {
	e.Subject = cert.Subject.String()
	e.Issuer = cert.Issuer.String()
	e.NotAfter = cert.NotAfter
	e.Fingerprint = fingerprint(cert.Raw)
}

// replyCode returns the FTP reply code err carries, or 0.
func replyCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

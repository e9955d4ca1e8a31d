package sftpsource

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Sentinel errors, for errors.Is.
var (
	// ErrWrongPassphrase means Config.Passphrase does not decrypt
	// Config.PrivateKey. It is never retried.
	ErrWrongPassphrase = errors.New("wrong passphrase for the private key")
	// ErrAuth means the server refused every credential given. It is
	// never retried: retrying could lock the account.
	ErrAuth = errors.New("login refused")
	// ErrHostKey is wrapped by every [UnknownHostError] and
	// [HostKeyChangedError]: the server could not be trusted.
	ErrHostKey = errors.New("host key not trusted")
	// ErrHostKeyNotVerified is what the host-key check reports for a
	// Source whose Config sets InsecureIgnoreHostKey.
	ErrHostKeyNotVerified = errors.New("host key NOT verified: Config.InsecureIgnoreHostKey is set, so anyone on the network path can pose as the server")
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

// A ConfigError is a Config that cannot work: no credentials, a key that
// does not parse, a wrong passphrase, no way to check the host key. It is
// never retried.
type ConfigError struct {
	Field string // the Config field at fault, e.g. "Passphrase"
	Err   error
}

// Error says which field is wrong and why.
func (e *ConfigError) Error() string { return "sftpsource: Config." + e.Field + ": " + e.Err.Error() }

// Unwrap returns the reason.
func (e *ConfigError) Unwrap() error { return e.Err }

// An UnknownHostError means the known_hosts file has no key for the
// server. The connection was refused before logging in.
type UnknownHostError struct {
	Host           string // as dialed, e.g. "sftp.example.com:22"
	KeyType        string // the key the server presented, e.g. "ssh-ed25519"
	Fingerprint    string // its SHA256 fingerprint
	KnownHostsFile string
}

// Error says what was presented and what to do.
func (e *UnknownHostError) Error() string {
	return fmt.Sprintf("%v: unknown host %s: %s has no key for it; the server presented %s %s. "+
		"If the server's administrator confirms that key, add it to known_hosts (ssh-keyscan prints the line)",
		ErrHostKey, e.Host, e.KnownHostsFile, e.KeyType, e.Fingerprint)
}

// Unwrap returns ErrHostKey.
func (e *UnknownHostError) Unwrap() error { return ErrHostKey }

// A HostKeyChangedError means the server presented a key other than the
// one known for it, or one marked revoked. It can mean that someone is
// intercepting the connection: nothing was sent to the server.
type HostKeyChangedError struct {
	Host        string
	KeyType     string   // the key the server presented
	Fingerprint string   // its SHA256 fingerprint
	Known       []string // fingerprints known for the host (known_hosts or pinned)
	Revoked     bool     // the presented key is marked @revoked
}

// Error says what was presented, what was expected, and what to do.
func (e *HostKeyChangedError) Error() string {
	if e.Revoked {
		return fmt.Sprintf("%v: host %s presented %s %s, which known_hosts marks as revoked", ErrHostKey, e.Host, e.KeyType, e.Fingerprint)
	}
	return fmt.Sprintf("%v: HOST KEY CHANGED for %s: the server presented %s %s, but the known keys are %s. "+
		"Someone may be intercepting the connection; do not connect until the server's administrator confirms the new key",
		ErrHostKey, e.Host, e.KeyType, e.Fingerprint, strings.Join(e.Known, ", "))
}

// Unwrap returns ErrHostKey.
func (e *HostKeyChangedError) Unwrap() error { return ErrHostKey }

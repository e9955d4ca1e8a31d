package sftpsource

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Config says which server to log in to, as whom, and how to recognize it:
// what an administrator fills in. Its String, GoString and LogValue
// methods leave the secrets out, so printing or logging a Config is safe.
type Config struct {
	// Addr is the server's "host:port", or "host" for port 22.
	Addr string
	// User is the login name.
	User string
	// Folder holds the customer's files: absolute, or relative to the
	// login folder; empty for the login folder itself.
	Folder string

	// Password logs in with password authentication, and answers a
	// keyboard-interactive prompt for it (as PAM asks).
	Password string
	// PrivateKey logs in with a private key in OpenSSH or PEM format.
	PrivateKey []byte
	// Passphrase decrypts PrivateKey if it is protected.
	Passphrase []byte
	// KeyboardInteractive answers the server's keyboard-interactive
	// questions, for servers that ask more than a password. Nil answers
	// a single hidden question with Password.
	KeyboardInteractive ssh.KeyboardInteractiveChallenge

	// KnownHostsFile is an OpenSSH known_hosts file that lists the
	// server's keys. Only the key types it records for the server are
	// asked for, so a server with several keys is recognized by any one.
	KnownHostsFile string
	// HostKeyFingerprints pins the server's key by its SHA256
	// fingerprint, as ssh-keygen -l prints it ("SHA256:...").
	HostKeyFingerprints []string
	// InsecureIgnoreHostKey accepts any server key: anyone who can
	// intercept the connection can then read the files and the password.
	// It is for tests only; a Source that uses it logs a warning at each
	// connection and fails its host-key check.
	InsecureIgnoreHostKey bool
}

// String returns the URL of the folder, without secrets, as the SFTP URI
// scheme writes it: "sftp://user@addr/srv/in" for the absolute folder
// /srv/in, "sftp://user@addr/~/in" for in, relative to the login folder,
// and "sftp://user@addr/~" for the login folder itself.
func (c Config) String() string {
	folder := c.Folder
	switch {
	case strings.HasPrefix(folder, "/"):
		folder = strings.TrimPrefix(folder, "/")
	case folder == "" || folder == ".":
		folder = "~"
	default:
		folder = "~/" + strings.TrimPrefix(folder, "./")
	}
	return fmt.Sprintf("sftp://%s@%s/%s", c.User, c.Addr, folder)
}

// GoString is String: a Config printed with %#v shows no secrets either.
func (c Config) GoString() string { return c.String() }

// LogValue logs the Config as String does.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Defaults for [Options].
const (
	DefaultConnectTimeout = 30 * time.Second
	DefaultTimeout        = 60 * time.Second
	DefaultKeepAlive      = 15 * time.Second
	DefaultRetries        = 3
	DefaultRetryWait      = time.Second
	DefaultMaxPacket      = 32 << 10
	// MaxPacketOpenSSH is the read size an OpenSSH server allows (its
	// limits@openssh.com extension says so), which its own sftp client
	// uses; it is also the largest answer github.com/pkg/sftp accepts.
	MaxPacketOpenSSH = 255 << 10
	// DefaultInFlight bounds the bytes a download has requested and not
	// yet received: 64 requests of 32 KiB, as OpenSSH's sftp client
	// keeps, or 16 of 255 KiB.
	DefaultInFlight = 4 << 20
)

// Options tunes how a Source talks to its server. The zero value, like a
// nil *Options, gives the defaults.
type Options struct {
	// ConnectTimeout bounds connecting: TCP, SSH handshake, login and
	// starting SFTP. DefaultConnectTimeout if zero.
	ConnectTimeout time.Duration
	// Timeout bounds how long the server may stay silent: an operation
	// (a listing, a move) that gets no answer within it, and a download
	// that gets no data within it, fail and close the connection.
	// DefaultTimeout if zero.
	Timeout time.Duration
	// KeepAlive is how often an otherwise quiet connection asks the
	// server for a sign of life (OpenSSH's ServerAliveInterval); a
	// connection that hears nothing for Timeout is closed. DefaultKeepAlive
	// if zero; negative turns keepalives off.
	KeepAlive time.Duration
	// Retries is how many times connecting, and an operation whose
	// connection broke, are tried again, waiting RetryWait, then longer
	// each time. A refused login, an unrecognized host key or a timeout is
	// never retried. DefaultRetries if zero; negative for none.
	Retries int
	// RetryWait is the first wait before a retry; DefaultRetryWait if zero.
	RetryWait time.Duration
	// Concurrency is how many read requests a download keeps in flight;
	// if zero, as many as fit in DefaultInFlight, at most 64. 1 reads one
	// piece at a time, for "read-once" servers that cannot serve
	// concurrent reads.
	Concurrency int
	// MaxPacket is the size of each read request, at most
	// MaxPacketOpenSSH. If zero, it is MaxPacketOpenSSH for a server that
	// announces OpenSSH's limits@openssh.com extension, as OpenSSH's sftp
	// client does, and DefaultMaxPacket (32 KiB, which every server
	// supports) for others. A server that answers with less is asked
	// again for the rest, so a size too large costs speed, never data.
	MaxPacket int
	// IncludeHidden makes List offer files whose names start with ".",
	// which are otherwise left out as uploads in progress.
	IncludeHidden bool
	// Logger is told about reconnections, retries, names refused in
	// listings and an ignored host key; nil means slog.Default().
	Logger *slog.Logger
	// DialContext opens the TCP connection; nil means a net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// withDefaults returns o with its zero fields set to the defaults.
func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	set := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	set(&r.ConnectTimeout, DefaultConnectTimeout)
	set(&r.Timeout, DefaultTimeout)
	set(&r.KeepAlive, DefaultKeepAlive)
	set(&r.RetryWait, DefaultRetryWait)
	if r.Retries == 0 {
		r.Retries = DefaultRetries
	}
	if r.Retries < 0 {
		r.Retries = 0
	}
	r.MaxPacket = min(max(r.MaxPacket, 0), MaxPacketOpenSSH)
	r.Concurrency = max(r.Concurrency, 0)
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	if r.DialContext == nil {
		r.DialContext = (&net.Dialer{}).DialContext
	}
	return r
}

// authMethods turns the Config's credentials into SSH auth methods, in
// the order they are tried: key, password, keyboard-interactive.
func (c *Config) authMethods() ([]ssh.AuthMethod, error) {
	var methods []ssh.AuthMethod
	if len(c.PrivateKey) > 0 {
		s, err := parseKey(c.PrivateKey, c.Passphrase)
		if err != nil {
			return nil, err
		}
		methods = append(methods, ssh.PublicKeys(s))
	}
	if c.Password != "" {
		methods = append(methods, ssh.Password(c.Password))
	}
	if ki := c.KeyboardInteractive; ki != nil {
		methods = append(methods, ssh.KeyboardInteractive(ki))
	} else if c.Password != "" {
		methods = append(methods, ssh.KeyboardInteractive(c.answerPassword))
	}
	if len(methods) == 0 {
		return nil, &ConfigError{Field: "Password, PrivateKey", Err: errors.New("no credentials: set a password or a private key")}
	}
	return methods, nil
}

// answerPassword answers a keyboard-interactive prompt that asks one
// hidden question, the password, as PAM's does. Anything else is refused
// rather than answered with the password.
func (c *Config) answerPassword(_, _ string, questions []string, echos []bool) ([]string, error) {
	switch {
	case len(questions) == 0:
		return nil, nil // an info message, or the end of the exchange
	case len(questions) == 1 && !echos[0]:
		return []string{c.Password}, nil
	}
	return nil, fmt.Errorf("the server asks %d keyboard-interactive questions (%q); set Config.KeyboardInteractive to answer them", len(questions), questions)
}

// parseKey parses a private key, decrypting it with passphrase if needed.
func parseKey(key, passphrase []byte) (ssh.Signer, error) {
	s, err := ssh.ParsePrivateKey(key)
	var missing *ssh.PassphraseMissingError
	switch {
	case err == nil:
		return s, nil
	case !errors.As(err, &missing):
		return nil, &ConfigError{Field: "PrivateKey", Err: err}
	case len(passphrase) == 0:
		return nil, &ConfigError{Field: "Passphrase", Err: errors.New("the private key is protected by a passphrase; set Config.Passphrase")}
	}
	s, err = ssh.ParsePrivateKeyWithPassphrase(key, passphrase)
	switch {
	case err == nil:
		return s, nil
	case errors.Is(err, x509.IncorrectPasswordError):
		return nil, &ConfigError{Field: "Passphrase", Err: ErrWrongPassphrase}
	}
	// Legacy encrypted PEM has no integrity check: about one wrong
	// passphrase in 256 decrypts to garbage with valid padding, which then
	// fails to parse. The key is known to be encrypted, so say so.
	return nil, &ConfigError{Field: "Passphrase", Err: fmt.Errorf("%w (or the key is damaged: %v)", ErrWrongPassphrase, err)}
}

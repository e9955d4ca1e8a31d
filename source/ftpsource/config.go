package ftpsource

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/usersync/usersync/source"
)

// TLSMode says how a Source protects its connections.
type TLSMode int

const (
	// Explicit connects in clear, then asks for TLS with AUTH TLS before
	// anything else is sent: FTPS on port 21, the default.
	Explicit TLSMode = iota
	// Implicit speaks TLS from the first byte: FTPS on port 990.
	Implicit
	// Plain uses no TLS: the password and the files cross the network in
	// clear, for anyone on the path to read. Only for servers that cannot
	// do better; a Source logs a warning at each connection.
	Plain
)

// String returns "explicit", "implicit" or "plain".
func (m TLSMode) String() string {
	switch m {
	case Explicit:
		return "explicit"
	case Implicit:
		return "implicit"
	case Plain:
		return "plain"
	}
	return "TLSMode(" + strconv.Itoa(int(m)) + ")"
}

// Config says which server to log in to, as whom, where the files are and
// how to trust the server: what an administrator fills in. Its String,
// GoString and LogValue methods leave the password out, so printing or
// logging a Config is safe.
type Config struct {
	// Host is the server's name or IP address, or "host:port"; Port, if
	// set, wins over the port in Host.
	Host string
	// Port is the server's port: 21 if zero, or 990 with Implicit.
	Port int
	// User is the login name.
	User string
	// Password is the login password.
	Password string

	// Dir holds the customer's files: absolute ("/imports"), or relative
	// to the login folder; empty for the login folder itself.
	Dir string
	// File, instead of Dir, names the one file to take, as SMARTFENSE's
	// setup does ("/imports/users.csv"): absolute, or relative to the
	// login folder. Its folder becomes the Source's folder, and List
	// offers that file alone, when it is there.
	File string

	// TLS is Explicit (the zero value), Implicit or Plain.
	TLS TLSMode
	// RootCAs are the certificate authorities that may sign the server's
	// certificate; nil means the system's.
	RootCAs *x509.CertPool
	// CertificateSHA256 pins the server's certificate by the SHA-256
	// fingerprint of its DER encoding, as "openssl x509 -noout
	// -fingerprint -sha256" prints it ("AB:CD:..."; colons, case and a
	// "SHA256:" prefix are optional). A pinned certificate is trusted as
	// it is, whoever signed it and whatever names and dates it holds: this
	// is how to trust a self-signed certificate. When set, RootCAs is not
	// used.
	CertificateSHA256 []string
	// ServerName is the name the certificate must be valid for; Host if
	// empty. It also keys the TLS session that data connections resume.
	ServerName string
}

// String returns "ftps://user@host:port/dir" (or ftp:// for Plain),
// without the password.
func (c Config) String() string {
	scheme := "ftps"
	if c.TLS == Plain {
		scheme = "ftp"
	}
	return fmt.Sprintf("%s://%s@%s/%s", scheme, c.User, c.addr(), strings.TrimPrefix(c.target(), "/"))
}

// GoString is String: a Config printed with %#v shows no secrets either.
func (c Config) GoString() string { return c.String() }

// LogValue logs the Config as String does.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// target is the folder or file the Config names.
func (c Config) target() string {
	if c.File != "" {
		return c.File
	}
	return c.Dir
}

// hostPort splits Host and Port, applying the default port.
func (c Config) hostPort() (string, int) {
	host, port := c.Host, c.Port
	if h, p, err := net.SplitHostPort(host); err == nil {
		host = h
		if port == 0 {
			port, _ = strconv.Atoi(p)
		}
	}
	host = strings.Trim(host, "[]")
	if port == 0 {
		port = 21
		if c.TLS == Implicit {
			port = 990
		}
	}
	return host, port
}

// addr is "host:port".
func (c Config) addr() string {
	host, port := c.hostPort()
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// folderAndFile returns the folder to work in and, for a Config with
// File, the file's name in it.
func (c Config) folderAndFile() (folder, file string) {
	if c.File == "" {
		return c.Dir, ""
	}
	folder, file = path.Split(c.File)
	if folder != "/" {
		folder = strings.TrimSuffix(folder, "/")
	}
	return folder, file
}

// validate reports the first field that cannot work.
func (c Config) validate() error {
	host, port := c.hostPort()
	switch {
	case host == "":
		return &ConfigError{Field: "Host", Err: errors.New("no server name")}
	case port <= 0 || port > 65535:
		return &ConfigError{Field: "Port", Err: fmt.Errorf("%d is not a TCP port", port)}
	case c.User == "":
		return &ConfigError{Field: "User", Err: errors.New("no user name")}
	case c.TLS < Explicit || c.TLS > Plain:
		return &ConfigError{Field: "TLS", Err: fmt.Errorf("unknown mode %d", int(c.TLS))}
	case c.Dir != "" && c.File != "":
		return &ConfigError{Field: "File", Err: errors.New("set Dir or File, not both")}
	case strings.ContainsAny(c.target(), "\r\n\x00"):
		return &ConfigError{Field: "Dir, File", Err: errors.New("the path holds a line break or NUL")}
	}
	if _, file := c.folderAndFile(); c.File != "" {
		if err := source.ValidName(file); err != nil {
			return &ConfigError{Field: "File", Err: err}
		}
	}
	if _, err := parsePins(c.CertificateSHA256); err != nil {
		return &ConfigError{Field: "CertificateSHA256", Err: err}
	}
	return nil
}

// Defaults for [Options].
const (
	DefaultConnectTimeout = 30 * time.Second
	DefaultTimeout        = 60 * time.Second
	DefaultRetries        = 3
	DefaultRetryWait      = time.Second
	// DefaultMaxConnections is how many connections a Source opens at
	// most: one download and a listing at the same time, which every
	// server allows.
	DefaultMaxConnections = 2
)

// Options tunes how a Source talks to its server. The zero value, like a
// nil *Options, gives the defaults.
type Options struct {
	// ConnectTimeout bounds connecting: TCP, TLS, login and changing to
	// the folder; and opening a data connection. DefaultConnectTimeout if
	// zero.
	ConnectTimeout time.Duration
	// Timeout bounds how long the server may stay silent: a read or write
	// on the control or a data connection that makes no progress within
	// it fails and closes the connection, and so does a transfer whose
	// final reply does not come within it. DefaultTimeout if zero.
	Timeout time.Duration
	// Retries is how many times connecting, and an operation whose
	// connection broke, are tried again, waiting RetryWait, then longer
	// each time. A refused login, an untrusted certificate, a missing TLS
	// or a timeout is never retried. DefaultRetries if zero; negative for
	// none.
	Retries int
	// RetryWait is the first wait before a retry; DefaultRetryWait if zero.
	RetryWait time.Duration
	// MaxConnections bounds the connections a Source keeps open, and so
	// the transfers and listings it runs at once; a call waits when all
	// are busy. DefaultMaxConnections if zero or negative.
	MaxConnections int
	// DisableEPSV opens data connections with PASV only, for servers that
	// answer EPSV wrongly. (A server that refuses EPSV is handled without
	// it: PASV is tried next.)
	DisableEPSV bool
	// IncludeHidden makes List offer files whose names start with ".",
	// which are otherwise left out as uploads in progress.
	IncludeHidden bool
	// Location is the time zone of the times a server without MLSD and
	// MDTM lists; UTC if nil. Times from MLSD and MDTM are UTC by the
	// standard.
	Location *time.Location
	// TLSConfig is a base for the TLS settings: versions, cipher suites,
	// a client certificate. The Source sets ServerName, verification and
	// the session cache itself from the Config; the base's own
	// verification settings (RootCAs, InsecureSkipVerify, ...) are not
	// used.
	TLSConfig *tls.Config
	// Logger is told about reconnections, retries, names refused in
	// listings and plain FTP; nil means slog.Default().
	Logger *slog.Logger
	// DialContext opens TCP connections, control and data alike; nil
	// means a net.Dialer. The connections must be TCP.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// withDefaults returns o with its zero fields set to the defaults.
func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	set := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	set(&r.ConnectTimeout, DefaultConnectTimeout)
	set(&r.Timeout, DefaultTimeout)
	set(&r.RetryWait, DefaultRetryWait)
	if r.Retries == 0 {
		r.Retries = DefaultRetries
	}
	r.Retries = max(r.Retries, 0)
	if r.MaxConnections <= 0 {
		r.MaxConnections = DefaultMaxConnections
	}
	if r.Location == nil {
		r.Location = time.UTC
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	if r.DialContext == nil {
		r.DialContext = (&net.Dialer{}).DialContext
	}
	return r
}

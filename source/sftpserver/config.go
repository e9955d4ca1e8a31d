package sftpserver

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"golang.org/x/crypto/ssh"
)

// Config holds what a Server cannot do without.
type Config struct {
	// HostKeys are the server's private host keys; at least one. Ed25519
	// is the best choice (see LoadOrCreateHostKey); ECDSA and RSA keys
	// are accepted, RSA keys of at least 2048 bits and only with SHA-2
	// signatures.
	HostKeys []ssh.Signer
	// Tenants says who may log in, with which credentials, and into which
	// folder. MemTenants is a ready implementation.
	Tenants Tenants
}

// Options tunes a Server. The zero value, like a nil *Options, gives the
// defaults each field names.
type Options struct {
	// OnUpload is called once for every file that became complete in a
	// tenant's folder, after it is in place and before the client is told
	// its upload succeeded. It must not block for long, since the client
	// waits: hand the work to another goroutine. nil means no one is told.
	OnUpload func(Upload)

	// Quota bounds what each tenant may store; a Tenant's own Quota
	// overrides it field by field. Zero fields take DefaultQuota's.
	Quota Quota

	// MaxConnections bounds the connections the server holds at once,
	// logged in or not; DefaultMaxConnections if 0.
	MaxConnections int
	// MaxConnectionsPerIP bounds the connections from one address, logged
	// in or not; DefaultMaxConnectionsPerIP if 0.
	MaxConnectionsPerIP int
	// MaxSessionsPerTenant bounds the logged-in connections of one tenant,
	// all its users together; DefaultMaxSessionsPerTenant if 0.
	MaxSessionsPerTenant int

	// Lockout slows down and then locks out password guessing.
	Lockout Lockout

	// LoginTimeout bounds the time from connecting to being logged in;
	// DefaultLoginTimeout if 0.
	LoginTimeout time.Duration
	// IdleTimeout closes a logged-in connection whose client sent nothing
	// on its SFTP sessions for that long; DefaultIdleTimeout if 0. A
	// client's SSH keepalives do not count: they keep a connection alive
	// without using it.
	IdleTimeout time.Duration

	// AllowDownload lets tenants read their files back. By default they
	// can upload, list, rename and delete files, and make and remove
	// folders, but not download: a drop box needs no more.
	AllowDownload bool
	// NoSync skips the fsync of each finished upload and of its folder. By
	// default a file is on disk before it is announced, so that a crash
	// never leaves a complete-looking file with missing data.
	NoSync bool

	// Algorithms narrows or widens the SSH algorithms the server allows;
	// empty fields take DefaultAlgorithms's.
	//
	// OpenSSH's client picks chacha20-poly1305@openssh.com first, and
	// golang.org/x/crypto's ChaCha20 has no assembly for amd64: there, it
	// costs the server about 0.8 s of CPU per 125 MB uploaded, against
	// 0.6 s with AES-CTR or AES-GCM, which use AES-NI (examples/dropboxbench
	// measures it). A host short of CPU may leave ChaCha20 out of Ciphers;
	// clients then pick AES.
	Algorithms ssh.Algorithms
	// Banner is shown to clients before they log in, if set.
	Banner string
	// ServerVersion is the SSH version string the server announces;
	// "SSH-2.0-usersync" if empty, which names no software version.
	ServerVersion string

	// Logger receives the audit log: logins, failures, uploads, renames,
	// deletions and refusals, with the attributes described in the
	// package documentation, never a password. nil means slog.Default().
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now. Tests set it,
	// with Lockout, to check lockouts without waiting.
	Now func() time.Time
}

// Quota bounds what a tenant may store in its folder. A zero field takes
// the default; a negative one means no limit.
type Quota struct {
	// MaxFileSize bounds the size of one file.
	MaxFileSize int64
	// MaxBytes bounds the bytes of all files in the folder and its
	// subfolders, uploads in progress included.
	MaxBytes int64
	// MaxFiles bounds the files and folders in the folder and its
	// subfolders, uploads in progress included.
	MaxFiles int
}

// Lockout slows down and then stops password guessing, per user name and
// client address, so that an attacker elsewhere cannot lock a tenant out.
// After each wrong password the server waits Delay, doubled for each
// further failure up to MaxDelay, before it answers; after MaxFailures
// failures, that user name from that address is refused, even with the
// right password, for Duration. Failures are forgotten Duration after the
// last one, and at a successful login. A login refused because the address
// is not in the tenant's AllowedNetworks counts as a failure too.
//
// An address that tries MaxFailuresPerIP user names that do not exist
// (guessing names) is locked out the same way, for unknown names and for
// the users that failed from it; a tenant's user that did not fail from it
// still logs in, so that tenants sharing an address with the guesser
// (behind a corporate NAT, an integration platform or a transfer vendor)
// are never shut out. Wrong passwords of existing users count toward their
// own lockout only.
//
// Public keys a client offers and the server does not know are not
// failures: OpenSSH's client offers every key it has before trying a
// password.
type Lockout struct {
	MaxFailures      int           // DefaultLockout's if 0
	MaxFailuresPerIP int           // DefaultLockout's if 0
	Duration         time.Duration // DefaultLockout's if 0
	Delay            time.Duration // DefaultLockout's if 0; negative for none
	MaxDelay         time.Duration // DefaultLockout's if 0
}

// The defaults for Options.
const (
	DefaultMaxConnections       = 1024
	DefaultMaxConnectionsPerIP  = 32
	DefaultMaxSessionsPerTenant = 8
	DefaultLoginTimeout         = 30 * time.Second
	DefaultIdleTimeout          = 10 * time.Minute
)

// DefaultQuota returns the Quota of a tenant for which neither the Options
// nor the Tenant set one: files of up to 2 GiB, and 10 GiB and 1000 files
// and folders in all; ample for any directory export, small enough that one
// tenant cannot fill the server's disk.
func DefaultQuota() Quota {
	return Quota{MaxFileSize: 2 << 30, MaxBytes: 10 << 30, MaxFiles: 1000}
}

// DefaultLockout returns the Lockout used for zero fields: five wrong
// passwords in a row, answered after 1, 2, 4, 8 and 16 seconds, lock the
// user name out from that address for 15 minutes; 50 unknown user names
// tried from one address lock the address out for unknown names.
func DefaultLockout() Lockout {
	return Lockout{
		MaxFailures:      5,
		MaxFailuresPerIP: 50,
		Duration:         15 * time.Minute,
		Delay:            time.Second,
		MaxDelay:         16 * time.Second,
	}
}

// DefaultAlgorithms returns the SSH algorithms a Server allows unless
// Options.Algorithms says otherwise: what golang.org/x/crypto/ssh supports
// minus everything weak or dated. Key exchange: ML-KEM768 with X25519 (a
// post-quantum hybrid), Curve25519 and the NIST ECDH curves, no
// finite-field Diffie-Hellman. Ciphers: AES-GCM, ChaCha20-Poly1305 and
// AES-CTR, no CBC or RC4. MACs (used with CTR only): HMAC-SHA2-256 and
// -512, the encrypt-then-MAC forms first, no SHA-1. Public keys and signatures: Ed25519, ECDSA and RSA
// with SHA-2, including security keys, never SHA-1 ("ssh-rsa") or DSA.
func DefaultAlgorithms() ssh.Algorithms {
	return ssh.Algorithms{
		KeyExchanges: []string{
			ssh.KeyExchangeMLKEM768X25519, ssh.KeyExchangeCurve25519, "curve25519-sha256@libssh.org",
			ssh.KeyExchangeECDHP256, ssh.KeyExchangeECDHP384, ssh.KeyExchangeECDHP521,
		},
		Ciphers: []string{
			ssh.CipherAES128GCM, ssh.CipherAES256GCM, ssh.CipherChaCha20Poly1305,
			ssh.CipherAES128CTR, ssh.CipherAES192CTR, ssh.CipherAES256CTR,
		},
		MACs: []string{
			ssh.HMACSHA256ETM, ssh.HMACSHA512ETM, ssh.HMACSHA256, ssh.HMACSHA512,
		},
		HostKeys: []string{
			ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
			ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
		},
		PublicKeyAuths: []string{
			ssh.KeyAlgoED25519, ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256,
			ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
			ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
		},
	}
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	setDefault(&o.MaxConnections, DefaultMaxConnections)
	setDefault(&o.MaxConnectionsPerIP, DefaultMaxConnectionsPerIP)
	setDefault(&o.MaxSessionsPerTenant, DefaultMaxSessionsPerTenant)
	setDefault(&o.LoginTimeout, DefaultLoginTimeout)
	setDefault(&o.IdleTimeout, DefaultIdleTimeout)
	o.Quota = o.Quota.or(DefaultQuota())
	l, d := &o.Lockout, DefaultLockout()
	setDefault(&l.MaxFailures, d.MaxFailures)
	setDefault(&l.MaxFailuresPerIP, d.MaxFailuresPerIP)
	setDefault(&l.Duration, d.Duration)
	setDefault(&l.Delay, d.Delay)
	setDefault(&l.MaxDelay, d.MaxDelay)
	a, da := &o.Algorithms, DefaultAlgorithms()
	setDefaultSlice(&a.KeyExchanges, da.KeyExchanges)
	setDefaultSlice(&a.Ciphers, da.Ciphers)
	setDefaultSlice(&a.MACs, da.MACs)
	setDefaultSlice(&a.HostKeys, da.HostKeys)
	setDefaultSlice(&a.PublicKeyAuths, da.PublicKeyAuths)
	if o.ServerVersion == "" {
		o.ServerVersion = "SSH-2.0-usersync"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

func setDefaultSlice[T any](v *[]T, def []T) {
	if len(*v) == 0 {
		*v = slices.Clone(def)
	}
}

// or returns q with its zero fields taken from def.
func (q Quota) or(def Quota) Quota {
	setDefault(&q.MaxFileSize, def.MaxFileSize)
	setDefault(&q.MaxBytes, def.MaxBytes)
	setDefault(&q.MaxFiles, def.MaxFiles)
	return q
}

// check reports what is wrong with the options, after withDefaults.
func (o *Options) check() error {
	var errs []error
	for _, v := range []struct {
		name string
		val  int
	}{
		{"MaxConnections", o.MaxConnections},
		{"MaxConnectionsPerIP", o.MaxConnectionsPerIP},
		{"MaxSessionsPerTenant", o.MaxSessionsPerTenant},
		{"Lockout.MaxFailures", o.Lockout.MaxFailures},
		{"Lockout.MaxFailuresPerIP", o.Lockout.MaxFailuresPerIP},
	} {
		if v.val < 0 {
			errs = append(errs, fmt.Errorf("%s is negative", v.name))
		}
	}
	for _, v := range []struct {
		name string
		val  time.Duration
	}{
		{"LoginTimeout", o.LoginTimeout}, {"IdleTimeout", o.IdleTimeout},
		{"Lockout.Duration", o.Lockout.Duration}, {"Lockout.MaxDelay", o.Lockout.MaxDelay},
	} {
		if v.val < 0 {
			errs = append(errs, fmt.Errorf("%s is negative", v.name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sftpserver: options: %w", err)
	}
	return nil
}

// insecureAlgorithms returns the algorithms of a that x/crypto/ssh counts
// as insecure, for the server to warn about.
func insecureAlgorithms(a ssh.Algorithms) []string {
	ins := ssh.InsecureAlgorithms()
	var found []string
	for _, pair := range [][2][]string{
		{a.KeyExchanges, ins.KeyExchanges}, {a.Ciphers, ins.Ciphers}, {a.MACs, ins.MACs},
		{a.HostKeys, ins.HostKeys}, {a.PublicKeyAuths, ins.PublicKeyAuths},
	} {
		for _, name := range pair[0] {
			if slices.Contains(pair[1], name) {
				found = append(found, name)
			}
		}
	}
	return found
}

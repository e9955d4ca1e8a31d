package sftpserver

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"golang.org/x/crypto/ssh"
)

// maxUserLen bounds the user names the server looks up; longer ones are
// refused unseen.
const maxUserLen = 256

// authState is what a connection learns while its client logs in. Only
// the handshake goroutine touches it, until NewServerConn returns.
type authState struct {
	looked map[string]*Tenant // by user name; nil for an unknown user
	tenant *Tenant            // of the user who logged in
	user   string             // the last user name tried
	tried  bool               // some authentication was attempted
	failed bool               // a failure was logged
	// notAllowed is set once the address was refused for not being in
	// the tenant's AllowedNetworks, and counted.
	notAllowed bool
}

// errAuth is what a client is told of any failed attempt; the audit log
// says why.
var errAuth = errors.New("authentication failed")

// serverConfig returns the SSH configuration for one connection, whose
// callbacks record what they learn in c.auth.
func (c *conn) serverConfig() *ssh.ServerConfig {
	o := &c.s.opts
	cfg := &ssh.ServerConfig{
		Config: ssh.Config{
			KeyExchanges: o.Algorithms.KeyExchanges,
			Ciphers:      o.Algorithms.Ciphers,
			MACs:         o.Algorithms.MACs,
		},
		PublicKeyAuthAlgorithms:   o.Algorithms.PublicKeyAuths,
		PasswordCallback:          c.password,
		PublicKeyCallback:         c.publicKey,
		VerifiedPublicKeyCallback: c.verifiedKey,
		ServerVersion:             o.ServerVersion,
	}
	if o.Banner != "" {
		cfg.BannerCallback = func(ssh.ConnMetadata) string { return o.Banner }
	}
	for _, k := range c.s.hostKeys {
		cfg.AddHostKey(k)
	}
	return cfg
}

// password checks a password, counting a wrong one against the lockout.
func (c *conn) password(meta ssh.ConnMetadata, password []byte) (*ssh.Permissions, error) {
	user := meta.User()
	c.auth.tried, c.auth.user = true, user
	if err := c.admissible(user, "password"); err != nil {
		return nil, err
	}
	t, err := c.lookup(user)
	if err != nil {
		return nil, err
	}
	if err := c.addressAdmits(user, t, "password"); err != nil {
		return nil, err
	}
	if !c.checkPassword(t, password) {
		return nil, c.wrongPassword(user, t)
	}
	c.s.lockout.succeed(user, c.ip)
	c.auth.tenant = t
	return &ssh.Permissions{Extensions: map[string]string{extTenant: t.ID, extMethod: "password"}}, nil
}

// publicKey says whether the user may log in with key; the client must then
// prove it holds the private key. A key that is not authorized is not a
// failure to count: clients offer every key they have.
func (c *conn) publicKey(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	user := meta.User()
	c.auth.tried, c.auth.user = true, user
	if err := c.admissible(user, "publickey"); err != nil {
		return nil, err
	}
	t, err := c.lookup(user)
	if err != nil {
		return nil, err
	}
	if err := c.addressAdmits(user, t, "publickey"); err != nil {
		return nil, err
	}
	if t == nil || indexKey(t.AuthorizedKeys, key) < 0 {
		return nil, errAuth
	}
	if typ := key.Type(); typ == ssh.KeyAlgoRSA && rsaBits(key) < 2048 {
		c.authFailed(user, t, "publickey", "RSA key shorter than 2048 bits", "key", ssh.FingerprintSHA256(key))
		return nil, errAuth
	}
	return &ssh.Permissions{}, nil
}

// verifiedKey completes a public key login once the client proved it holds
// the key.
func (c *conn) verifiedKey(meta ssh.ConnMetadata, key ssh.PublicKey, _ *ssh.Permissions, _ string) (*ssh.Permissions, error) {
	t := c.auth.looked[meta.User()]
	if t == nil || indexKey(t.AuthorizedKeys, key) < 0 { // cannot happen: publicKey approved it
		return nil, errAuth
	}
	c.s.lockout.succeed(meta.User(), c.ip)
	c.auth.tenant = t
	return &ssh.Permissions{Extensions: map[string]string{
		extTenant: t.ID, extMethod: "publickey", extKey: ssh.FingerprintSHA256(key),
	}}, nil
}

// admissible refuses a user name that is locked out from this address, or
// absurd, before anything is looked up.
func (c *conn) admissible(user, method string) error {
	if len(user) > maxUserLen || user == "" {
		c.authFailed("", nil, method, "invalid user name")
		return errAuth
	}
	if until := c.s.lockout.lockedUntil(userKey(user, c.ip)); !until.IsZero() {
		c.authFailed(user, nil, method, "locked out", "until", until)
		return errAuth
	}
	return nil
}

// addressAdmits refuses, once the user is looked up, what this address may
// not try: any login from an address locked out for guessing user names,
// but that of a tenant's user who has not failed from it (so that a tenant
// sharing the address with a guesser, behind a NAT or a transfer vendor,
// is not shut out); and, before any credential is checked, a login from
// an address outside the tenant's AllowedNetworks, which is audited and
// counted as a failure.
func (c *conn) addressAdmits(user string, t *Tenant, method string) error {
	if until := c.s.lockout.lockedUntil(ipKey(c.ip)); !until.IsZero() && (t == nil || c.s.lockout.failedBefore(user, c.ip)) {
		c.authFailed(user, t, method, "address locked out", "until", until)
		c.wait(c.s.lockout.delay(1)) // as long as a first wrong password, so that names cannot be told apart
		return errAuth
	}
	if t == nil || t.allows(c.addr) {
		return nil
	}
	if c.auth.notAllowed {
		return errAuth // counted once per connection: a client offers several keys
	}
	c.auth.notAllowed = true
	delay, locked := c.s.lockout.fail(user, c.ip, true)
	c.authFailed(user, t, method, "address not allowed")
	if locked {
		c.s.log.Warn("sftpserver: locked out after repeated failures", "event", "lockout", "user", user, "remote", c.remote,
			"duration", c.s.opts.Lockout.Duration)
	}
	c.wait(delay)
	return errAuth
}

// wait sleeps d, or until the server closes.
func (c *conn) wait(d time.Duration) {
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-c.s.ctx.Done():
	}
}

// lookup returns the user's Tenant, nil for an unknown user, asking the
// host once per connection.
func (c *conn) lookup(user string) (*Tenant, error) {
	if t, ok := c.auth.looked[user]; ok {
		return t, nil
	}
	ctx, cancel := context.WithTimeout(c.s.ctx, c.s.opts.LoginTimeout)
	defer cancel()
	t, err := c.s.tenants.Lookup(ctx, user)
	switch {
	case errors.Is(err, ErrUnknownUser):
		t = nil
	case err != nil:
		c.s.log.Error("sftpserver: tenant lookup failed", "event", "login_failed", "user", user, "remote", c.remote,
			"reason", "lookup failed", "error", err.Error())
		c.auth.failed = true
		return nil, errAuth
	default:
		if err := t.check(); err != nil {
			c.s.log.Error("sftpserver: unusable tenant", "event", "login_failed", "user", user, "remote", c.remote,
				"reason", "unusable tenant", "error", err.Error())
			c.auth.failed = true
			return nil, errAuth
		}
	}
	if c.auth.looked == nil {
		c.auth.looked = map[string]*Tenant{}
	}
	c.auth.looked[user] = t
	return t, nil
}

// checkPassword reports whether password matches one of t's hashes. For an
// unknown user (t nil) it spends the time a known one would. At most a few
// hashes are checked at once server-wide, so that a flood of attempts costs
// the server bounded memory and CPU.
func (c *conn) checkPassword(t *Tenant, password []byte) bool {
	select {
	case c.s.verify <- struct{}{}:
		defer func() { <-c.s.verify }()
	case <-c.s.ctx.Done():
		return false
	}
	if len(password) == 0 {
		return false
	}
	if t == nil || len(t.PasswordHashes) == 0 {
		dummyHash.matches(password)
		return false
	}
	ok := false
	for _, h := range t.PasswordHashes {
		ph, err := parseHash(h)
		if err == nil && ph.matches(password) {
			ok = true
		}
	}
	return ok
}

// wrongPassword counts a failure, logs it, and waits the back-off delay
// before the client is told.
func (c *conn) wrongPassword(user string, t *Tenant) error {
	delay, locked := c.s.lockout.fail(user, c.ip, t != nil)
	reason := "wrong password"
	if t == nil {
		reason = "unknown user"
	}
	c.authFailed(user, t, "password", reason)
	if locked {
		c.s.log.Warn("sftpserver: locked out after repeated failures", "event", "lockout", "user", user, "remote", c.remote,
			"duration", c.s.opts.Lockout.Duration)
	}
	c.wait(delay)
	return errAuth
}

// authFailed logs a failed attempt. It never logs the password.
func (c *conn) authFailed(user string, t *Tenant, method, reason string, attrs ...any) {
	c.auth.failed = true
	tenant := ""
	if t != nil {
		tenant = t.ID
	}
	attrs = append([]any{"event", "login_failed", "tenant", tenant, "user", user, "remote", c.remote,
		"method", method, "reason", reason}, attrs...)
	c.s.log.Log(context.Background(), slog.LevelWarn, "sftpserver: login failed", attrs...)
}

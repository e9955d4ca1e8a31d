package sftpserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"golang.org/x/crypto/ssh"
)

// Tenants says who may log in. The host implements it over its own
// database, or uses MemTenants. Lookup is called at every login (once per
// connection and user name), so credentials the host adds or revokes take
// effect at the next login without a restart; Server.Disconnect ends the
// sessions already open.
type Tenants interface {
	// Lookup returns the tenant the user name logs in to, with that
	// user's credentials, or an error wrapping ErrUnknownUser if the name
	// may not log in. Any other error fails the login without counting as
	// a wrong password. ctx ends with the login timeout. The server does
	// not modify or keep the Tenant beyond the session.
	Lookup(ctx context.Context, user string) (*Tenant, error)
}

// A Tenant is one customer's drop box, as a user name logging in sees it.
// Several user names may share a tenant: they share its folder, its quota
// and its session limit.
type Tenant struct {
	// ID names the tenant in events and the audit log. Required.
	ID string
	// Root is the local folder the tenant sees as "/". It must exist.
	// Tenants' folders must not lie inside one another.
	Root string
	// PasswordHashes are the hashes of the passwords the user may log in
	// with: argon2id in the PHC format HashPassword writes, or bcrypt
	// ("$2a$", "$2b$", "$2y$"). Several may be valid at once, so that a
	// password can be rotated without a moment when neither works.
	PasswordHashes []string
	// AuthorizedKeys are the public keys the user may log in with. RSA
	// keys shorter than 2048 bits are refused.
	AuthorizedKeys []ssh.PublicKey
	// Quota overrides Options.Quota for this tenant, field by field.
	Quota Quota
	// AllowedNetworks, if not empty, are the only networks the user may
	// log in from, such as 203.0.113.7/32 and 198.51.100.0/24: the
	// addresses a customer says it connects from. A login from elsewhere
	// is refused before any credential is checked, audited ("address not
	// allowed") and counted as a failure toward the lockout. Like the
	// credentials, it is read at every login: a change applies to the next
	// one (MemTenants.SetAllowedNetworks).
	AllowedNetworks []netip.Prefix
}

// allows reports whether the user may log in from addr: from anywhere
// when AllowedNetworks is empty.
func (t *Tenant) allows(addr netip.Addr) bool {
	if len(t.AllowedNetworks) == 0 {
		return true
	}
	for _, p := range t.AllowedNetworks {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// check reports whether t is usable: an ID, a root, hashes in a known
// format.
func (t *Tenant) check() error {
	if t.ID == "" {
		return errors.New("tenant has no ID")
	}
	if t.Root == "" {
		return fmt.Errorf("tenant %q has no Root folder", t.ID)
	}
	for _, h := range t.PasswordHashes {
		if _, err := parseHash(h); err != nil {
			return fmt.Errorf("tenant %q: %w", t.ID, err)
		}
	}
	for _, p := range t.AllowedNetworks {
		if !p.IsValid() {
			return fmt.Errorf("tenant %q: invalid network in AllowedNetworks", t.ID)
		}
	}
	return nil
}

// clone returns a copy of t that shares nothing mutable with it.
func (t *Tenant) clone() *Tenant {
	c := *t
	c.PasswordHashes = slices.Clone(t.PasswordHashes)
	c.AuthorizedKeys = slices.Clone(t.AuthorizedKeys)
	c.AllowedNetworks = slices.Clone(t.AllowedNetworks)
	return &c
}

// MemTenants is a Tenants held in memory, safe for concurrent use, whose
// users' credentials can be added and revoked while the server runs. The
// zero value holds no user.
type MemTenants struct {
	mu    sync.RWMutex
	users map[string]*Tenant
}

var _ Tenants = (*MemTenants)(nil)

// Set lets user log in to t, with t's credentials, replacing what user had.
// It fails if t has no ID or Root, or holds a password hash in an unknown
// format.
func (m *MemTenants) Set(user string, t Tenant) error {
	if user == "" {
		return errors.New("sftpserver: empty user name")
	}
	if err := t.check(); err != nil {
		return fmt.Errorf("sftpserver: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.users == nil {
		m.users = map[string]*Tenant{}
	}
	m.users[user] = t.clone()
	return nil
}

// Delete stops user from logging in. Deleting an unknown user does nothing.
func (m *MemTenants) Delete(user string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.users, user)
}

// SetAllowedNetworks sets the networks user may log in from (see
// Tenant.AllowedNetworks); none lets it log in from anywhere. It fails for
// an invalid prefix. The change applies to the next login.
func (m *MemTenants) SetAllowedNetworks(user string, networks ...netip.Prefix) error {
	for _, p := range networks {
		if !p.IsValid() {
			return fmt.Errorf("sftpserver: invalid network %v", p)
		}
	}
	return m.update(user, func(t *Tenant) error {
		t.AllowedNetworks = slices.Clone(networks)
		for i, p := range t.AllowedNetworks {
			t.AllowedNetworks[i] = p.Masked()
		}
		return nil
	})
}

// AddPassword lets user log in with the password hash (see HashPassword),
// besides those it has.
func (m *MemTenants) AddPassword(user, hash string) error {
	if _, err := parseHash(hash); err != nil {
		return fmt.Errorf("sftpserver: %w", err)
	}
	return m.update(user, func(t *Tenant) error {
		if !slices.Contains(t.PasswordHashes, hash) {
			t.PasswordHashes = append(t.PasswordHashes, hash)
		}
		return nil
	})
}

// RevokePassword stops user from logging in with the password of that
// hash. It fails with ErrUnknownCredential if user has no such hash.
func (m *MemTenants) RevokePassword(user, hash string) error {
	return m.update(user, func(t *Tenant) error {
		i := slices.Index(t.PasswordHashes, hash)
		if i < 0 {
			return fmt.Errorf("password hash: %w", ErrUnknownCredential)
		}
		t.PasswordHashes = slices.Delete(t.PasswordHashes, i, i+1)
		return nil
	})
}

// AddKey lets user log in with the public key, besides those it has.
func (m *MemTenants) AddKey(user string, key ssh.PublicKey) error {
	if key == nil {
		return errors.New("sftpserver: nil key")
	}
	return m.update(user, func(t *Tenant) error {
		if indexKey(t.AuthorizedKeys, key) < 0 {
			t.AuthorizedKeys = append(t.AuthorizedKeys, key)
		}
		return nil
	})
}

// RevokeKey stops user from logging in with the public key. It fails with
// ErrUnknownCredential if user has no such key.
func (m *MemTenants) RevokeKey(user string, key ssh.PublicKey) error {
	return m.update(user, func(t *Tenant) error {
		i := indexKey(t.AuthorizedKeys, key)
		if i < 0 {
			return fmt.Errorf("key %s: %w", ssh.FingerprintSHA256(key), ErrUnknownCredential)
		}
		t.AuthorizedKeys = slices.Delete(t.AuthorizedKeys, i, i+1)
		return nil
	})
}

// update changes a copy of user's Tenant with f and stores it, so that a
// Tenant returned by Lookup never changes under its holder.
func (m *MemTenants) update(user string, f func(*Tenant) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.users[user]
	if !ok {
		return fmt.Errorf("sftpserver: %q: %w", user, ErrUnknownUser)
	}
	c := t.clone()
	if err := f(c); err != nil {
		return fmt.Errorf("sftpserver: %q: %w", user, err)
	}
	m.users[user] = c
	return nil
}

// Lookup returns a copy of user's Tenant, or ErrUnknownUser.
func (m *MemTenants) Lookup(_ context.Context, user string) (*Tenant, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	t, ok := m.users[user]
	if !ok {
		return nil, ErrUnknownUser
	}
	return t.clone(), nil
}

// indexKey returns the index of key in keys, or -1.
func indexKey(keys []ssh.PublicKey, key ssh.PublicKey) int {
	b := key.Marshal()
	return slices.IndexFunc(keys, func(k ssh.PublicKey) bool { return bytes.Equal(k.Marshal(), b) })
}

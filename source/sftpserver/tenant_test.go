package sftpserver_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	"github.com/usersync/usersync/source/sftpserver"
)

// TestCredentialRotation rotates a tenant's password and key while the
// server runs: the new ones work at once, the old ones stop at once.
func TestCredentialRotation(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	oldHash := mustLookup(t, ts, acme.user).PasswordHashes[0]
	newHash, err := bcrypt.GenerateFromPassword([]byte("new-password"), bcrypt.MinCost)
	require.NoError(t, err)

	require.NoError(t, ts.tenants.AddPassword(acme.user, string(newHash)))
	require.NoError(t, ts.passwordLogin(acme.user, acme.password), "both work during the rotation")
	require.NoError(t, ts.passwordLogin(acme.user, "new-password"))
	require.NoError(t, ts.tenants.RevokePassword(acme.user, oldHash))
	assert.Error(t, ts.passwordLogin(acme.user, acme.password))
	require.NoError(t, ts.passwordLogin(acme.user, "new-password"))

	newKey := newSigner(t)
	require.NoError(t, ts.tenants.AddKey(acme.user, newKey.PublicKey()))
	require.NoError(t, ts.tenants.RevokeKey(acme.user, acme.key.PublicKey()))
	_, err = ts.dialSSH(acme)
	assert.Error(t, err)
	sc, err := ssh.Dial("tcp", ts.addr, ts.sshConfig(acme.user, ssh.PublicKeys(newKey)))
	require.NoError(t, err)
	sc.Close()

	ts.tenants.Delete(acme.user)
	assert.Error(t, ts.passwordLogin(acme.user, "new-password"))
}

func TestMemTenantsErrors(t *testing.T) {
	var m sftpserver.MemTenants
	_, err := m.Lookup(t.Context(), "nobody")
	assert.ErrorIs(t, err, sftpserver.ErrUnknownUser)
	assert.ErrorIs(t, m.AddKey("nobody", newSigner(t).PublicKey()), sftpserver.ErrUnknownUser)
	assert.Error(t, m.Set("acme", sftpserver.Tenant{Root: "/srv/acme"}), "no ID")
	assert.Error(t, m.Set("acme", sftpserver.Tenant{ID: "acme"}), "no root")
	assert.Error(t, m.Set("", sftpserver.Tenant{ID: "acme", Root: "/srv/acme"}), "no user")
	require.NoError(t, m.Set("acme", sftpserver.Tenant{ID: "acme", Root: "/srv/acme"}))
	assert.ErrorIs(t, m.RevokeKey("acme", newSigner(t).PublicKey()), sftpserver.ErrUnknownCredential)
	assert.ErrorIs(t, m.RevokePassword("acme", "$2b$04$x"), sftpserver.ErrUnknownCredential)

	// Lookup returns a copy: changing it changes nothing.
	tn, err := m.Lookup(t.Context(), "acme")
	require.NoError(t, err)
	tn.AuthorizedKeys = append(tn.AuthorizedKeys, newSigner(t).PublicKey())
	again, err := m.Lookup(t.Context(), "acme")
	require.NoError(t, err)
	assert.Empty(t, again.AuthorizedKeys)
}

func TestNewChecksItsConfig(t *testing.T) {
	var m sftpserver.MemTenants
	_, err := sftpserver.New(sftpserver.Config{Tenants: &m}, nil)
	assert.ErrorContains(t, err, "HostKeys")
	_, err = sftpserver.New(sftpserver.Config{HostKeys: []ssh.Signer{newSigner(t)}}, nil)
	assert.ErrorContains(t, err, "Tenants")
	_, err = sftpserver.New(sftpserver.Config{HostKeys: []ssh.Signer{newSigner(t)}, Tenants: &m}, &sftpserver.Options{IdleTimeout: -1})
	assert.ErrorContains(t, err, "IdleTimeout")
	_, err = sftpserver.New(sftpserver.Config{HostKeys: []ssh.Signer{newSigner(t)}, Tenants: &m},
		&sftpserver.Options{Algorithms: ssh.Algorithms{HostKeys: []string{ssh.KeyAlgoRSASHA256}}})
	assert.ErrorContains(t, err, "host key type ssh-ed25519 is not allowed")
}

// TestTenantsSharingAFolder checks that two user names of one tenant share
// its folder and its quota.
func TestTenantsSharingAFolder(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{MaxFiles: 1})
	second := *acme
	second.user, second.key = "acme-hr-system", newSigner(t)
	require.NoError(t, ts.tenants.Set(second.user, sftpserver.Tenant{
		ID: "acme", Root: acme.root, AuthorizedKeys: []ssh.PublicKey{second.key.PublicKey()}, Quota: sftpserver.Quota{MaxFiles: 1},
	}))
	require.NoError(t, put(ts.client(t, acme), "users.csv", []byte("id\n")))
	assert.ErrorContains(t, put(ts.client(t, &second), "groups.csv", []byte("id\n")), "quota exceeded")
	ups := ts.announced()
	require.Len(t, ups, 1)
	assert.Equal(t, acme.user, ups[0].User)
}

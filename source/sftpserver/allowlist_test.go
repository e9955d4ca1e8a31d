package sftpserver_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/usersync/usersync/source/sftpserver"
)

// A tenant's AllowedNetworks are checked before any credential, from
// 127.0.0.1 and 127.0.0.2 (both loopback); a refusal is audited and
// counted toward the lockout; the list changes at runtime, like the
// credentials.
func TestAllowedNetworks(t *testing.T) {
	clk := &clock{t: fixedTime}
	ts := newTestServer(t, &sftpserver.Options{
		Now:     clk.Now,
		Lockout: sftpserver.Lockout{MaxFailures: 3, Duration: 10 * time.Minute},
	})
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	globex := ts.addTenant(t, "globex", sftpserver.Quota{})
	require.NoError(t, ts.tenants.SetAllowedNetworks(acme.user, netip.MustParsePrefix("127.0.0.2/32")))

	require.NoError(t, ts.passwordLoginFrom("127.0.0.2", acme.user, acme.password))
	require.NoError(t, ts.loginFrom("127.0.0.2", ts.sshConfig(acme.user, ssh.PublicKeys(acme.key))))

	err := ts.passwordLoginFrom("127.0.0.1", acme.user, acme.password)
	require.Error(t, err, "the right password, from an address not allowed")
	e := lastFailure(ts)
	assert.Equal(t, "address not allowed", e["reason"])
	assert.Equal(t, "acme", e["tenant"])
	assert.Equal(t, acme.user, e["user"])
	require.Error(t, ts.passwordLoginFrom("127.0.0.1", acme.user, "a guess"))
	assert.Equal(t, "address not allowed", lastFailure(ts)["reason"], "checked before the password")
	assert.NoError(t, ts.passwordLoginFrom("127.0.0.1", globex.user, globex.password), "other tenants have no list")

	// A key login from there counts once, however many keys are offered.
	other := newSigner(t)
	require.Error(t, ts.loginFrom("127.0.0.1", ts.sshConfig(acme.user, ssh.PublicKeys(other, acme.key))))
	lockouts := ts.audit.events("lockout")
	require.Len(t, lockouts, 1, "three refusals lock the user out from that address")
	assert.Equal(t, acme.user, lockouts[0]["user"])

	// Allowed again at runtime, the address is still locked out until
	// the lockout ends; the other address never was.
	require.NoError(t, ts.tenants.SetAllowedNetworks(acme.user, netip.MustParsePrefix("127.0.0.0/8")))
	require.Error(t, ts.passwordLoginFrom("127.0.0.1", acme.user, acme.password))
	assert.Equal(t, "locked out", lastFailure(ts)["reason"])
	require.NoError(t, ts.passwordLoginFrom("127.0.0.2", acme.user, acme.password))
	clk.Advance(11 * time.Minute)
	require.NoError(t, ts.passwordLoginFrom("127.0.0.1", acme.user, acme.password))

	// Narrowed at runtime: the next login from outside is refused.
	require.NoError(t, ts.tenants.SetAllowedNetworks(acme.user, netip.MustParsePrefix("127.0.0.1/32")))
	require.Error(t, ts.passwordLoginFrom("127.0.0.2", acme.user, acme.password))
	require.NoError(t, ts.passwordLoginFrom("127.0.0.1", acme.user, acme.password))
	// Emptied: from anywhere.
	require.NoError(t, ts.tenants.SetAllowedNetworks(acme.user))
	require.NoError(t, ts.passwordLoginFrom("127.0.0.2", acme.user, acme.password))

	assert.Error(t, ts.tenants.SetAllowedNetworks(acme.user, netip.Prefix{}), "an invalid prefix")
	assert.Error(t, ts.tenants.SetAllowedNetworks("nobody", netip.MustParsePrefix("127.0.0.1/32")), "an unknown user")
}

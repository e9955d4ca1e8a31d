package sftpserver_test

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/usersync/usersync/source/sftpserver"
)

// clock is a settable time for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestWrongPasswordsLockTheUserOut(t *testing.T) {
	clk := &clock{t: fixedTime}
	ts := newTestServer(t, &sftpserver.Options{
		Now:     clk.Now,
		Lockout: sftpserver.Lockout{MaxFailures: 3, Duration: 10 * time.Minute},
	})
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	globex := ts.addTenant(t, "globex", sftpserver.Quota{})

	for range 3 {
		require.Error(t, ts.passwordLogin(acme.user, "guess"))
	}
	// Locked out now: the right password and the right key fail too.
	assert.Error(t, ts.passwordLogin(acme.user, acme.password))
	_, err := ts.dialSSH(acme)
	assert.Error(t, err)
	// Other users, from the same address, are not.
	require.NoError(t, ts.passwordLogin(globex.user, globex.password))

	lockouts := ts.audit.events("lockout")
	require.Len(t, lockouts, 1)
	assert.Equal(t, acme.user, lockouts[0]["user"])
	var locked int
	for _, e := range ts.audit.events("login_failed") {
		if e["reason"] == "locked out" {
			locked++
		}
	}
	assert.Equal(t, 2, locked, "attempts while locked out are logged as such")

	clk.Advance(10*time.Minute + time.Second)
	require.NoError(t, ts.passwordLogin(acme.user, acme.password))

	// A success forgets the failures: two more are not a lockout.
	for range 2 {
		require.Error(t, ts.passwordLogin(acme.user, "guess"))
	}
	require.NoError(t, ts.passwordLogin(acme.user, acme.password))
	assert.Len(t, ts.audit.events("lockout"), 1)
}

func TestFailuresAreForgottenAfterTheLockoutDuration(t *testing.T) {
	clk := &clock{t: fixedTime}
	ts := newTestServer(t, &sftpserver.Options{
		Now:     clk.Now,
		Lockout: sftpserver.Lockout{MaxFailures: 3, Duration: time.Minute},
	})
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	for range 2 {
		require.Error(t, ts.passwordLogin(acme.user, "guess"))
	}
	clk.Advance(2 * time.Minute)
	for range 2 {
		require.Error(t, ts.passwordLogin(acme.user, "guess"))
	}
	require.NoError(t, ts.passwordLogin(acme.user, acme.password))
}

// Guessing user names locks the address out for unknown names and for
// users who failed from it, but never for a tenant that did not fail: a
// NAT or a transfer vendor shares its address among tenants. Another
// address is not locked out.
func TestGuessingManyUserNamesLocksTheAddressOut(t *testing.T) {
	ts := newTestServer(t, &sftpserver.Options{
		Now:     (&clock{t: fixedTime}).Now,
		Lockout: sftpserver.Lockout{MaxFailures: 3, MaxFailuresPerIP: 5},
	})
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	globex := ts.addTenant(t, "globex", sftpserver.Quota{})
	require.Error(t, ts.passwordLogin(globex.user, "typo")) // before the guessing
	for _, user := range []string{"root", "admin", "test", "oracle", "ubuntu"} {
		require.Error(t, ts.passwordLogin(user, "123456"))
	}
	failed := ts.audit.events("login_failed")
	assert.Equal(t, "unknown user", failed[len(failed)-1]["reason"])
	lockouts := ts.audit.events("lockout")
	require.Len(t, lockouts, 1)

	require.Error(t, ts.passwordLogin("postgres", "123456"))
	assert.Equal(t, "address locked out", lastFailure(ts)["reason"], "another name from the address")
	assert.NoError(t, ts.passwordLogin(acme.user, acme.password), "a tenant that never failed from the address")
	_, err := ts.dialSSH(acme)
	assert.NoError(t, err, "with its key too")
	assert.Error(t, ts.passwordLogin(globex.user, globex.password), "a user who failed from the address")
	assert.Equal(t, "address locked out", lastFailure(ts)["reason"])

	require.Error(t, ts.passwordLoginFrom("127.0.0.2", "postgres", "123456"))
	assert.Equal(t, "unknown user", lastFailure(ts)["reason"], "another address is not locked out")
	assert.NoError(t, ts.passwordLoginFrom("127.0.0.2", globex.user, globex.password))
}

// Wrong passwords of known users lock those users out, from that address,
// and never the address: however many tenants behind one address fail, one
// that did not fail logs in.
func TestFailingTenantsDoNotShutOutAnotherOnTheirAddress(t *testing.T) {
	ts := newTestServer(t, &sftpserver.Options{
		Now:     (&clock{t: fixedTime}).Now,
		Lockout: sftpserver.Lockout{MaxFailures: 3, MaxFailuresPerIP: 5},
	})
	var failing []*tenant
	for i := range 4 {
		failing = append(failing, ts.addTenant(t, fmt.Sprintf("tenant%d", i), sftpserver.Quota{}))
	}
	good := ts.addTenant(t, "good", sftpserver.Quota{})
	for _, tn := range failing {
		for range 5 { // 20 failures from one address, over MaxFailuresPerIP
			require.Error(t, ts.passwordLogin(tn.user, "old password"))
		}
	}
	assert.Len(t, ts.audit.events("lockout"), 4, "each failing user, from that address")
	assert.NoError(t, ts.passwordLogin(good.user, good.password))
	assert.Error(t, ts.passwordLogin(failing[0].user, failing[0].password), "a locked-out user stays locked out")
	assert.NoError(t, ts.passwordLoginFrom("127.0.0.2", failing[0].user, failing[0].password), "from its own address only")
}

func lastFailure(ts *testServer) map[string]string {
	failed := ts.audit.events("login_failed")
	if len(failed) == 0 {
		return nil
	}
	return failed[len(failed)-1]
}

func TestOfferedKeysAreNotFailures(t *testing.T) {
	ts := newTestServer(t, &sftpserver.Options{
		Now:     (&clock{t: fixedTime}).Now,
		Lockout: sftpserver.Lockout{MaxFailures: 2},
	})
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	// OpenSSH's client offers every key it has, then the right one.
	keys := []ssh.Signer{newSigner(t), newSigner(t), newSigner(t), acme.key}
	for range 3 {
		sc, err := ssh.Dial("tcp", ts.addr, ts.sshConfig(acme.user, ssh.PublicKeys(keys...)))
		require.NoError(t, err)
		sc.Close()
	}
	assert.Empty(t, ts.audit.events("lockout"))
}

func TestFailedPasswordsAreAnsweredLater(t *testing.T) {
	ts := newTestServer(t, &sftpserver.Options{
		Lockout: sftpserver.Lockout{Delay: 50 * time.Millisecond, MaxDelay: 100 * time.Millisecond, MaxFailures: 10},
	})
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	for _, atLeast := range []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond} {
		start := time.Now()
		require.Error(t, ts.passwordLogin(acme.user, "guess"))
		assert.GreaterOrEqual(t, time.Since(start), atLeast)
	}
}

func TestUnknownUsersAndKeyOnlyUsersFailLikeWrongPasswords(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	require.NoError(t, ts.tenants.RevokePassword(acme.user, mustLookup(t, ts, acme.user).PasswordHashes[0]))
	assert.Error(t, ts.passwordLogin(acme.user, acme.password), "key-only user")
	assert.Error(t, ts.passwordLogin("nobody", "x"))
	reasons := map[string]bool{}
	for _, e := range ts.audit.events("login_failed") {
		reasons[e["reason"]] = true
	}
	assert.Equal(t, map[string]bool{"wrong password": true, "unknown user": true}, reasons)
}

func TestRSA(t *testing.T) {
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	weakSigner, err := ssh.NewSignerFromKey(weak)
	require.NoError(t, err)
	_, err = sftpserver.New(sftpserver.Config{HostKeys: []ssh.Signer{weakSigner}, Tenants: &sftpserver.MemTenants{}}, nil)
	assert.ErrorContains(t, err, "2048")

	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	strong, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rsaKey, err := ssh.NewSignerFromKey(strong)
	require.NoError(t, err)
	require.NoError(t, ts.tenants.AddKey(acme.user, rsaKey.PublicKey()))
	require.NoError(t, ts.tenants.AddKey(acme.user, weakSigner.PublicKey()))

	sc, err := ssh.Dial("tcp", ts.addr, ts.sshConfig(acme.user, ssh.PublicKeys(rsaKey)))
	require.NoError(t, err, "rsa-sha2")
	sc.Close()
	sha1Only, err := ssh.NewSignerWithAlgorithms(rsaKey.(ssh.AlgorithmSigner), []string{ssh.KeyAlgoRSA})
	require.NoError(t, err)
	_, err = ssh.Dial("tcp", ts.addr, ts.sshConfig(acme.user, ssh.PublicKeys(sha1Only)))
	assert.Error(t, err, "ssh-rsa signatures (SHA-1)")
	_, err = ssh.Dial("tcp", ts.addr, ts.sshConfig(acme.user, ssh.PublicKeys(weakSigner)))
	assert.Error(t, err, "1024-bit key")
}

func mustLookup(t *testing.T, ts *testServer, user string) *sftpserver.Tenant {
	t.Helper()
	tn, err := ts.tenants.Lookup(t.Context(), user)
	require.NoError(t, err)
	return tn
}

func TestUnknownKeysAreAudited(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	_, err := ssh.Dial("tcp", ts.addr, ts.sshConfig(acme.user, ssh.PublicKeys(newSigner(t), newSigner(t))))
	require.Error(t, err)
	require.Eventually(t, func() bool { return len(ts.audit.events("login_failed")) == 1 }, 5*time.Second, 5*time.Millisecond)
	e := ts.audit.events("login_failed")[0]
	assert.Equal(t, "no authorized key", e["reason"])
	assert.Equal(t, "acme", e["tenant"])
	assert.Equal(t, acme.user, e["user"])
	assert.Empty(t, ts.audit.events("handshake_failed"))
}

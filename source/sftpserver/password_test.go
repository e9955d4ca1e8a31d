package sftpserver_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/usersync/usersync/source/sftpserver"
)

func TestHashPassword(t *testing.T) {
	h, err := sftpserver.HashPassword("correct horse")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$"), h)
	h2, err := sftpserver.HashPassword("correct horse")
	require.NoError(t, err)
	assert.NotEqual(t, h, h2, "salted")
	_, err = sftpserver.HashPassword("")
	assert.Error(t, err)
}

// TestPasswordHashFormats logs in with argon2id and bcrypt hashes, and
// checks that MemTenants refuses hashes it cannot check.
func TestPasswordHashFormats(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{}) // bcrypt
	argon, err := sftpserver.HashPassword("argon-pw")
	require.NoError(t, err)
	require.NoError(t, ts.tenants.AddPassword(acme.user, argon))
	bc, err := bcrypt.GenerateFromPassword([]byte("bcrypt-pw"), bcrypt.MinCost)
	require.NoError(t, err)
	require.NoError(t, ts.tenants.AddPassword(acme.user, string(bc)))

	for _, pw := range []string{acme.password, "argon-pw", "bcrypt-pw"} {
		assert.NoError(t, ts.passwordLogin(acme.user, pw), pw)
	}
	assert.Error(t, ts.passwordLogin(acme.user, "argon-pw "))
	assert.Error(t, ts.passwordLogin(acme.user, ""))

	for _, bad := range []string{
		"plaintext", "$1$md5crypt$", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=9999999,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5", // a gigabyte per login
		"$argon2id$v=19$m=19456,t=2,p=1$!!$a2V5", "$2b$04$short",
	} {
		err := ts.tenants.AddPassword(acme.user, bad)
		assert.Error(t, err, bad)
		assert.NotContains(t, err.Error(), bad, "the hash is not repeated")
	}
}

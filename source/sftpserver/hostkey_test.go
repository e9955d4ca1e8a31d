package sftpserver_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/usersync/usersync/source/sftpserver"
)

func TestLoadOrCreateHostKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "host_ed25519")
	first, err := sftpserver.LoadOrCreateHostKey(p)
	require.NoError(t, err)
	assert.Equal(t, ssh.KeyAlgoED25519, first.PublicKey().Type())
	fi, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	again, err := sftpserver.LoadOrCreateHostKey(p)
	require.NoError(t, err)
	assert.Equal(t, first.PublicKey().Marshal(), again.PublicKey().Marshal(), "the same key after a restart")

	// OpenSSH reads it too: ssh-keygen -y would print this public key.
	parsed, err := ssh.ParsePrivateKey(readAll(t, p))
	require.NoError(t, err)
	assert.Equal(t, first.PublicKey().Marshal(), parsed.PublicKey().Marshal())
	entries, err := os.ReadDir(filepath.Dir(p))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left")
}

func TestLoadOrCreateHostKeyRacesToOneKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "host_ed25519")
	keys := make([]ssh.Signer, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := sftpserver.LoadOrCreateHostKey(p)
			assert.NoError(t, err)
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		assert.Equal(t, keys[0].PublicKey().Marshal(), k.PublicKey().Marshal())
	}
}

func TestLoadOrCreateHostKeyRefusesAnUnprotectedKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "host_ed25519")
	_, err := sftpserver.LoadOrCreateHostKey(p)
	require.NoError(t, err)
	require.NoError(t, os.Chmod(p, 0o644))
	_, err = sftpserver.LoadOrCreateHostKey(p)
	assert.ErrorContains(t, err, "too open")

	require.NoError(t, os.WriteFile(p, []byte("not a key"), 0o600))
	_, err = sftpserver.LoadOrCreateHostKey(p)
	assert.Error(t, err)
}

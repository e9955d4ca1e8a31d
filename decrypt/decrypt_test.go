package decrypt_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/decrypt"
	"github.com/usersync/usersync/decrypt/decrypttest"
)

var fake decrypttest.Fake

// isSealed is the sniffing rule for Fake's files.
func isSealed(head []byte) bool { return bytes.HasPrefix(head, []byte("USERSYNC-FAKE-SEALED\n")) }

// read decrypts data as the file name with d and returns the plaintext and
// the key that decrypted it, if any.
func read(t *testing.T, d usersync.Decryptor, name string, data []byte) (string, string, error) {
	t.Helper()
	r, err := d.Decrypt(context.Background(), bytes.NewReader(data), usersync.FileInfo{Name: name, Size: int64(len(data))})
	if err != nil {
		return "", "", err
	}
	plain, err := io.ReadAll(r)
	by := ""
	if dr, ok := r.(usersync.DecryptedReader); ok {
		by = dr.DecryptedBy()
	}
	return string(plain), by, err
}

func TestBySuffix(t *testing.T) {
	d := decrypt.BySuffix(fake, ".gpg", ".PGP")
	for _, name := range []string{"users.csv.gpg", "USERS.CSV.GPG", "users.pgp", "in/users.Pgp"} {
		plain, by, err := read(t, d, name, fake.Seal([]byte("a,b\n")))
		require.NoError(t, err, name)
		assert.Equal(t, "a,b\n", plain)
		assert.NotEmpty(t, by)
	}
	src := []byte("a,b\n")
	r, err := d.Decrypt(context.Background(), bytes.NewReader(src), usersync.FileInfo{Name: "users.csv"})
	require.NoError(t, err)
	assert.Equal(t, bytes.NewReader(src), r, "a file passed through is the Source's reader itself")

	_, _, err = read(t, d, "users.csv.gpg", []byte("a,b\n"))
	assert.ErrorIs(t, err, decrypttest.ErrNotSealed, "a file named like ciphertext is the decryptor's to judge")
}

func TestByContent(t *testing.T) {
	d := decrypt.ByContent(fake, isSealed)
	plain, by, err := read(t, d, "users.csv", fake.Seal([]byte("a,b\n")))
	require.NoError(t, err)
	assert.Equal(t, "a,b\n", plain)
	assert.NotEmpty(t, by)

	for _, data := range []string{"", "a", "a,b\n", strings.Repeat("x,y\n", 10_000)} {
		r, err := d.Decrypt(context.Background(), strings.NewReader(data), usersync.FileInfo{Name: "users.csv"})
		require.NoError(t, err)
		assert.NoError(t, iotest.TestReader(r, []byte(data)), "a file passed through is unchanged, %d bytes", len(data))
		_, named := r.(usersync.DecryptedReader)
		assert.False(t, named, "a plaintext file names no key")
	}
}

func TestChain(t *testing.T) {
	d := decrypt.Chain(decrypt.BySuffix(fake, ".sealed"), decrypt.ByContent(fake, isSealed))
	for name, data := range map[string][]byte{
		"users.csv.sealed": fake.Seal([]byte("a,b\n")), // by name
		"users.csv":        fake.Seal([]byte("a,b\n")), // by content
		"plain.csv":        []byte("a,b\n"),            // neither
	} {
		plain, by, err := read(t, d, name, data)
		require.NoError(t, err, name)
		assert.Equal(t, "a,b\n", plain, name)
		assert.Equal(t, name != "plain.csv", by != "", "%s: the key that decrypted it is still named after the second stage", name)
	}
	// Sealed twice, named once: each stage takes off one layer.
	plain, _, err := read(t, d, "users.csv.sealed", fake.Seal(fake.Seal([]byte("a,b\n"))))
	require.NoError(t, err)
	assert.Equal(t, "a,b\n", plain)

	failing := usersync.DecryptorFunc(func(context.Context, io.Reader, usersync.FileInfo) (io.Reader, error) {
		return nil, errors.New("no")
	})
	_, _, err = read(t, decrypt.Chain(fake, failing), "x", fake.Seal(nil))
	assert.Error(t, err)
}

func TestPeek(t *testing.T) {
	head, r, err := decrypt.Peek(strings.NewReader("abc"), 10)
	require.NoError(t, err)
	assert.Equal(t, "abc", string(head), "a short file is all head")
	assert.NoError(t, iotest.TestReader(r, []byte("abc")))

	_, _, err = decrypt.Peek(iotest.ErrReader(errors.New("link down")), 10)
	assert.EqualError(t, err, "link down")
}

// TestConformance checks that wrapping keeps a decryptor's guarantees.
func TestConformance(t *testing.T) {
	seal := func(p []byte) ([]byte, error) { return fake.Seal(p), nil }
	t.Run("BySuffix", func(t *testing.T) {
		decrypttest.RunConformanceTests(t, decrypt.BySuffix(fake, ".gpg"), seal, nil)
	})
	t.Run("Chain", func(t *testing.T) {
		d := decrypt.Chain(decrypt.BySuffix(fake, ".sealed"), decrypt.ByContent(fake, isSealed))
		decrypttest.RunConformanceTests(t, d, seal, &decrypttest.Options{Name: "users.csv.sealed"})
	})
}

// TestByContentDamagedHead shows the limit the package documentation
// states: a file whose first bytes were damaged does not look like
// ciphertext any more, and passes through.
func TestByContentDamagedHead(t *testing.T) {
	sealed := fake.Seal([]byte("a,b\n"))
	sealed[0] ^= 0x01
	plain, _, err := read(t, decrypt.ByContent(fake, isSealed), "users.csv", sealed)
	require.NoError(t, err)
	assert.Equal(t, string(sealed), plain)
}

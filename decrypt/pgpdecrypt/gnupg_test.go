package pgpdecrypt_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/decrypt/decrypttest"
	"github.com/usersync/usersync/decrypt/pgpdecrypt"
)

// TestGnuPG checks everything against keys and messages the installed gpg
// makes now. Under CI=true, where .ci/services/gnupg.sh installs gpg, it
// must run; elsewhere it skips without gpg.
func TestGnuPG(t *testing.T) {
	testFixtures(t, gnupgFixtures(t))
}

// TestCommittedFixtures checks the same against the keys and messages gpg
// made when the fixtures were last updated, so that it runs without gpg.
func TestCommittedFixtures(t *testing.T) {
	testFixtures(t, committedFixtures(t))
}

func testFixtures(t *testing.T, fx fixtures) {
	t.Run("Decrypts", func(t *testing.T) { testDecrypts(t, fx) })
	t.Run("RequiredSigner", func(t *testing.T) { testRequiredSigner(t, fx) })
	t.Run("WrongPassphrase", func(t *testing.T) { testWrongPassphrase(t, fx) })
	t.Run("WrongKey", func(t *testing.T) { testWrongKey(t, fx) })
	t.Run("Rotation", func(t *testing.T) { testRotation(t, fx) })
	t.Run("NotEncrypted", func(t *testing.T) { testNotEncrypted(t, fx) })
	t.Run("NoIntegrityProtection", func(t *testing.T) { testNoMDC(t, fx) })
	t.Run("Bomb", func(t *testing.T) { testBomb(t, fx) })
	t.Run("Tamper", func(t *testing.T) { testTamper(t, fx) })
	t.Run("Check", func(t *testing.T) { testCheck(t, fx) })
	t.Run("Pipeline", func(t *testing.T) { testPipeline(t, fx) })
}

// keyFiles says where each key is and what unlocks it.
var keyFiles = map[string]struct{ file, pass string }{
	"rsa":      {"rsa.sec.asc", rsaPass},
	"cv":       {"cv.sec.gpg", cvPass},
	"cvsub":    {"cv.subkeys.gpg", cvPass},
	"expiring": {"expiring.sec.asc", ""},
	"expired":  {"expired.sec.asc", ""},
	"signer":   {"signer.pub.asc", ""},
	"other":    {"other.pub.asc", ""},
}

func (fx fixtures) keys(t testing.TB, names ...string) []*pgpdecrypt.Key {
	t.Helper()
	var keys []*pgpdecrypt.Key
	for _, n := range names {
		kf := keyFiles[n]
		k, err := pgpdecrypt.ReadKeys(bytes.NewReader(fx[kf.file]), []byte(kf.pass))
		require.NoError(t, err, n)
		keys = append(keys, k...)
	}
	return keys
}

// decryptor returns a Decryptor with the named keys that checks at
// checkTime; opts may set more.
func (fx fixtures) decryptor(t testing.TB, opts *pgpdecrypt.Options, names ...string) *pgpdecrypt.Decryptor {
	t.Helper()
	o := pgpdecrypt.Options{Now: func() time.Time { return checkTime }}
	if opts != nil {
		o = *opts
		o.Now = func() time.Time { return checkTime }
	}
	d, err := pgpdecrypt.New(fx.keys(t, names...), &o)
	require.NoError(t, err)
	return d
}

// outcome is what decrypting a file gave.
type outcome struct {
	plain      []byte
	decryptErr error // from Decrypt: nothing was read
	readErr    error // from a Read before io.EOF
	by         string
}

func decryptFile(d usersync.Decryptor, name string, data []byte) outcome {
	r, err := d.Decrypt(context.Background(), bytes.NewReader(data), usersync.FileInfo{Name: name, Size: int64(len(data))})
	if err != nil {
		return outcome{decryptErr: err}
	}
	o := outcome{}
	o.plain, o.readErr = io.ReadAll(r)
	if dr, ok := r.(usersync.DecryptedReader); ok {
		o.by = dr.DecryptedBy()
	}
	return o
}

func (o outcome) err() error { return errors.Join(o.decryptErr, o.readErr) }

func testDecrypts(t *testing.T, fx fixtures) {
	d := fx.decryptor(t, nil, "rsa", "cv")
	rsa, cv := fx.keys(t, "rsa")[0], fx.keys(t, "cv")[0]
	for name, by := range map[string]*pgpdecrypt.Key{
		"rsa-zlib.asc": rsa, "rsa-none.gpg": rsa, "rsa-zip-signed.gpg": rsa, "rsa-bzip2-signed.asc": rsa,
		"cv-zlib.asc": cv, "cv-none.gpg": cv, "cv-zlib-signed.gpg": cv, "cv-none-signed.asc": cv,
		"hidden.gpg": cv, "two-signers.gpg": cv,
		// Without required signers, a signature by an unknown key is
		// neither good nor bad: nothing can be said about it.
		"other-signed.gpg": rsa,
	} {
		o := decryptFile(d, name, fx[name])
		require.NoError(t, o.err(), name)
		assert.Equal(t, plainCSV, string(o.plain), name)
		assert.Equal(t, by.String(), o.by, name)
		assert.NotContains(t, o.by, "evil", "the file name inside the message is never used")
	}
	assert.Contains(t, rsa.String(), "RSA Recipient <rsa@example.com>")
	assert.Equal(t, []string{"Curve Recipient <cv@example.com>"}, cv.UserIDs())
}

func testRequiredSigner(t *testing.T, fx fixtures) {
	d := fx.decryptor(t, &pgpdecrypt.Options{Signers: fx.keys(t, "signer")}, "rsa", "cv")
	for _, name := range []string{"rsa-zip-signed.gpg", "rsa-bzip2-signed.asc", "cv-zlib-signed.gpg", "cv-none-signed.asc", "two-signers.gpg"} {
		o := decryptFile(d, name, fx[name])
		require.NoError(t, o.err(), name)
		assert.Equal(t, plainCSV, string(o.plain), name)
	}
	for _, name := range []string{"rsa-zlib.asc", "cv-none.gpg", "hidden.gpg", "other-signed.gpg"} {
		o := decryptFile(d, name, fx[name])
		require.Error(t, o.decryptErr, "%s: an unsigned message, or one signed by another key, fails before any plaintext", name)
		assert.ErrorIs(t, o.decryptErr, pgpdecrypt.ErrSignature, name)
		assert.ErrorIs(t, o.decryptErr, usersync.ErrIntegrity, name)
		assert.Contains(t, o.decryptErr.Error(), "Customer HR", "%s: the error names the required signer", name)
	}
}

func testWrongPassphrase(t *testing.T, fx fixtures) {
	for _, pass := range []string{"hunter2", ""} {
		for _, file := range []string{"rsa.sec.asc", "cv.sec.gpg", "cv.subkeys.gpg"} {
			_, err := pgpdecrypt.ReadKeys(bytes.NewReader(fx[file]), []byte(pass))
			var ke *pgpdecrypt.KeyError
			require.ErrorAs(t, err, &ke, "%s with %q", file, pass)
			assert.ErrorIs(t, err, pgpdecrypt.ErrPassphrase)
			assert.Len(t, ke.Key, 40, "the error names the key by fingerprint")
			if pass != "" {
				assert.NotContains(t, err.Error(), pass, "the error never repeats the passphrase")
			}
		}
	}
	_, err := pgpdecrypt.ReadKeys(bytes.NewReader(fx["cv.sec.gpg"]), []byte(rsaPass))
	assert.ErrorIs(t, err, pgpdecrypt.ErrPassphrase, "another key's passphrase")
}

func testWrongKey(t *testing.T, fx fixtures) {
	d := fx.decryptor(t, nil, "expiring")
	o := decryptFile(d, "rsa-zlib.asc", fx["rsa-zlib.asc"])
	require.ErrorIs(t, o.decryptErr, pgpdecrypt.ErrNoKey)
	assert.NotErrorIs(t, o.decryptErr, usersync.ErrIntegrity, "a wrong key is a setup problem, not a damaged file")
	assert.Contains(t, o.decryptErr.Error(), "encrypted to key ID")
	assert.Contains(t, o.decryptErr.Error(), "Expiring Recipient", "the error lists the keys given")

	// A changed session key: the right key is given, but cannot decrypt.
	o = decryptFile(fx.decryptor(t, nil, "rsa"), "rsa-none.gpg", flip(fx["rsa-none.gpg"], 100))
	require.ErrorIs(t, o.decryptErr, usersync.ErrIntegrity)
	assert.ErrorIs(t, o.decryptErr, pgpdecrypt.ErrNoKey)
	assert.Contains(t, o.decryptErr.Error(), "changed or damaged")

	o = decryptFile(d, "symmetric.gpg", fx["symmetric.gpg"])
	require.ErrorIs(t, o.decryptErr, pgpdecrypt.ErrNoKey)
	assert.Contains(t, o.decryptErr.Error(), "passphrase")
}

func testRotation(t *testing.T, fx fixtures) {
	cv := fx.keys(t, "cv")[0]
	for _, keys := range [][]string{{"cv"}, {"cvsub"}, {"expiring", "cv"}} {
		d := fx.decryptor(t, nil, keys...)
		for _, name := range []string{"both.gpg", "hidden.gpg", "cv-zlib.asc"} {
			o := decryptFile(d, name, fx[name])
			require.NoError(t, o.err(), "%s with %v", name, keys)
			assert.Equal(t, plainCSV, string(o.plain))
			assert.Equal(t, cv.String(), o.by, "%s with %v", name, keys)
		}
	}
	// The expired key still decrypts what was sent to it; only new files
	// cannot be encrypted to it.
	_, err := pgpdecrypt.New(fx.keys(t, "expired"), nil)
	require.NoError(t, err)
}

func testNotEncrypted(t *testing.T, fx fixtures) {
	d := fx.decryptor(t, nil, "rsa")
	for name, data := range map[string][]byte{
		"signed-only.gpg": fx["signed-only.gpg"],
		"stored.gpg":      fx["stored.gpg"],
		"users.csv":       []byte(plainCSV),
		"empty.csv":       nil,
		"rsa.sec.asc":     fx["rsa.sec.asc"],
	} {
		o := decryptFile(d, name, data)
		assert.ErrorIs(t, o.decryptErr, pgpdecrypt.ErrNotEncrypted, name)
	}

	// Signed but not encrypted passes only where allowed, and only when
	// signed by a required signer.
	d = fx.decryptor(t, &pgpdecrypt.Options{AllowUnencrypted: true, Signers: fx.keys(t, "signer")}, "rsa")
	o := decryptFile(d, "signed-only.gpg", fx["signed-only.gpg"])
	require.NoError(t, o.err())
	assert.Equal(t, plainCSV, string(o.plain))
	assert.Empty(t, o.by, "nothing was decrypted")
	o = decryptFile(d, "stored.gpg", fx["stored.gpg"])
	assert.ErrorIs(t, o.decryptErr, pgpdecrypt.ErrSignature)

	_, err := pgpdecrypt.New(fx.keys(t, "rsa"), &pgpdecrypt.Options{AllowUnencrypted: true})
	assert.Error(t, err, "AllowUnencrypted without Signers would accept files with no integrity check")
}

func testNoMDC(t *testing.T, fx fixtures) {
	d := fx.decryptor(t, nil, "rsa")
	o := decryptFile(d, "nomdc.gpg", fx["nomdc.gpg"])
	require.ErrorIs(t, o.decryptErr, usersync.ErrIntegrity)
	assert.Contains(t, o.decryptErr.Error(), "no integrity protection")
}

func testBomb(t *testing.T, fx fixtures) {
	bomb := fx["bomb.gpg"]
	require.Less(t, len(bomb), 64<<10, "the bomb is small")
	d := fx.decryptor(t, nil, "rsa")
	o := decryptFile(d, "bomb.gpg", bomb)
	var tl *pgpdecrypt.TooLargeError
	require.ErrorAs(t, o.readErr, &tl)
	assert.ErrorIs(t, o.readErr, pgpdecrypt.ErrTooLarge)
	assert.Equal(t, int64(1<<20), tl.Limit, "a small file may inflate to 1 MiB")
	assert.Len(t, o.plain, 1<<20, "not one byte past the limit")
	assert.Contains(t, o.readErr.Error(), "decompression bomb")

	// The limits are the host's to raise.
	d = fx.decryptor(t, &pgpdecrypt.Options{MaxExpansion: 2000}, "rsa")
	o = decryptFile(d, "bomb.gpg", bomb)
	require.NoError(t, o.err())
	assert.Len(t, o.plain, bombSize)
	d = fx.decryptor(t, &pgpdecrypt.Options{MaxExpansion: 2000, MaxPlaintext: 10 << 20}, "rsa")
	o = decryptFile(d, "bomb.gpg", bomb)
	require.ErrorAs(t, o.readErr, &tl)
	assert.Equal(t, int64(10<<20), tl.Limit)
}

func testTamper(t *testing.T, fx fixtures) {
	d := fx.decryptor(t, &pgpdecrypt.Options{Signers: fx.keys(t, "signer")}, "rsa", "cv")
	for _, name := range []string{"rsa-zip-signed.gpg", "cv-none-signed.asc", "cv-zlib-signed.gpg"} {
		t.Run(name, func(t *testing.T) {
			decrypttest.TestCiphertext(t, d, fx[name], []byte(plainCSV), &decrypttest.Options{Name: name})
		})
	}
	d = fx.decryptor(t, nil, "rsa", "cv")
	for _, name := range []string{"rsa-zlib.asc", "rsa-none.gpg", "hidden.gpg"} {
		t.Run(name, func(t *testing.T) {
			decrypttest.TestCiphertext(t, d, fx[name], []byte(plainCSV), &decrypttest.Options{Name: name})
		})
	}
}

func testCheck(t *testing.T, fx fixtures) {
	opts := &pgpdecrypt.Options{Now: func() time.Time { return checkTime }}
	check := func(name string) []usersync.CheckResult {
		kf := keyFiles[name]
		res := pgpdecrypt.CheckKeys(bytes.NewReader(fx[kf.file]), []byte(kf.pass), opts)
		require.Len(t, res, 3, name)
		require.NoError(t, res[0].Err, name)
		return res
	}
	for _, name := range []string{"rsa", "cv", "cvsub", "signer", "other"} {
		res := check(name)
		for _, r := range res {
			assert.NoError(t, r.Err, "%s: %s", name, r.Name)
		}
		assert.Equal(t, "never expires", res[2].Detail, name)
	}
	res := check("rsa")
	assert.Contains(t, res[1].Name, "PGP key ")
	assert.Contains(t, res[1].Detail, "RSA Recipient <rsa@example.com>")
	assert.Contains(t, check("signer")[1].Name, "PGP signer ")

	res = check("expiring")
	assert.NoError(t, res[1].Err, "an expiring key still decrypts")
	assert.NoError(t, res[2].Err, "an expiring key passes")
	assert.Contains(t, res[2].Warning, "in 16 days, on 2026-01-31")

	res = check("expired")
	assert.NoError(t, res[1].Err, "an expired key still decrypts the files sent to it")
	assert.ErrorIs(t, res[2].Err, pgpdecrypt.ErrKeyExpired)
	assert.Contains(t, res[2].Detail, "2025-01-31")

	res = pgpdecrypt.CheckKeys(bytes.NewReader(fx["rsa.sec.asc"]), []byte("wrong"), opts)
	require.Len(t, res, 1)
	assert.ErrorIs(t, res[0].Err, pgpdecrypt.ErrPassphrase)

	d := fx.decryptor(t, &pgpdecrypt.Options{Signers: fx.keys(t, "signer")}, "rsa", "expiring")
	res = d.Check(context.Background())
	require.Len(t, res, 6)
	var names []string
	for _, r := range res {
		names = append(names, r.Name)
		assert.NotContains(t, r.Detail+errString(r.Err), rsaPass, "a check never shows a secret")
	}
	var warnings int
	for _, r := range res {
		if r.Warning != "" {
			warnings++
		}
	}
	assert.Equal(t, 1, warnings, strings.Join(names, "\n"))
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

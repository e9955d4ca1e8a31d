package pgpdecrypt_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/decrypt/decrypttest"
	"github.com/usersync/usersync/decrypt/pgpdecrypt"
)

// newEntity makes a Curve25519 key with go-crypto; aead makes it ask for
// SEIPDv2 with OCB, as RFC 9580 keys do.
func newEntity(t testing.TB, name string, aead bool) *openpgp.Entity {
	t.Helper()
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519}
	if aead {
		cfg.AEADConfig = &packet.AEADConfig{DefaultMode: packet.AEADModeOCB}
	}
	e, err := openpgp.NewEntity(name, "", strings.ToLower(name)+"@example.com", cfg)
	require.NoError(t, err)
	return e
}

// keyOf reads e back through ReadKeys: with its secret parts if private.
func keyOf(t testing.TB, e *openpgp.Entity, private bool) *pgpdecrypt.Key {
	t.Helper()
	var buf bytes.Buffer
	if private {
		require.NoError(t, e.SerializePrivate(&buf, nil))
	} else {
		require.NoError(t, e.Serialize(&buf))
	}
	keys, err := pgpdecrypt.ReadKeys(&buf, nil)
	require.NoError(t, err)
	require.Len(t, keys, 1)
	return keys[0]
}

// encrypt encrypts plaintext to e with go-crypto, signed by signers.
func encrypt(e *openpgp.Entity, signers []*openpgp.Entity, cfg *packet.Config, plaintext []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := openpgp.Encrypt(&buf, []*openpgp.Entity{e}, nil, signers, nil, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func armored(data []byte) []byte {
	var buf bytes.Buffer
	w, _ := armor.Encode(&buf, "PGP MESSAGE", nil)
	w.Write(data)
	w.Close()
	return buf.Bytes()
}

// TestConformance runs decrypttest's suite on messages go-crypto writes:
// SEIPDv1 with an MDC, and SEIPDv2 with OCB; compressed or not; armored
// or not; signed by a required signer.
func TestConformance(t *testing.T) {
	signer := newEntity(t, "Signer", false)
	zlib := &packet.Config{DefaultCompressionAlgo: packet.CompressionZLIB}
	for name, c := range map[string]struct {
		aead   bool
		cfg    *packet.Config
		armor  bool
		signed bool
	}{
		"SEIPDv1":                 {},
		"SEIPDv1-zlib-armored":    {cfg: zlib, armor: true},
		"SEIPDv2-OCB":             {aead: true},
		"SEIPDv2-OCB-zlib-signed": {aead: true, cfg: zlib, signed: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEntity(t, "Recipient", c.aead)
			opts := &pgpdecrypt.Options{}
			var signers []*openpgp.Entity
			if c.signed {
				signers = []*openpgp.Entity{signer}
				opts.Signers = []*pgpdecrypt.Key{keyOf(t, signer, false)}
			}
			d, err := pgpdecrypt.New([]*pgpdecrypt.Key{keyOf(t, e, true)}, opts)
			require.NoError(t, err)
			cfg := c.cfg
			if c.aead {
				cfg = &packet.Config{AEADConfig: &packet.AEADConfig{DefaultMode: packet.AEADModeOCB}}
				if c.cfg != nil {
					cfg.DefaultCompressionAlgo = c.cfg.DefaultCompressionAlgo
				}
			}
			decrypttest.RunConformanceTests(t, d, func(p []byte) ([]byte, error) {
				ct, err := encrypt(e, signers, cfg, p)
				if c.armor {
					ct = armored(ct)
				}
				return ct, err
			}, nil)
		})
	}
}

// TestSEIPDv2 makes sure TestConformance's AEAD case is what it says.
func TestSEIPDv2(t *testing.T) {
	e := newEntity(t, "Recipient", true)
	ct, err := encrypt(e, nil, &packet.Config{AEADConfig: &packet.AEADConfig{DefaultMode: packet.AEADModeOCB}}, []byte("x"))
	require.NoError(t, err)
	packets := packet.NewReader(bytes.NewReader(ct))
	for {
		p, err := packets.Next()
		require.NoError(t, err)
		if se, ok := p.(*packet.SymmetricallyEncrypted); ok {
			assert.Equal(t, 2, se.Version)
			return
		}
	}
}

// TestGnuPG24OCB decrypts what GnuPG 2.4.7 writes for a key that
// prefers OCB: an AEAD encrypted data packet (tag 20), compressed, with
// chunks of 4 MiB or, with --chunk-size 6, of 64 bytes. See
// testdata/README.md.
func TestGnuPG24OCB(t *testing.T) {
	keyFile, err := os.ReadFile("testdata/gnupg-2.4/bob.sec.asc")
	require.NoError(t, err)
	keys, err := pgpdecrypt.ReadKeys(bytes.NewReader(keyFile), nil)
	require.NoError(t, err)
	d, err := pgpdecrypt.New(keys, nil)
	require.NoError(t, err)
	for name, want := range map[string]int{"msg_to_bob.asc": 4, "msg_to_bob_multi_chunk.asc": 300} {
		t.Run(name, func(t *testing.T) {
			ct, err := os.ReadFile("testdata/gnupg-2.4/" + name)
			require.NoError(t, err)
			o := decryptFile(d, name, ct)
			require.NoError(t, o.err())
			require.Len(t, o.plain, want)
			assert.Equal(t, "D1A66E1A23B182C9980F788CFBFCC82A015E7330 (Bob Babbage <bob@openpgp.example>)", o.by)
			if name == "msg_to_bob.asc" {
				assert.Equal(t, "foo\n", string(o.plain))
			}
			decrypttest.TestCiphertext(t, d, ct, o.plain, &decrypttest.Options{Name: name})
		})
	}
}

// TestBadSignature splices a good signature of one text onto another
// inside a message whose MDC is intact: only the signature check can tell,
// at the end of the plaintext.
func TestBadSignature(t *testing.T) {
	recipient, signer := newEntity(t, "Recipient", false), newEntity(t, "Signer", false)
	var inner bytes.Buffer
	require.NoError(t, openpgp.DetachSign(&inner, []*openpgp.Entity{signer}, strings.NewReader("what was signed"), nil))
	lit, err := packet.SerializeLiteral(nopCloser{&inner}, true, "", 0)
	require.NoError(t, err)
	lit.Write([]byte("what was sent"))
	require.NoError(t, lit.Close())
	ct := encryptPackets(t, recipient, inner.Bytes())

	for _, required := range []bool{true, false} {
		opts := &pgpdecrypt.Options{}
		if required {
			opts.Signers = []*pgpdecrypt.Key{keyOf(t, signer, false)}
		} else {
			// Known, but not required: a bad signature still fails.
			opts.Signers = nil
		}
		keys := []*pgpdecrypt.Key{keyOf(t, recipient, true)}
		if !required {
			keys = append(keys, keyOf(t, signer, true))
		}
		d, err := pgpdecrypt.New(keys, opts)
		require.NoError(t, err)
		o := decryptFile(d, "users.csv.gpg", ct)
		require.NoError(t, o.decryptErr, "the signature is only known bad at the end")
		require.ErrorIs(t, o.readErr, pgpdecrypt.ErrSignature, "required: %v", required)
		assert.ErrorIs(t, o.readErr, usersync.ErrIntegrity)
		assert.Contains(t, o.readErr.Error(), "bad signature by")
	}
}

// encryptPackets encrypts already serialized packets to e, in a SEIPDv1
// packet with an MDC.
func encryptPackets(t *testing.T, e *openpgp.Entity, inner []byte) []byte {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	enc, ok := e.EncryptionKey(time.Now(), nil)
	require.True(t, ok)
	var buf bytes.Buffer
	require.NoError(t, packet.SerializeEncryptedKey(&buf, enc.PublicKey, packet.CipherAES256, key, nil))
	w, err := packet.SerializeSymmetricallyEncrypted(&buf, packet.CipherAES256, false, packet.CipherSuite{}, key, nil)
	require.NoError(t, err)
	w.Write(inner)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func TestContext(t *testing.T) {
	e := newEntity(t, "Recipient", false)
	d, err := pgpdecrypt.New([]*pgpdecrypt.Key{keyOf(t, e, true)}, nil)
	require.NoError(t, err)
	ct, err := encrypt(e, nil, nil, bytes.Repeat([]byte("a,b\n"), 100_000))
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = d.Decrypt(ctx, bytes.NewReader(ct), usersync.FileInfo{Size: -1})
	assert.ErrorIs(t, err, context.Canceled)

	ctx, cancel = context.WithCancel(context.Background())
	r, err := d.Decrypt(ctx, bytes.NewReader(ct), usersync.FileInfo{Size: -1})
	require.NoError(t, err)
	_, err = r.Read(make([]byte, 100))
	require.NoError(t, err)
	cancel()
	_, err = io.ReadAll(r)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = r.Read(make([]byte, 100))
	assert.ErrorIs(t, err, context.Canceled, "a failed reader keeps failing")
}

// TestConcurrent decrypts and verifies with one Decryptor from several
// goroutines; run with -race.
func TestConcurrent(t *testing.T) {
	recipient, signer := newEntity(t, "Recipient", false), newEntity(t, "Signer", false)
	d, err := pgpdecrypt.New([]*pgpdecrypt.Key{keyOf(t, recipient, true)},
		&pgpdecrypt.Options{Signers: []*pgpdecrypt.Key{keyOf(t, signer, false)}})
	require.NoError(t, err)
	ct, err := encrypt(recipient, []*openpgp.Entity{signer}, nil, []byte(plainCSV))
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			o := decryptFile(d, "users.csv.gpg", ct)
			if o.err() == nil && string(o.plain) != plainCSV {
				o.readErr = errors.New("wrong plaintext")
			}
			errs <- o.err()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}

func TestNew(t *testing.T) {
	e := newEntity(t, "Recipient", false)
	_, err := pgpdecrypt.New(nil, nil)
	assert.Error(t, err)

	_, err = pgpdecrypt.New([]*pgpdecrypt.Key{keyOf(t, e, false)}, nil)
	var ke *pgpdecrypt.KeyError
	require.ErrorAs(t, err, &ke, "a public key cannot decrypt")
	assert.ErrorIs(t, err, pgpdecrypt.ErrNoSecretKey)
	assert.Equal(t, keyOf(t, e, false).Fingerprint(), ke.Key)
}

func TestReadKeys(t *testing.T) {
	fx := committedFixtures(t)
	both := append(append([]byte{}, fx["rsa.sec.asc"]...), fx["signer.pub.asc"]...)
	keys, err := pgpdecrypt.ReadKeys(bytes.NewReader(both), []byte(rsaPass))
	require.NoError(t, err)
	require.Len(t, keys, 2, "two armored blocks, one after the other")
	assert.Equal(t, []string{"Customer HR <hr@customer.example>"}, keys[1].UserIDs())

	keys, err = pgpdecrypt.ReadKeys(bytes.NewReader(fx["cv.sec.gpg"]), []byte(cvPass))
	require.NoError(t, err)
	assert.Regexp(t, `^[0-9A-F]{40} \(Curve Recipient <cv@example.com>\)$`, keys[0].String())

	for name, data := range map[string]string{
		"empty":   "",
		"text":    "not a key\n",
		"message": string(fx["rsa-zlib.asc"]),
	} {
		_, err := pgpdecrypt.ReadKeys(strings.NewReader(data), nil)
		assert.Error(t, err, name)
	}
}

func TestIsMessage(t *testing.T) {
	fx := committedFixtures(t)
	for _, m := range fixtureMessages {
		assert.True(t, pgpdecrypt.IsMessage(head(fx[m.name])), m.name)
	}
	for _, name := range []string{"msg_to_bob.asc", "msg_to_bob_multi_chunk.asc"} {
		data, err := os.ReadFile("testdata/gnupg-2.4/" + name)
		require.NoError(t, err)
		assert.True(t, pgpdecrypt.IsMessage(head(data)), name)
	}
	assert.True(t, pgpdecrypt.IsMessage([]byte("\uFEFF\r\n-----BEGIN PGP MESSAGE-----\r\n")), "a BOM and blank lines first")
	for name, data := range map[string]string{
		"empty":      "",
		"csv":        plainCSV,
		"bom csv":    "\uFEFFUniqueID;Name\n",
		"utf-16":     "\xff\xfeU\x00n\x00",
		"latin-1":    "\xc4rzte;Name\n1;\xc5sa\n",
		"public key": string(fx["signer.pub.asc"]),
		"secret key": string(fx["cv.sec.gpg"]),
		"one byte":   "\x85",
	} {
		assert.False(t, pgpdecrypt.IsMessage(head([]byte(data))), name)
	}
}

func head(data []byte) []byte { return data[:min(len(data), 512)] }

package pgpdecrypt

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// Armor types of the keyrings ReadKeys accepts.
const (
	privateKeyBlock = "PGP PRIVATE KEY BLOCK"
	publicKeyBlock  = "PGP PUBLIC KEY BLOCK"
)

// A Key is an OpenPGP key: a primary key with its user IDs and subkeys, as
// `gpg --export-secret-keys` writes it (a private key, which can decrypt)
// or `gpg --export` (a public key, which can only check signatures). Its
// secret parts, if any, are unlocked. A Key does not change once read, and
// may be shared by several Decryptors.
type Key struct {
	entity  *openpgp.Entity
	fpr     string
	userIDs []string
	label   string
}

// ReadKeys reads the keys of a keyring, armored or binary, such as a file
// written by gpg --export-secret-keys, --export-secret-subkeys or --export.
// An armored file may hold several blocks, one after the other.
//
// passphrase unlocks every key protected by one; nil or empty means that
// none was given. A protected key that passphrase does not unlock fails
// the whole read with a *KeyError wrapping [ErrPassphrase]: it is asked
// once, never again. For key rotation, read each keyring with its own
// passphrase and give all the keys to [New].
func ReadKeys(r io.Reader, passphrase []byte) ([]*Key, error) {
	entities, err := readEntities(r)
	if err != nil {
		return nil, fmt.Errorf("pgpdecrypt: reading keys: %w", err)
	}
	keys := make([]*Key, 0, len(entities))
	for _, e := range entities {
		k := newKey(e)
		if err := unlock(e, passphrase); err != nil {
			return nil, &KeyError{Key: k.fpr, Err: err}
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// readEntities parses an armored or a binary keyring.
func readEntities(r io.Reader) (openpgp.EntityList, error) {
	// armor.Decode reads through r directly when it is a bufio.Reader, so
	// blocks that follow one another are not lost to its read-ahead.
	br := bufio.NewReaderSize(r, 4096)
	head, err := br.Peek(sniffLen)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(bytes.TrimSpace(head)) == 0 {
		return nil, errors.New("the keyring is empty")
	}
	if !isArmored(head) {
		return openpgp.ReadKeyRing(br)
	}
	var all openpgp.EntityList
	for {
		block, err := armor.Decode(br)
		if errors.Is(err, io.EOF) && len(all) > 0 {
			return all, nil
		}
		if err != nil {
			return nil, fmt.Errorf("armor: %w", err)
		}
		if block.Type != privateKeyBlock && block.Type != publicKeyBlock {
			return nil, fmt.Errorf("armor holds a %q, not a key", block.Type)
		}
		el, err := openpgp.ReadKeyRing(block.Body)
		if err != nil {
			return nil, err
		}
		all = append(all, el...)
	}
}

// unlock decrypts the protected secret parts of e with passphrase.
func unlock(e *openpgp.Entity, passphrase []byte) error {
	if !locked(e) {
		return nil
	}
	if len(passphrase) == 0 {
		return fmt.Errorf("%w: the key is protected by a passphrase, and none was given", ErrPassphrase)
	}
	if err := e.DecryptPrivateKeys(passphrase); err != nil {
		return fmt.Errorf("%w (%v)", ErrPassphrase, err)
	}
	return nil
}

// locked reports whether some secret part of e is still encrypted.
func locked(e *openpgp.Entity) bool {
	if e.PrivateKey != nil && !e.PrivateKey.Dummy() && e.PrivateKey.Encrypted {
		return true
	}
	return slices.ContainsFunc(e.Subkeys, func(s openpgp.Subkey) bool {
		return s.PrivateKey != nil && !s.PrivateKey.Dummy() && s.PrivateKey.Encrypted
	})
}

func newKey(e *openpgp.Entity) *Key {
	k := &Key{entity: e, fpr: fingerprint(e)}
	for name := range e.Identities {
		k.userIDs = append(k.userIDs, name)
	}
	slices.Sort(k.userIDs)
	k.label = k.fpr
	// The zero time skips expiry checks: a label names the key even after
	// it expired.
	if _, id := e.PrimaryIdentity(time.Time{}, nil); id != nil {
		k.label += " (" + id.Name + ")"
	} else if len(k.userIDs) > 0 {
		k.label += " (" + k.userIDs[0] + ")"
	}
	return k
}

// Fingerprint returns the fingerprint of the primary key in upper-case hex,
// as gpg --list-keys shows it.
func (k *Key) Fingerprint() string { return k.fpr }

// UserIDs returns the key's user IDs, such as "Acme Sync
// <sync@acme.example>", sorted.
func (k *Key) UserIDs() []string { return slices.Clone(k.userIDs) }

// String returns the fingerprint followed by the primary user ID in
// parentheses. It never holds secret material.
func (k *Key) String() string { return k.label }

// canDecrypt reports whether k holds an unlocked secret key that may
// decrypt messages.
func (k *Key) canDecrypt() bool { return len(secretDecryptionKeys(k.entity)) > 0 }

// secretDecryptionKeys returns e's keys that may decrypt and hold their
// unlocked secret part.
func secretDecryptionKeys(e *openpgp.Entity) []openpgp.Key {
	// The zero time skips expiry checks: an expired key still decrypts the
	// messages sent to it before it expired.
	return slices.DeleteFunc(e.DecryptionKeys(0, time.Time{}, nil), func(k openpgp.Key) bool {
		return k.PrivateKey == nil || k.PrivateKey.Dummy() || k.PrivateKey.Encrypted
	})
}

// serialize writes k as a keyring: with its secret parts when it has them.
func (k *Key) serialize(w io.Writer) error {
	if k.entity.PrivateKey != nil {
		return k.entity.SerializePrivateWithoutSigning(w, nil)
	}
	return k.entity.Serialize(w)
}

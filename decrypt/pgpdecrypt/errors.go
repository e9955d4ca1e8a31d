package pgpdecrypt

import (
	"errors"
	"fmt"
)

// Sentinel errors, for errors.Is. Errors about the integrity of a message
// also wrap usersync.ErrIntegrity; see [Decryptor.Decrypt].
var (
	// ErrNotEncrypted rejects a file that is not an encrypted OpenPGP
	// message: plaintext, or an OpenPGP message that is only signed or
	// stored (see [Options.AllowUnencrypted]).
	ErrNotEncrypted = errors.New("not an encrypted OpenPGP message")
	// ErrNoKey means that none of the keys can decrypt the message: it was
	// encrypted to another key, or with a passphrase only.
	ErrNoKey = errors.New("no key can decrypt the message")
	// ErrPassphrase is wrapped by the *KeyError of a protected key whose
	// passphrase is wrong or missing.
	ErrPassphrase = errors.New("wrong or missing passphrase")
	// ErrNoSecretKey is wrapped by the *KeyError of a key given to decrypt
	// that holds no secret key able to: a public key, or a private key
	// whose encryption subkey was left out of the export.
	ErrNoSecretKey = errors.New("no secret key that can decrypt")
	// ErrSignature means a required signature is missing, bad, or made by
	// a key that is not a required signer. It comes wrapped with
	// usersync.ErrIntegrity.
	ErrSignature = errors.New("signature check failed")
	// ErrTooLarge is wrapped by every *TooLargeError.
	ErrTooLarge = errors.New("plaintext over the size limit")
	// ErrKeyExpired is reported by a key check for a key past its
	// expiration time: customers can no longer encrypt to it or sign with
	// it.
	ErrKeyExpired = errors.New("key expired")
)

// A KeyError is a key that cannot be used, such as one whose passphrase is
// wrong ([ErrPassphrase]) or one without a secret key ([ErrNoSecretKey]).
type KeyError struct {
	Key string // the key's fingerprint
	Err error
}

// Error formats the error as "pgpdecrypt: key FINGERPRINT: reason".
func (e *KeyError) Error() string { return "pgpdecrypt: key " + e.Key + ": " + e.Err.Error() }

// Unwrap returns the reason.
func (e *KeyError) Unwrap() error { return e.Err }

// A TooLargeError stops a message whose plaintext grew past the limit,
// as a decompression bomb does: a few kilobytes that inflate to gigabytes.
// It wraps [ErrTooLarge].
type TooLargeError struct {
	Limit    int64 // the limit, in bytes of plaintext
	FileSize int64 // the size of the encrypted file, or -1 if unknown
}

// Error says what the limit was and how to raise it.
func (e *TooLargeError) Error() string {
	of := ""
	if e.FileSize >= 0 {
		of = fmt.Sprintf(" for a file of %d bytes", e.FileSize)
	}
	return fmt.Sprintf("pgpdecrypt: %s of %d bytes%s: a decompression bomb, or a file that compresses unusually well "+
		"(Options.MaxExpansion and Options.MaxPlaintext set the limit)", ErrTooLarge, e.Limit, of)
}

// Unwrap returns ErrTooLarge.
func (e *TooLargeError) Unwrap() error { return ErrTooLarge }

// Package pgpdecrypt is a [usersync.Decryptor] for OpenPGP: it decrypts the
// files customers encrypt with GnuPG, Kleopatra or their HR system's PGP
// step to a key the product gave them, and checks their signatures.
//
//	keys, err := pgpdecrypt.ReadKeys(keyringFile, passphrase)
//	d, err := pgpdecrypt.New(keys, &pgpdecrypt.Options{Signers: customerKeys})
//	p := usersync.Pipeline{Decryptor: d, ...}
//
// Given to a Pipeline as it is, a Decryptor requires every file to be
// encrypted; behind decrypt.BySuffix or decrypt.ByContent it decrypts some
// files and lets plaintext ones through.
//
// # What it reads
//
// Messages armored or binary; encrypted to RSA, Curve25519 (cv25519) or
// other ECDH keys; with an MDC (SEIPDv1, what GnuPG 2.2 writes), with AEAD
// (SEIPDv2 of RFC 9580, and the OCB packets GnuPG 2.4 writes for keys
// that prefer it); compressed with ZIP, ZLIB or BZip2, or not; signed or
// not; and, when allowed, signed but not encrypted. Keys come from
// keyrings as gpg exports them, armored or binary, with or without a
// passphrase, whole or only their subkeys (--export-secret-subkeys);
// several keys may be given at once while a key is rotated.
//
// # What it guarantees
//
// The plaintext streams: a file is never held whole in memory. So it is
// read before it is verified, and the guarantees are about what the reader
// says at its end, where the Pipeline waits before it acts:
//
//   - A message changed or cut short anywhere, a bad signature, a missing
//     signature by a required signer, make a Read fail with an error
//     wrapping usersync.ErrIntegrity, at the latest instead of io.EOF; a
//     message without integrity protection (no MDC) fails at once.
//   - A file that is not an encrypted message fails at once with
//     [ErrNotEncrypted], unless [Options.AllowUnencrypted] accepts a signed
//     one.
//   - The plaintext may not outgrow the file by more than
//     [Options.MaxExpansion] times (at least 1 MiB, at most
//     [Options.MaxPlaintext]): a decompression bomb fails with a
//     [*TooLargeError] and no byte past the limit.
//   - A wrong passphrase fails [ReadKeys] once with [ErrPassphrase]; no
//     prompt is ever called, so nothing loops.
//   - The file name stored in a message is never used.
//   - Crafted input that makes the OpenPGP parser panic fails the file
//     with usersync.ErrIntegrity instead of crashing the host.
//
// # How it uses go-crypto
//
// It is built on the v2 API of github.com/ProtonMail/go-crypto
// (openpgp/v2), not on the older openpgp package, because only v2 gives
// the guarantees above without guesswork. Both check the MDC or the last
// AEAD tag on the way to io.EOF and report a failure from Read, and both
// only record the outcome of a signature check in MessageDetails, leaving
// the Read to return io.EOF. But the older package, given a message signed
// by a key it does not know, leaves SignatureError nil, as for a good
// signature; it checks only one of the signatures of a message signed
// several times; and it ignores the packets that follow the literal data
// of an unsigned one. v2 checks every signature against its issuer's key
// as it was when the signature was made, reports an unknown issuer as
// ErrUnknownIssuer, and checks the packet sequence of the whole message.
// This package then turns v2's recorded signature results into the error
// of the Read that would have returned io.EOF.
//
// Keys are unlocked once, in ReadKeys, with Entity.DecryptPrivateKeys;
// ReadMessage gets no prompt function, so go-crypto's prompt loop, which
// calls the prompt again forever while a passphrase is wrong, never runs.
//
// go-crypto bounds decompression only when told to
// (Config.MaxDecompressedMessageSize, unbounded by default), and in an
// encrypted message reports the overflow as a generic parse error. This
// package counts the plaintext itself to fail with a clear error, and sets
// go-crypto's bound a little higher, against what the count cannot see.
//
// # Key checks
//
// [Decryptor.Check] and [CheckKeys] tell an administrator whether a key
// loads, decrypts, which user IDs it carries, and when it expires, with a
// warning (CheckResult.Warning) in good time to send the customer a new one.
package pgpdecrypt

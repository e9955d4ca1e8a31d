package usersync

import (
	"context"
	"io"
)

// A Decryptor turns a file's ciphertext into plaintext as a stream.
//
// Integrity matters more than anything here: an implementation must report
// a failed integrity or signature check as an error wrapping [ErrIntegrity]
// from Read, no later than the Read that would otherwise return io.EOF. The
// Pipeline acts on a file only after its plaintext reached a clean io.EOF.
//
// A Decryptor sees every file; it passes through those it does not handle
// (by name or content), returning r itself.
type Decryptor interface {
	Decrypt(ctx context.Context, r io.Reader, f FileInfo) (io.Reader, error)
}

// A DecryptedReader is a plaintext reader, returned by Decrypt, that can say
// which key decrypted it; the Pipeline records that in FileResult.DecryptedBy
// at the end of the file. The answer names the key (a fingerprint, a user ID),
// never secret material.
type DecryptedReader interface {
	io.Reader
	DecryptedBy() string
}

// DecryptorFunc adapts a function to the [Decryptor] interface.
type DecryptorFunc func(ctx context.Context, r io.Reader, f FileInfo) (io.Reader, error)

// Decrypt calls f.
func (f DecryptorFunc) Decrypt(ctx context.Context, r io.Reader, fi FileInfo) (io.Reader, error) {
	return f(ctx, r, fi)
}

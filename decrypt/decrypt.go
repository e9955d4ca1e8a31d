// Package decrypt chooses which files of a run a [usersync.Decryptor]
// decrypts, and passes the others through untouched.
//
// A Pipeline has one Decryptor and gives it every file. A decryptor such as
// pgpdecrypt's decrypts every file it is given, and so rejects a plaintext
// one: use it alone where every file must be encrypted. Where some files may
// be plaintext, wrap it: [BySuffix] decrypts the files named like
// ciphertext ("users.csv.pgp"), [ByContent] those whose first bytes look
// like it, and [Chain] combines the two, so that a ciphertext file is
// decrypted whatever its name:
//
//	d := decrypt.Chain(
//		decrypt.BySuffix(pgp, ".pgp", ".gpg", ".asc"),
//		decrypt.ByContent(pgp, pgpdecrypt.IsMessage),
//	)
//
// A file passed through reaches the Mapper byte for byte as the Source
// delivered it, and a plaintext reader that names its key (a
// [usersync.DecryptedReader]) still does after passing through a later
// stage, so the run's result records which key decrypted each file.
//
// Selection makes encryption optional, and so it cannot stop someone who
// can change a file from sending plaintext instead: a file renamed, or
// whose first bytes were damaged, no longer looks like ciphertext and is
// passed through as it is (where the Mapper most likely rejects what it
// finds). Where every file must be encrypted, and signed, give the Pipeline
// the decryptor itself.
package decrypt

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"

	"github.com/usersync/usersync"
)

// SniffLen is the number of leading bytes [ByContent] shows its match
// function: enough for any file signature, and for an armor header line.
const SniffLen = 512

// BySuffix returns a Decryptor that gives d the files whose names end with
// one of suffixes, ignoring case, and passes the others through.
func BySuffix(d usersync.Decryptor, suffixes ...string) usersync.Decryptor {
	lower := make([]string, len(suffixes))
	for i, s := range suffixes {
		lower[i] = strings.ToLower(s)
	}
	return usersync.DecryptorFunc(func(ctx context.Context, r io.Reader, f usersync.FileInfo) (io.Reader, error) {
		name := strings.ToLower(f.Name)
		for _, s := range lower {
			if strings.HasSuffix(name, s) {
				return d.Decrypt(ctx, r, f)
			}
		}
		return r, nil
	})
}

// ByContent returns a Decryptor that gives d the files whose first bytes
// satisfy match, and passes the others through. match sees up to
// [SniffLen] bytes: fewer for a shorter file, none for an empty one.
//
// Sniffing reads ahead, so a file passed through comes out of a buffer that
// yields the same bytes; when the file came from an earlier decryption, the
// buffer still names that decryption's key.
func ByContent(d usersync.Decryptor, match func(head []byte) bool) usersync.Decryptor {
	return usersync.DecryptorFunc(func(ctx context.Context, r io.Reader, f usersync.FileInfo) (io.Reader, error) {
		head, r, err := Peek(r, SniffLen)
		if err != nil {
			return nil, err
		}
		if match(head) {
			return d.Decrypt(ctx, r, f)
		}
		return r, nil
	})
}

// Chain returns a Decryptor that gives each file to ds in turn, each one
// reading what the one before returned. Since each passes through what it
// does not handle, Chain(BySuffix(d, ".pgp"), ByContent(d, match))
// decrypts a file named like ciphertext or one that looks like it, and
// never decrypts a file twice: what the first stage decrypted is plaintext
// to the second.
func Chain(ds ...usersync.Decryptor) usersync.Decryptor {
	return usersync.DecryptorFunc(func(ctx context.Context, r io.Reader, f usersync.FileInfo) (io.Reader, error) {
		for _, d := range ds {
			var err error
			if r, err = d.Decrypt(ctx, r, f); err != nil {
				return nil, err
			}
		}
		return r, nil
	})
}

// Peek returns the first n bytes of r, or all of them if r holds fewer,
// and a reader that yields all of r's bytes, those included. It is how a
// Decryptor looks at a file before choosing what to do with it.
//
// The reader it returns reads through a buffer of at least n bytes. It is
// a [usersync.DecryptedReader] when r is one, so a file that an earlier
// stage decrypted still names its key.
func Peek(r io.Reader, n int) (head []byte, rest io.Reader, err error) {
	br := bufio.NewReaderSize(r, max(n, 4096))
	head, err = br.Peek(n)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	if dr, ok := r.(usersync.DecryptedReader); ok {
		return head, &decryptedBuffer{br, dr}, nil
	}
	return head, br, nil
}

// decryptedBuffer is a read-ahead buffer over a decrypted file that still
// names its key.
type decryptedBuffer struct {
	*bufio.Reader
	src usersync.DecryptedReader
}

var _ usersync.DecryptedReader = (*decryptedBuffer)(nil)

func (b *decryptedBuffer) DecryptedBy() string { return b.src.DecryptedBy() }

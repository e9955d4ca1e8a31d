package decrypttest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/usersync/usersync"
)

// fakeMagic starts every file Fake seals.
const fakeMagic = "USERSYNC-FAKE-SEALED\n"

// fakeKey keys the tag of every file Fake seals.
var fakeKey = []byte("usersync decrypttest fake key")

// Fake is an in-memory [usersync.Decryptor] for tests: the simplest one
// that keeps the contract, and the reference the conformance suite is
// checked against. Seal makes its input and Decrypt reads it back.
//
// It does not hide anything: a sealed file is a marker line, the plaintext
// and an HMAC-SHA256 tag over it. Decrypt streams the plaintext while
// holding back the last 32 bytes, and checks the tag when its input ends: a
// changed byte or a missing end makes the Read that would have returned
// io.EOF fail with an error wrapping [usersync.ErrIntegrity]. A file that
// does not start with the marker is not one of Fake's, and Decrypt rejects
// it; wrap Fake with the decrypt package's selectors to pass such files
// through.
//
// The zero value is ready to use.
type Fake struct{}

var _ usersync.Decryptor = Fake{}

// Seal returns the sealed form of plaintext.
func (Fake) Seal(plaintext []byte) []byte {
	m := hmac.New(sha256.New, fakeKey)
	m.Write(plaintext)
	out := append([]byte(fakeMagic), plaintext...)
	return m.Sum(out)
}

// ErrNotSealed is returned by [Fake.Decrypt] for a file that Fake did not
// seal.
var ErrNotSealed = errors.New("decrypttest: not a file sealed by Fake")

// Decrypt returns a reader of the plaintext of a sealed file.
func (Fake) Decrypt(ctx context.Context, r io.Reader, _ usersync.FileInfo) (io.Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(r, 32<<10)
	magic := make([]byte, len(fakeMagic))
	if _, err := io.ReadFull(br, magic); err != nil || !bytes.Equal(magic, []byte(fakeMagic)) {
		return nil, ErrNotSealed
	}
	return &fakeReader{r: br, mac: hmac.New(sha256.New, fakeKey)}, nil
}

// fakeReader streams a sealed file's plaintext, holding back what may be
// the tag until its input ends.
type fakeReader struct {
	r   *bufio.Reader
	mac hash.Hash
	err error // sticky: io.EOF after a good tag, or the failure
}

var _ usersync.DecryptedReader = (*fakeReader)(nil)

func (f *fakeReader) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	tagLen := f.mac.Size()
	buf, err := f.r.Peek(min(len(p)+tagLen, f.r.Size()))
	if len(buf) > tagLen {
		n := copy(p, buf[:len(buf)-tagLen])
		f.mac.Write(p[:n])
		f.r.Discard(n)
		return n, nil
	}
	switch {
	case err != io.EOF:
		f.err = err
	case len(buf) < tagLen:
		f.err = fmt.Errorf("decrypttest: %w: the sealed file ends before its tag", usersync.ErrIntegrity)
	case !hmac.Equal(buf, f.mac.Sum(nil)):
		f.err = fmt.Errorf("decrypttest: %w: the tag does not match", usersync.ErrIntegrity)
	default:
		f.err = io.EOF
	}
	return 0, f.err
}

// DecryptedBy names Fake's only key.
func (f *fakeReader) DecryptedBy() string { return "decrypttest fake key" }

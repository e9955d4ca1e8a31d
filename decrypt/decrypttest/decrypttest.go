// Package decrypttest checks that a [usersync.Decryptor] keeps the
// contract the Pipeline relies on: it returns the exact plaintext, and it
// never lets a changed or cut ciphertext through as a clean file.
//
// A decryptor's own tests run [RunConformanceTests] with a function that
// encrypts for it, and [TestCiphertext] on ciphertexts made elsewhere, such
// as fixtures written by another program:
//
//	func TestConformance(t *testing.T) {
//		decrypttest.RunConformanceTests(t, d, encrypt, nil)
//	}
//
// Each ciphertext is read back whole, then changed in many ways: one byte
// flipped at offsets spread over the file and crowded at its end, where
// formats keep their checksums and tags, and the file cut short at such
// offsets. Every changed ciphertext must either be rejected by Decrypt, or
// make a Read fail, before any Read returns io.EOF, with an error wrapping
// [usersync.ErrIntegrity]; once failed, the reader must not report io.EOF
// later. A change that leaves the plaintext exactly as it was (an armor
// checksum nobody checks, the newline after an armor footer) may decrypt
// cleanly: it changed nothing the Pipeline acts on.
//
// [Fake] is the in-memory Decryptor that the suite's own tests run against.
package decrypttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/iotest"

	"github.com/usersync/usersync"
)

// An Encrypter returns plaintext encrypted for the Decryptor under test.
type Encrypter func(plaintext []byte) ([]byte, error)

// Options tunes the suite. A nil *Options gives the defaults.
type Options struct {
	// Name is the file name the suite gives the Decryptor; "" means
	// "users.csv.gpg". Set it for a decryptor that selects files by name.
	Name string
}

func (o *Options) name() string {
	if o == nil || o.Name == "" {
		return "users.csv.gpg"
	}
	return o.Name
}

// plaintexts returns the plaintexts the suite encrypts, by name: an empty
// file, a small CSV file with UTF-8 text, quoted line breaks and CRLF line
// ends, every byte value, and a pseudo-random file of a little over
// 512 KiB, which spans several packets and chunks of a streaming format.
func plaintexts() map[string][]byte {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	large := make([]byte, 512<<10+17)
	rng := rand.NewChaCha8([32]byte{'d', 'e', 'c', 'r', 'y', 'p', 't'})
	rng.Read(large)
	return map[string][]byte{
		"empty": {},
		"csv": []byte("UniqueID,Name,Mail,Groups\r\n" +
			"1001,Åsa Öberg,asa@example.com,\"g1,g2\"\r\n" +
			"1002,\"Jörg \"\"JJ\"\" Müller\",jorg@example.com,\"line\r\nbreak\"\r\n"),
		"bytes": all,
		"large": large,
	}
}

// RunConformanceTests encrypts each of the suite's plaintexts with encrypt
// and runs [TestCiphertext] on the result.
func RunConformanceTests(t *testing.T, d usersync.Decryptor, encrypt Encrypter, opts *Options) {
	t.Helper()
	plain := plaintexts()
	for _, name := range slices.Sorted(maps.Keys(plain)) {
		t.Run(name, func(t *testing.T) {
			ct, err := encrypt(plain[name])
			if err != nil {
				t.Fatalf("encrypt: %v", err)
			}
			TestCiphertext(t, d, ct, plain[name], opts)
		})
	}
}

// TestCiphertext checks that d decrypts ciphertext to plaintext, that every
// flipped byte and every cut the suite tries is caught (see the package
// documentation), and that a reader naming its key names one.
func TestCiphertext(t *testing.T, d usersync.Decryptor, ciphertext, plaintext []byte, opts *Options) {
	t.Helper()
	name := opts.name()
	t.Run("RoundTrip", func(t *testing.T) {
		r, err := d.Decrypt(context.Background(), bytes.NewReader(ciphertext), fileInfo(name, ciphertext))
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if err := iotest.TestReader(r, plaintext); err != nil {
			t.Fatalf("the plaintext read back differs: %v", err)
		}
		if dr, ok := r.(usersync.DecryptedReader); ok && dr.DecryptedBy() == "" {
			t.Error("DecryptedBy is empty; it must name the key that decrypted the file")
		}
	})
	t.Run("FlippedByte", func(t *testing.T) {
		for _, off := range flipOffsets(len(ciphertext)) {
			changed := bytes.Clone(ciphertext)
			changed[off] ^= 0x01
			checkRejected(t, d, name, changed, plaintext, fmt.Sprintf("byte %d of %d flipped", off, len(ciphertext)))
		}
	})
	t.Run("Truncated", func(t *testing.T) {
		for _, n := range cutLengths(len(ciphertext)) {
			checkRejected(t, d, name, ciphertext[:n], plaintext, fmt.Sprintf("cut to %d of %d bytes", n, len(ciphertext)))
		}
	})
}

func fileInfo(name string, data []byte) usersync.FileInfo {
	return usersync.FileInfo{Name: name, Size: int64(len(data))}
}

// flipOffsets spreads offsets over a file of n bytes, and crowds them at
// its start and end, where formats keep headers, checksums and tags.
func flipOffsets(n int) []int {
	offs := []int{0, 1, 2, 5, 10, 20}
	for i := 1; i < 16; i++ {
		offs = append(offs, n*i/16)
	}
	for _, back := range []int{64, 40, 32, 24, 22, 21, 20, 16, 10, 5, 2, 1} {
		offs = append(offs, n-back)
	}
	return clean(offs, n)
}

// cutLengths spreads the lengths a file of n bytes is cut to.
func cutLengths(n int) []int {
	lens := []int{0, 1, 2, 10}
	for i := 1; i < 8; i++ {
		lens = append(lens, n*i/8)
	}
	for _, back := range []int{64, 40, 23, 22, 21, 20, 16, 2, 1} {
		lens = append(lens, n-back)
	}
	return clean(lens, n)
}

// clean keeps the offsets in [0, n), sorted and without repeats.
func clean(offs []int, n int) []int {
	offs = slices.DeleteFunc(offs, func(o int) bool { return o < 0 || o >= n })
	slices.Sort(offs)
	return slices.Compact(offs)
}

// checkRejected decrypts a changed ciphertext and fails t unless the change
// was caught as the package documentation says, or changed nothing.
func checkRejected(t *testing.T, d usersync.Decryptor, name string, changed, plaintext []byte, what string) {
	t.Helper()
	r, err := d.Decrypt(context.Background(), bytes.NewReader(changed), fileInfo(name, changed))
	if err != nil {
		return // rejected before any plaintext was read
	}
	got, err := io.ReadAll(r)
	switch {
	case err == nil && bytes.Equal(got, plaintext):
		t.Logf("%s: decrypted cleanly to the same plaintext; the change touched no content", what)
	case err == nil:
		t.Errorf("%s: read to io.EOF without an error, and the plaintext differs (%d bytes, want %d)", what, len(got), len(plaintext))
	case !errors.Is(err, usersync.ErrIntegrity):
		t.Errorf("%s: Read failed with %v, which does not wrap usersync.ErrIntegrity", what, err)
	default:
		if _, again := r.Read(make([]byte, 512)); again == nil || errors.Is(again, io.EOF) {
			t.Errorf("%s: after failing with %v, the next Read returned %v; a failed reader must keep failing", what, err, again)
		}
	}
}

package pgpdecrypt_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/decrypt/pgpdecrypt"
)

// FuzzDecrypt feeds changed messages to a Decryptor that requires a
// signer: it must never panic, never hang, and fail only with the errors
// its documentation names.
func FuzzDecrypt(f *testing.F) {
	fx := committedFixtures(f)
	d := fx.decryptor(f, &pgpdecrypt.Options{Signers: fx.keys(f, "signer"), MaxPlaintext: 1 << 20}, "rsa", "cv")
	for _, m := range fixtureMessages {
		f.Add(fx[m.name])
		f.Add(fx[m.name][:len(fx[m.name])/2])
	}
	for _, name := range []string{"msg_to_bob.asc", "msg_to_bob_multi_chunk.asc"} {
		data, err := os.ReadFile("testdata/gnupg-2.4/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := d.Decrypt(context.Background(), bytes.NewReader(data), usersync.FileInfo{Name: "users.csv.gpg", Size: int64(len(data))})
		if err != nil {
			return
		}
		_, err = io.Copy(io.Discard, r)
		if err != nil && !errors.Is(err, usersync.ErrIntegrity) && !errors.Is(err, pgpdecrypt.ErrTooLarge) {
			t.Fatalf("Read failed with %v, which wraps neither usersync.ErrIntegrity nor ErrTooLarge", err)
		}
	})
}

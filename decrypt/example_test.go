package decrypt_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/decrypt"
	"github.com/usersync/usersync/decrypt/decrypttest"
)

func Example() {
	// decrypttest.Fake stands for a real decryptor such as pgpdecrypt's,
	// and IsSealed for pgpdecrypt.IsMessage.
	var sealer decrypttest.Fake
	isSealed := func(head []byte) bool { return bytes.HasPrefix(head, []byte("USERSYNC-FAKE-SEALED")) }
	d := decrypt.Chain(
		decrypt.BySuffix(sealer, ".gpg", ".pgp", ".asc"),
		decrypt.ByContent(sealer, isSealed),
	)

	files := map[string][]byte{
		"1-users.csv.gpg": sealer.Seal([]byte("sealed, named so\n")),
		"2-users.csv":     sealer.Seal([]byte("sealed, named like plaintext\n")),
		"3-groups.csv":    []byte("plaintext\n"),
	}
	for _, name := range []string{"1-users.csv.gpg", "2-users.csv", "3-groups.csv"} {
		data := files[name]
		r, err := d.Decrypt(context.Background(), bytes.NewReader(data), usersync.FileInfo{Name: name, Size: int64(len(data))})
		if err != nil {
			log.Fatal(err)
		}
		plain, err := io.ReadAll(r)
		if err != nil {
			log.Fatal(err)
		}
		_, decrypted := r.(usersync.DecryptedReader)
		fmt.Printf("%s: decrypted=%v: %s", name, decrypted, plain)
	}
	// Output:
	// 1-users.csv.gpg: decrypted=true: sealed, named so
	// 2-users.csv: decrypted=true: sealed, named like plaintext
	// 3-groups.csv: decrypted=false: plaintext
}

package pgpdecrypt_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/decrypt/pgpdecrypt"
)

func Example() {
	// The product's key, as gpg --export-secret-keys --armor wrote it, and
	// the customer's signing key, as gpg --export wrote it.
	keyring, err := os.Open("testdata/gnupg-2.2/rsa.sec.asc")
	if err != nil {
		log.Fatal(err)
	}
	defer keyring.Close()
	keys, err := pgpdecrypt.ReadKeys(keyring, []byte("rsa passphrase"))
	if err != nil {
		log.Fatal(err) // a wrong passphrase fails here, once
	}
	signerKey, err := os.Open("testdata/gnupg-2.2/signer.pub.asc")
	if err != nil {
		log.Fatal(err)
	}
	defer signerKey.Close()
	signers, err := pgpdecrypt.ReadKeys(signerKey, nil)
	if err != nil {
		log.Fatal(err)
	}
	d, err := pgpdecrypt.New(keys, &pgpdecrypt.Options{Signers: signers})
	if err != nil {
		log.Fatal(err)
	}

	// A Pipeline does this with each file; decrypt.BySuffix(d, ".gpg")
	// would pass plaintext files through.
	msg, err := os.ReadFile("testdata/gnupg-2.2/rsa-zip-signed.gpg")
	if err != nil {
		log.Fatal(err)
	}
	r, err := d.Decrypt(context.Background(), bytes.NewReader(msg), usersync.FileInfo{Name: "users.csv.gpg", Size: int64(len(msg))})
	if err != nil {
		log.Fatal(err)
	}
	// Nothing read may be used before the reader reaches io.EOF: only then
	// are the MDC and the signature checked.
	plain, err := io.ReadAll(r)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(plain))
	by := r.(usersync.DecryptedReader).DecryptedBy()
	fmt.Println("decrypted by", strings.TrimPrefix(by, keys[0].Fingerprint()+" "))
	// Output:
	// UniqueID,Name,Mail,Groups
	// 1001,Åsa Öberg,asa@example.com,staff
	// 1002,Jörg Müller,jorg@example.com,"staff,admins"
	// decrypted by (RSA Recipient <rsa@example.com>)
}

func ExampleCheckKeys() {
	keyring, err := os.Open("testdata/gnupg-2.2/expiring.sec.asc")
	if err != nil {
		log.Fatal(err)
	}
	defer keyring.Close()
	now := func() time.Time { return time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC) }
	for _, r := range pgpdecrypt.CheckKeys(keyring, nil, &pgpdecrypt.Options{Now: now}) {
		fmt.Printf("ok=%v %s", r.OK(), r.Detail)
		if r.Err != nil {
			fmt.Printf(" (%v)", r.Err)
		}
		if r.Warning != "" {
			fmt.Printf(" (warning: %s)", r.Warning)
		}
		fmt.Println()
	}
	// Output:
	// ok=true 1 key
	// ok=true user IDs: Expiring Recipient <expiring@example.com>
	// ok=true expires on 2026-01-31 (warning: expires in 16 days, on 2026-01-31: make a new key and send it to the customer)
}

package main

// The customer's side of the quickstart: what Acme's HR system and its
// nightly upload script do. None of this is part of a host's integration.

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/usersync/usersync/internal/sftptest"
)

// The nightly exports, as readable UTF-8 with commas; upload converts them
// to what Acme's system really sends.
//
//go:embed testdata/day1.csv testdata/day2.csv
var samples embed.FS

// newPGPKey makes the product's throwaway PGP key pair (Curve25519, as gpg
// makes by default) and returns the public key as Acme imports it and the
// private keyring as the sync reads it.
func newPGPKey() (public openpgp.EntityList, private io.Reader, err error) {
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519}
	key, err := openpgp.NewEntity("Product sync", "quickstart, throwaway", "sync@product.example", cfg)
	if err != nil {
		return nil, nil, err
	}
	var pub, priv bytes.Buffer
	if err := key.Serialize(&pub); err != nil {
		return nil, nil, err
	}
	if err := key.SerializePrivate(&priv, nil); err != nil {
		return nil, nil, err
	}
	public, err = openpgp.ReadKeyRing(&pub)
	return public, &priv, err
}

// upload exports the sample as Acme's system does, encrypts it to the
// product's public key and uploads it with its done-marker, written last
// so that the sync never sees half a file.
func upload(dropBox *sftptest.Server, sample string, to openpgp.EntityList) error {
	data, err := samples.ReadFile("testdata/" + sample)
	if err != nil {
		return err
	}
	if data, err = unicodeText(data); err != nil {
		return err
	}
	if data, err = encrypt(data, to); err != nil {
		return err
	}
	now := time.Now()
	if err := dropBox.Put("users.csv.pgp", data, now); err != nil {
		return err
	}
	return dropBox.Put("users.csv.pgp.done", nil, now)
}

// unicodeText rewrites a CSV file as Excel's "Unicode text" export with
// semicolons: UTF-16LE with a byte order mark, CRLF line ends.
func unicodeText(utf8CSV []byte) ([]byte, error) {
	rows, err := csv.NewReader(bytes.NewReader(utf8CSV)).ReadAll()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := transform.NewWriter(&buf, unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder())
	w := csv.NewWriter(enc)
	w.Comma, w.UseCRLF = ';', true
	if err := w.WriteAll(rows); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encrypt encrypts data to the given public keys, as gpg --encrypt does.
func encrypt(data []byte, to openpgp.EntityList) ([]byte, error) {
	var buf bytes.Buffer
	w, err := openpgp.Encrypt(&buf, to, nil, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// randomPassword is Acme's SFTP password, new on every run.
func randomPassword() string { return rand.Text() }

// printDropBox shows what Acme sees on the server after a sync: the file
// archived under the time it was taken, its done-marker gone.
func printDropBox(out io.Writer, dropBox *sftptest.Server) error {
	fmt.Fprintf(out, "\nThe drop box now:\n")
	return fs.WalkDir(os.DirFS(dropBox.Dir), ".", func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			fmt.Fprintf(out, "  %s\n", name)
		}
		return err
	})
}

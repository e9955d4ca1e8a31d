package main

// The customer's side of the quickstart: what Acme's HR system and its
// nightly upload script do. None of this is part of a host's integration.

import (
	"bytes"
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
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
// product's public key and uploads it to the drop box over SFTP, trusting
// only the host key the product gave Acme.
func upload(box *dropBox, sample string, to openpgp.EntityList) error {
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
	conn, err := ssh.Dial("tcp", box.addr, &ssh.ClientConfig{
		User:            "acme",
		Auth:            []ssh.AuthMethod{ssh.Password(box.password)},
		HostKeyCallback: ssh.FixedHostKey(box.hostKey),
		Timeout:         30 * time.Second,
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	client, err := sftp.NewClient(conn)
	if err != nil {
		return err
	}
	defer client.Close()
	// Write-only: a drop box lets its customers upload, not download.
	f, err := client.OpenFile("users.csv.pgp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close() // the drop box has announced the file when this returns
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

// printDropBox shows what Acme sees in its folder after a sync: the file
// archived under the time it was taken.
func printDropBox(out io.Writer, root string) error {
	fmt.Fprintf(out, "\nAcme's folder in the drop box now:\n")
	return fs.WalkDir(os.DirFS(root), ".", func(name string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && name != "." && strings.HasPrefix(d.Name(), "."):
			return fs.SkipDir // the server's staging folder for uploads in progress
		case !d.IsDir():
			fmt.Fprintf(out, "  %s\n", name)
		}
		return nil
	})
}

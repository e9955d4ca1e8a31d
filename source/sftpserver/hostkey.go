package sftpserver

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// LoadOrCreateHostKey returns the host key kept in the file at path, in
// OpenSSH's format; if there is no such file, it generates an Ed25519 key
// and writes it there first, readable by its owner only, so that the
// server keeps its identity across restarts and clients' known_hosts stay
// valid. Two processes racing to create the file end up with the same key.
//
// Like sshd, it refuses a key file that other users may read, and a key
// with a passphrase.
func LoadOrCreateHostKey(path string) (ssh.Signer, error) {
	s, err := loadHostKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err = createHostKey(path); err == nil || errors.Is(err, fs.ErrExist) {
			s, err = loadHostKey(path)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("sftpserver: host key: %w", err)
	}
	return s, nil
}

func loadHostKey(path string) (ssh.Signer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: permissions %#o are too open: other users could read the private key (chmod 600 it)", path, info.Mode().Perm())
	}
	data := make([]byte, info.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, err
	}
	s, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// createHostKey writes a new Ed25519 key to a temporary file beside path
// and links it to path, so that path never holds a partial key and an
// existing key is never replaced.
func createHostKey(path string) error {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	block, err := ssh.MarshalPrivateKey(priv, "usersync sftpserver host key "+host)
	if err != nil {
		return err
	}
	var suffix [8]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-"+hex.EncodeToString(suffix[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := pem.Encode(f, block); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Link(tmp, path)
}

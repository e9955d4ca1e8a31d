package main

// The product's SFTP drop box: what a host runs so that its customers can
// upload their exports to it, one folder per customer.

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"

	"github.com/usersync/usersync/source/sftpserver"
)

// dropBox is the running server, and what Acme is told about it.
type dropBox struct {
	server   *sftpserver.Server
	addr     string        // where it listens: 127.0.0.1 and a free port
	hostKey  ssh.PublicKey // Acme pins it, as its known_hosts would
	acmeRoot string        // Acme's folder, on the product's disk
	password string        // Acme's, handed over once; the server keeps only its hash
	uploads  chan sftpserver.Upload
}

// startDropBox starts the server with its host key and Acme's folder in
// dir; its audit log goes to log.
func startDropBox(ctx context.Context, dir string, log *slog.Logger) (*dropBox, error) {
	// Kept in a file, so that the key, and with it Acme's trust in the
	// server, survives restarts.
	hostKey, err := sftpserver.LoadOrCreateHostKey(filepath.Join(dir, "ssh_host_ed25519_key"))
	if err != nil {
		return nil, err
	}
	b := &dropBox{
		hostKey:  hostKey.PublicKey(),
		acmeRoot: filepath.Join(dir, "dropbox", "acme"),
		password: rand.Text(),
		uploads:  make(chan sftpserver.Upload, 16),
	}
	if err := os.MkdirAll(b.acmeRoot, 0o700); err != nil {
		return nil, err
	}
	hash, err := sftpserver.HashPassword(b.password)
	if err != nil {
		return nil, err
	}
	tenants := &sftpserver.MemTenants{} // or the host's own Tenants, over its database
	if err := tenants.Set("acme", sftpserver.Tenant{ID: "acme", Root: b.acmeRoot, PasswordHashes: []string{hash}}); err != nil {
		return nil, err
	}
	b.server, err = sftpserver.New(sftpserver.Config{HostKeys: []ssh.Signer{hostKey}, Tenants: tenants}, &sftpserver.Options{
		// Called once a file is complete, before the client hears that its
		// upload succeeded; it must not block, so it only hands it on.
		OnUpload: func(u sftpserver.Upload) { b.uploads <- u },
		// The audit log: logins, uploads, refusals.
		Logger: log,
	})
	if err != nil {
		return nil, err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		b.server.Close()
		return nil, err
	}
	b.addr = ln.Addr().String()
	go b.server.Serve(ln) // returns ErrServerClosed once closed
	return b, nil
}

package sftpserver_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/sftpserver"
)

// The product runs the drop box; its customer Acme uploads users.csv; the
// upload triggers Acme's sync at once.
func Example() {
	dir, err := os.MkdirTemp("", "dropbox")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// The server's identity, kept across restarts.
	hostKey, err := sftpserver.LoadOrCreateHostKey(filepath.Join(dir, "host_ed25519"))
	if err != nil {
		log.Fatal(err)
	}
	// Acme's folder and login. Its administrator gave the product an SSH
	// public key; a password would go through sftpserver.HashPassword.
	acmeKey := newKey()
	acmeRoot := filepath.Join(dir, "tenants", "acme")
	if err := os.MkdirAll(acmeRoot, 0o750); err != nil {
		log.Fatal(err)
	}
	var tenants sftpserver.MemTenants
	if err := tenants.Set("acme", sftpserver.Tenant{
		ID: "acme", Root: acmeRoot, AuthorizedKeys: []ssh.PublicKey{acmeKey.PublicKey()},
	}); err != nil {
		log.Fatal(err)
	}

	// Acme's sync: the files in its folder, taken as soon as they are
	// there, since the drop box only shows complete uploads.
	files, err := sftpserver.NewSource(acmeRoot)
	if err != nil {
		log.Fatal(err)
	}
	picker, err := source.Pickup(files, &source.PickupOptions{Pattern: "users*.csv", MinAge: -1, AfterSuccess: source.Delete})
	if err != nil {
		log.Fatal(err)
	}
	defer picker.Close()
	mapper, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Role: csvmap.Key}, {Name: "email", Kind: csvmap.Email, Required: true},
	}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	directory := memsink.New()
	acmeSync := &usersync.Pipeline{Source: picker, Mapper: mapper, Reconciler: reconcile.New(nil), Sink: directory}

	// OnUpload must not hold up the client: it hands the upload to the
	// goroutine that runs the syncs.
	uploads := make(chan sftpserver.Upload, 16)
	synced := make(chan struct{})
	go func() {
		defer close(synced)
		for u := range uploads {
			fmt.Printf("%s uploaded %s (%d bytes)\n", u.TenantID, u.Name, u.Size)
			res, err := acmeSync.Run(context.Background())
			if err != nil {
				log.Fatal(err)
			}
			fmt.Printf("sync: %d users created\n", res.Applied.Created)
		}
	}()

	srv, err := sftpserver.New(sftpserver.Config{HostKeys: []ssh.Signer{hostKey}, Tenants: &tenants}, &sftpserver.Options{
		OnUpload: func(u sftpserver.Upload) { uploads <- u },
		Logger:   slog.New(slog.DiscardHandler), // the audit log; give it the product's logger
	})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // in production: srv.ListenAndServe(ctx, ":22")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(ln)

	// Acme's HR system uploads its nightly export.
	if err := upload(ln.Addr().String(), hostKey.PublicKey(), acmeKey, "users.csv",
		"id,email\n1,ann@acme.example\n2,bob@acme.example\n"); err != nil {
		log.Fatal(err)
	}

	if err := srv.Shutdown(context.Background()); err != nil {
		log.Fatal(err)
	}
	close(uploads)
	<-synced
	// Output:
	// acme uploaded users.csv (47 bytes)
	// sync: 2 users created
}

// upload plays the customer's part: log in as acme, verifying the host
// key, and upload one file.
func upload(addr string, hostKey ssh.PublicKey, key ssh.Signer, name, content string) error {
	conn, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User: "acme", Auth: []ssh.AuthMethod{ssh.PublicKeys(key)}, HostKeyCallback: ssh.FixedHostKey(hostKey),
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	c, err := sftp.NewClient(conn)
	if err != nil {
		return err
	}
	defer c.Close()
	f, err := c.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write([]byte(content)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func newKey() ssh.Signer {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		log.Fatal(err)
	}
	return s
}

// A host rotating a tenant's password: the new one is added, the customer
// switches over, the old one is revoked, and sessions still open with it
// are ended.
func ExampleMemTenants() {
	var tenants sftpserver.MemTenants
	oldHash, _ := sftpserver.HashPassword("old secret")
	if err := tenants.Set("acme", sftpserver.Tenant{ID: "acme", Root: "/srv/dropbox/acme", PasswordHashes: []string{oldHash}}); err != nil {
		log.Fatal(err)
	}
	newHash, _ := sftpserver.HashPassword("new secret")
	if err := tenants.AddPassword("acme", newHash); err != nil {
		log.Fatal(err)
	}
	// ... later, once Acme uses the new password:
	if err := tenants.RevokePassword("acme", oldHash); err != nil {
		log.Fatal(err)
	}
	// srv.Disconnect("acme") ends the sessions opened with the old one.
	t, _ := tenants.Lookup(context.Background(), "acme")
	fmt.Println(len(t.PasswordHashes), "password")
	// Output: 1 password
}

// A customer says from which addresses it connects; its user may log in
// from those only, from the next login on.
func ExampleMemTenants_SetAllowedNetworks() {
	var tenants sftpserver.MemTenants
	if err := tenants.Set("acme-upload", sftpserver.Tenant{ID: "acme", Root: os.TempDir()}); err != nil {
		panic(err)
	}
	err := tenants.SetAllowedNetworks("acme-upload",
		netip.MustParsePrefix("203.0.113.7/32"), netip.MustParsePrefix("198.51.100.0/24"))
	if err != nil {
		panic(err)
	}
	t, _ := tenants.Lookup(context.Background(), "acme-upload")
	fmt.Println(t.AllowedNetworks)
	// Output:
	// [203.0.113.7/32 198.51.100.0/24]
}

// Command sftpscim bridges an SFTP drop box to a SCIM 2.0 application:
// Acme uploads its users as CSV (Cosafe's columns) over SFTP; usersync
// reads the file, maps it, plans the changes against the users the SCIM
// service holds, and applies them through sink/scimsink, printing the
// report. The SCIM service is an in-process one (internal/scimtest, with
// Bulk, ETags and a bearer token) holding a user an administrator added by
// hand; in production it is the application's SCIM base URL and token.
//
//	go run ./examples/sftpscim
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/internal/scimtest"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/sink/scimsink"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/sftpserver"
)

// Two nights of Acme's export.
const (
	night1 = "UniqueID,Name,Mail,Title,TelephoneNumber,Groups\n" +
		"EMP-000101,Anna Lindqvist,anna@acme.example,Head Nurse,+46 70 111 11 11,Scranton branch\n" +
		"EMP-000102,Björn Sandberg,bjorn@acme.example,Nurse,,Scranton branch\n" +
		"EMP-000103,Carla Jensen,carla@acme.example,Receptionist,,Akron Branch\n"
	// Night 2: Carla is promoted, Björn left, Hanna is new.
	night2 = "UniqueID,Name,Mail,Title,TelephoneNumber,Groups\n" +
		"EMP-000101,Anna Lindqvist,anna@acme.example,Head Nurse,+46 70 111 11 11,Scranton branch\n" +
		"EMP-000103,Carla Jensen,carla@acme.example,Office Manager,,\"Akron Branch,Scranton branch\"\n" +
		"EMP-000109,Hanna Ek,hanna@acme.example,Nurse,,Akron Branch\n"
)

func main() {
	dir, err := os.MkdirTemp("", "usersync-sftpscim-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sftpscim:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	if err := run(context.Background(), os.Stdout, dir); err != nil {
		fmt.Fprintln(os.Stderr, "sftpscim:", err)
		os.Exit(1)
	}
}

// run syncs two nights of uploads into the SCIM service, writing the
// reports and the service's users to out.
func run(ctx context.Context, out io.Writer, dir string) error {
	const token = "scim-token-from-the-application" // never logged
	scim, err := scimtest.Start(&scimtest.Options{Bulk: true, ETags: true, Token: token})
	if err != nil {
		return err
	}
	defer scim.Close()
	// An administrator added a consultant by hand: no externalId.
	scim.PutUser("", map[string]any{"userName": "ines.vidal@partner.example", "displayName": "Ines Vidal", "active": true})

	box, err := startDropBox(ctx, dir)
	if err != nil {
		return err
	}
	defer box.server.Close()

	sink, err := scimsink.New(ctx, scim.URL, &scimsink.Options{
		Token:      token,
		Attributes: scimsink.CosafeAttributes(),
		UserName:   "email", // the application signs users in by email
	})
	if err != nil {
		return err
	}
	folder, err := sftpserver.NewSource(box.root)
	if err != nil {
		return err
	}
	files, err := source.Pickup(folder, &source.PickupOptions{
		Pattern: "users*.csv", MinAge: -1, AfterSuccess: source.Archive, Store: &usersync.MemStore{},
	})
	if err != nil {
		folder.Close()
		return err
	}
	defer files.Close()
	mapper, err := csvmap.New(csvmap.Cosafe(), nil)
	if err != nil {
		return err
	}
	p := &usersync.Pipeline{
		Source: files, Mapper: mapper, Reconciler: reconcile.New(nil), Sink: sink,
		Reporter: report.Text(out),
	}
	fmt.Fprintf(out, "Drop box  sftp://acme@%s\nSCIM      %s (Bulk: %v, usersync extension: %v)\n", box.addr, scim.URL, sink.Bulk(), sink.Extension())
	for night, csv := range []string{night1, night2} {
		fmt.Fprintf(out, "\n=== Night %d\n\n", night+1)
		if err := box.upload("users.csv", []byte(csv)); err != nil {
			return err
		}
		<-box.uploads
		if _, err := p.Run(ctx); err != nil {
			return err
		}
		if err := printUsers(ctx, out, sink); err != nil {
			return err
		}
	}
	return nil
}

// printUsers lists the SCIM service's users as the sync sees them.
func printUsers(ctx context.Context, out io.Writer, sink *scimsink.Sink) error {
	var lines []string
	for u, err := range sink.Users(ctx) {
		if err != nil {
			return err
		}
		state, by := "active", "by the sync"
		if u.Inactive {
			state = "inactive"
		}
		if !u.Managed {
			by = "by hand"
		}
		lines = append(lines, fmt.Sprintf("  %-28s %-16s %-15s %-8s %-11s %s", u.Key, u.Attrs.Value("name"), u.Attrs.Value("title"),
			state, by, strings.Join(u.Groups, ", ")))
	}
	slices.Sort(lines)
	fmt.Fprintf(out, "\nSCIM users:\n%s\n", strings.Join(lines, "\n"))
	return nil
}

// dropBox is the product's SFTP drop box, with Acme's folder.
type dropBox struct {
	server   *sftpserver.Server
	addr     string
	hostKey  ssh.PublicKey
	root     string
	password string
	uploads  chan sftpserver.Upload
}

func startDropBox(ctx context.Context, dir string) (*dropBox, error) {
	hostKey, err := sftpserver.LoadOrCreateHostKey(filepath.Join(dir, "ssh_host_ed25519_key"))
	if err != nil {
		return nil, err
	}
	b := &dropBox{hostKey: hostKey.PublicKey(), root: filepath.Join(dir, "dropbox", "acme"), password: rand.Text(),
		uploads: make(chan sftpserver.Upload, 4)}
	if err := os.MkdirAll(b.root, 0o700); err != nil {
		return nil, err
	}
	hash, err := sftpserver.HashPassword(b.password)
	if err != nil {
		return nil, err
	}
	tenants := &sftpserver.MemTenants{}
	if err := tenants.Set("acme", sftpserver.Tenant{ID: "acme", Root: b.root, PasswordHashes: []string{hash}}); err != nil {
		return nil, err
	}
	b.server, err = sftpserver.New(sftpserver.Config{HostKeys: []ssh.Signer{hostKey}, Tenants: tenants}, &sftpserver.Options{
		OnUpload: func(u sftpserver.Upload) { b.uploads <- u },
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
	go b.server.Serve(ln)
	return b, nil
}

// upload sends a file as Acme's export job does.
func (b *dropBox) upload(name string, data []byte) error {
	conn, err := ssh.Dial("tcp", b.addr, &ssh.ClientConfig{
		User: "acme", Auth: []ssh.AuthMethod{ssh.Password(b.password)},
		HostKeyCallback: ssh.FixedHostKey(b.hostKey), Timeout: 30 * time.Second,
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
	f, err := client.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

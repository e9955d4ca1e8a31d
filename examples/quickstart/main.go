// Command quickstart runs two nightly directory syncs end to end, with
// nothing to install and nothing on the network but 127.0.0.1:
//
//	go run ./examples/quickstart         # everything is removed at the end
//	go run ./examples/quickstart -keep   # keep the SQLite database and the emails
//
// The product runs an SFTP drop box (here an in-process server on
// 127.0.0.1) and gives its customer, Acme, a PGP public key. Each night
// Acme's HR system exports its users the way Excel's "Unicode text" does
// (UTF-16LE with a byte order mark, semicolon-separated, Cosafe's columns),
// encrypts the file to that key and uploads it as users.csv.pgp.
//
// The sync connects to the drop box verifying its host key, picks the file
// up, decrypts it, maps it, reconciles it with the product's directory in
// an SQLite database, applies the changes, prints the summary, renders the
// summary email to a file, and archives the file on the server.
//
// Night 1 creates eight users and two groups. Night 2 updates a title and a
// membership, creates a new hire, deactivates the user who left, and rejects
// a row with a bad email, naming its file and line, without deactivating
// that user. A consultant an administrator added by hand is never touched.
//
// run below is the whole integration; customer.go plays the customer's
// part and directory.go prints the directory.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/decrypt/pgpdecrypt"
	"github.com/usersync/usersync/internal/sftptest"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/report/mailreport"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/sftpsource"
)

func main() {
	keep := flag.Bool("keep", false, "keep the SQLite database and the rendered emails, in the folder printed at the end")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := quickstart(ctx, os.Stdout, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// quickstart runs the syncs in a new temporary folder, and removes it
// unless keep is set.
func quickstart(ctx context.Context, out io.Writer, keep bool) error {
	dir, err := os.MkdirTemp("", "usersync-quickstart-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	if err := run(ctx, out, dir); err != nil {
		return err
	}
	if keep {
		fmt.Fprintf(out, "\nKept %s: users.db (try: sqlite3 %s 'SELECT key, attrs FROM usersync_users'), night-1.eml, night-2.eml\n",
			dir, filepath.Join(dir, "users.db"))
	} else {
		fmt.Fprintf(out, "\nRemoved %s; run with -keep to keep the database and the emails.\n", dir)
	}
	return nil
}

// run syncs two nights of Acme's files into an SQLite database in dir,
// writing the summaries to out and the emails to dir.
func run(ctx context.Context, out io.Writer, dir string) error {
	// The product's PGP key pair. Acme gets the public half; the private
	// half stays with the sync. (In production: pgpdecrypt.ReadKeys on the
	// keyring file gpg --export-secret-keys wrote, with its passphrase.)
	customer, privateKey, err := newPGPKey()
	if err != nil {
		return err
	}
	keys, err := pgpdecrypt.ReadKeys(privateKey, nil)
	if err != nil {
		return err
	}
	decryptor, err := pgpdecrypt.New(keys, nil)
	if err != nil {
		return err
	}

	// The drop box: an SFTP server on 127.0.0.1 with a fresh host key and
	// an account for Acme. The sync trusts only that host key, pinned by
	// its fingerprint, as it would a known_hosts entry.
	dropBox, err := sftptest.Start(&sftptest.Options{User: "acme", Password: randomPassword()})
	if err != nil {
		return err
	}
	defer dropBox.Close()
	sftp, err := sftpsource.Dial(ctx, sftpsource.Config{
		Addr:                dropBox.Addr,
		User:                dropBox.User(),
		Password:            dropBox.Password(),
		HostKeyFingerprints: []string{dropBox.Fingerprint()},
	}, nil)
	if err != nil {
		return err
	}
	defer sftp.Close()

	// The product's directory: SQLite tables for the tenant "acme", holding
	// a consultant an administrator added by hand.
	db, err := sqlite.Open(filepath.Join(dir, "users.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	directory, err := sqlsink.New(ctx, db, sqlsink.SQLite, &sqlsink.Options{Tenant: "acme"})
	if err != nil {
		return err
	}
	if err := addConsultantByHand(ctx, db); err != nil {
		return err
	}

	// Pickup: take users*.csv.pgp once its ".done" marker is there (an
	// upload in progress is never read), archive it after success, and
	// remember its hash in the directory's database so the same content is
	// never applied twice.
	files, err := source.Pickup(sftp, &source.PickupOptions{
		Pattern:      "users*.csv.pgp",
		DoneMarker:   ".done",
		AfterSuccess: source.Archive,
		Store:        directory.Store(),
	})
	if err != nil {
		return err
	}
	mapper, err := csvmap.New(csvmap.Cosafe(), nil) // Cosafe's columns; encoding and delimiter are detected
	if err != nil {
		return err
	}
	// The summary email, rendered to a file instead of sent: give New your
	// SMTP server and use the Mailer itself as a Reporter to send it.
	mailer, err := mailreport.New("smtp.product.example", "Product sync <sync@product.example>",
		[]mailreport.Recipient{{Address: "Acme IT <it@acme.example>"}}, nil)
	if err != nil {
		return err
	}

	night := 0
	p := usersync.Pipeline{
		Source:     files,
		Decryptor:  decryptor,
		Mapper:     mapper,
		Reconciler: reconcile.New(nil), // deactivate leavers; hold mass removals
		Sink:       directory,
		// One summary per run, rendered twice: as text and as an email.
		Reporter: report.Summarize(func(_ context.Context, s *report.Summary) error {
			if err := report.WriteText(out, s); err != nil {
				return err
			}
			return writeEmail(out, mailer, s, filepath.Join(dir, fmt.Sprintf("night-%d.eml", night)))
		}, &report.Options{Name: "Acme"}),
	}

	fmt.Fprintf(out, "Drop box   sftp://%s@%s, host key %s\n", dropBox.User(), dropBox.Addr, dropBox.Fingerprint())
	fmt.Fprintf(out, "PGP key    %s\n", keys[0])
	fmt.Fprintf(out, "Directory  %s\n", filepath.Join(dir, "users.db"))
	for i, sample := range []string{"day1.csv", "day2.csv"} {
		night = i + 1
		fmt.Fprintf(out, "\n=== Night %d: Acme uploads %s as users.csv.pgp (UTF-16LE, semicolons, PGP-encrypted)\n\n", night, sample)
		if err := upload(dropBox, sample, customer); err != nil {
			return err
		}
		// Rejected rows are not an error: the run succeeds for every good
		// row. A failed file, a held plan or a refused change is.
		if _, err := p.Run(ctx); err != nil {
			return err
		}
		if err := printDirectory(ctx, out, db); err != nil {
			return err
		}
		if err := printDropBox(out, dropBox); err != nil {
			return err
		}
	}
	return nil
}

// writeEmail renders the summary email Acme IT would get to the file at
// path.
func writeEmail(out io.Writer, m *mailreport.Mailer, s *report.Summary, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = cmp.Or(m.WriteMessage(f, s), f.Close())
	if err == nil {
		fmt.Fprintf(out, "\nThe summary email to it@acme.example is in %s\n", path)
	}
	return err
}

// Command quickstart runs two nightly directory syncs end to end, with
// nothing to install and nothing on the network but 127.0.0.1:
//
//	go run ./examples/quickstart         # everything is removed at the end
//	go run ./examples/quickstart -keep   # keep the database, the emails and the drop box
//	go run ./examples/quickstart -v      # and show the drop box's audit log
//
// The product runs an SFTP drop box (source/sftpserver, on 127.0.0.1 here)
// and gives its customer, Acme, an account, the server's host key and a
// PGP public key. Each night Acme's HR system exports its users the way
// Excel's "Unicode text" does (UTF-16LE with a byte order mark,
// semicolon-separated, Cosafe's columns), encrypts the file to that key,
// and uploads it as users.csv.pgp with an SFTP client that trusts only that
// host key.
//
// The drop box announces the complete upload, and the sync runs: it picks
// the file up, decrypts it, maps it, reconciles it with the product's
// directory in an SQLite database, applies the changes, prints the summary,
// renders the summary email to a file, and archives the file.
//
// Night 1 creates eight users and two groups. Night 2 updates a title and a
// membership, creates a new hire, deactivates the user who left, and rejects
// a row with a bad email, naming its file and line, without deactivating
// that user. A consultant an administrator added by hand is never touched.
//
// run below is the whole integration; dropbox.go starts the drop box,
// customer.go plays Acme's part, and directory.go is the product's own
// SQL. With -v, the drop box's audit log (logins, uploads) goes to stderr;
// without, only its warnings do.
package main

import (
	"cmp"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"

	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
	"golang.org/x/crypto/ssh"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/decrypt/pgpdecrypt"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/report/mailreport"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/sftpserver"
)

func main() {
	keep := flag.Bool("keep", false, "keep the SQLite database, the rendered emails and the drop box, in the folder printed at the end")
	verbose := flag.Bool("v", false, "show the drop box's audit log (logins, uploads) on stderr")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := quickstart(ctx, os.Stdout, auditLog(os.Stderr, *verbose), *keep); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// auditLog returns the drop box's logger: its audit log with verbose, and
// only its warnings otherwise, so that the story stays plain.
func auditLog(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// quickstart runs the syncs in a new temporary folder, and removes it
// unless keep is set. The drop box logs to log.
func quickstart(ctx context.Context, out io.Writer, log *slog.Logger, keep bool) error {
	dir, err := os.MkdirTemp("", "usersync-quickstart-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	if err := run(ctx, out, log, dir); err != nil {
		return err
	}
	if keep {
		fmt.Fprintf(out, "\nKept %s: users.db (try: sqlite3 %s 'SELECT key, attrs FROM usersync_users'),\n"+
			"night-1.eml and night-2.eml, and the drop box: its host key and Acme's folder, dropbox/acme\n", dir, filepath.Join(dir, "users.db"))
	} else {
		fmt.Fprintf(out, "\nRemoved %s; run with -keep to keep the database, the emails and the drop box.\n", dir)
	}
	return nil
}

// run syncs two nights of Acme's files into an SQLite database in dir,
// writing the summaries to out and the emails to dir; the drop box logs
// to log.
func run(ctx context.Context, out io.Writer, log *slog.Logger, dir string) error {
	decryptor, acmeEncryptsTo, err := newDecryptor()
	if err != nil {
		return err
	}
	db, directory, err := openDirectory(ctx, dir)
	if err != nil {
		return err
	}
	defer db.Close()
	box, err := startDropBox(ctx, dir, log)
	if err != nil {
		return err
	}
	defer box.server.Close()
	reporter, err := newReporter(out, dir)
	if err != nil {
		return err
	}
	p, err := newPipeline(box.acmeRoot, decryptor, directory, reporter)
	if err != nil {
		return err
	}
	defer p.Source.Close()

	fmt.Fprintf(out, "Acme uploads its nightly export to the product's SFTP drop box, sftp://acme@%s\n", box.addr)
	fmt.Fprintf(out, "(host key %s), and the sync applies it to the product's users,\n", ssh.FingerprintSHA256(box.hostKey))
	fmt.Fprintf(out, "kept in the SQLite database %s.\n", filepath.Join(dir, "users.db"))
	for night, sample := range []string{"day1.csv", "day2.csv"} {
		fmt.Fprintf(out, "\n=== Night %d: Acme's export (UTF-16LE, semicolons), PGP-encrypted, uploaded over SFTP\n\n", night+1)
		if err := upload(box, sample, acmeEncryptsTo); err != nil {
			return err
		}
		// The drop box announced the upload: a host calls its Runner's
		// Trigger from OnUpload; here the sync simply runs next.
		up := <-box.uploads
		fmt.Fprintf(out, "Uploaded %s: %d bytes, SHA-256 %s\n\n", up.Name, up.Size, up.SHA256)
		// Rejected rows are not an error: the run succeeds for every good
		// row. A failed file, a held plan or a refused change is.
		if _, err := p.Run(ctx); err != nil {
			return err
		}
		if err := printDirectory(ctx, out, db); err != nil {
			return err
		}
		if err := printDropBox(out, box.acmeRoot); err != nil {
			return err
		}
	}
	return nil
}

// newPipeline wires the sync of Acme's folder in the drop box into the
// directory.
func newPipeline(acmeRoot string, d usersync.Decryptor, directory *sqlsink.Sink, r usersync.Reporter) (*usersync.Pipeline, error) {
	folder, err := sftpserver.NewSource(acmeRoot)
	if err != nil {
		return nil, err
	}
	// Pickup archives each file after success, and remembers its hash in
	// the directory's database so the same content is never applied
	// twice. The drop box shows a file only once its upload is complete,
	// so there is no need to wait for files to age (MinAge).
	files, err := source.Pickup(folder, &source.PickupOptions{
		Pattern:      "users*.csv.pgp",
		MinAge:       -1,
		AfterSuccess: source.Archive,
		Store:        directory.Store(),
	})
	if err != nil {
		folder.Close()
		return nil, err
	}
	mapper, err := csvmap.New(csvmap.Cosafe(), nil) // Cosafe's columns; encoding and delimiter are detected
	if err != nil {
		files.Close()
		return nil, err
	}
	return &usersync.Pipeline{
		Source:     files,
		Decryptor:  d,
		Mapper:     mapper,
		Reconciler: reconcile.New(nil), // deactivate leavers; hold mass removals
		Sink:       directory,
		Reporter:   r,
	}, nil
}

// newDecryptor makes the product's throwaway PGP key pair, and returns a
// Decryptor with its private half and the public half for Acme. In
// production: pgpdecrypt.ReadKeys on the keyring gpg --export-secret-keys
// wrote, with its passphrase.
func newDecryptor() (*pgpdecrypt.Decryptor, openpgp.EntityList, error) {
	public, private, err := newPGPKey()
	if err != nil {
		return nil, nil, err
	}
	keys, err := pgpdecrypt.ReadKeys(private, nil)
	if err != nil {
		return nil, nil, err
	}
	d, err := pgpdecrypt.New(keys, nil)
	return d, public, err
}

// openDirectory opens the product's directory: SQLite tables for the
// tenant "acme", holding a consultant an administrator added by hand.
func openDirectory(ctx context.Context, dir string) (*sql.DB, *sqlsink.Sink, error) {
	db, err := sqlite.Open(filepath.Join(dir, "users.db"))
	if err != nil {
		return nil, nil, err
	}
	directory, err := sqlsink.New(ctx, db, sqlsink.SQLite, &sqlsink.Options{Tenant: "acme"})
	if err == nil {
		err = addConsultantByHand(ctx, db)
	}
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, directory, nil
}

// newReporter renders each run's summary twice: as text to out, and as the
// email Acme IT would get, to a file in dir. To send it instead, give
// mailreport.New your SMTP server and use the Mailer itself as a Reporter.
func newReporter(out io.Writer, dir string) (usersync.Reporter, error) {
	mailer, err := mailreport.New("smtp.product.example", "Product sync <sync@product.example>",
		[]mailreport.Recipient{{Address: "Acme IT <it@acme.example>"}}, nil)
	if err != nil {
		return nil, err
	}
	night := 0
	return report.Summarize(func(_ context.Context, s *report.Summary) error {
		night++
		if err := report.WriteText(out, s); err != nil {
			return err
		}
		return writeEmail(out, mailer, s, filepath.Join(dir, fmt.Sprintf("night-%d.eml", night)))
	}, &report.Options{Name: "Acme"}), nil
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

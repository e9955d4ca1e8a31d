// Command ftpspostgres is a reference integration: it pulls the customer's
// user file from their FTPS server, maps it with Cosafe's columns,
// reconciles it with the product's directory in PostgreSQL, applies the
// changes and prints the report.
//
//	export USERSYNC_FTP_PASSWORD=...        # secrets come from the environment only
//	export USERSYNC_POSTGRES_DSN=postgres://...
//	go run ./examples/ftpspostgres -host ftp.acme.example -user usersync \
//	    -file /imports/users.csv -ca acme-ca.pem -tenant acme
//
// The file is taken once it has not changed for a minute, archived on the
// server after success, and its hash is kept in PostgreSQL so the same
// content is never applied twice. A second sync of the same tenant waits
// for the first one's lock.
package main

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/ftpsource"
)

// settings are what an administrator fills in for one customer.
type settings struct {
	ftp     ftpsource.Config
	caFile  string // PEM file of the CA that signed the server's certificate
	minAge  time.Duration
	tenant  string
	dsn     string
	tables  string // table name prefix
	timeout time.Duration
}

func main() {
	var s settings
	var tlsMode string
	flag.StringVar(&s.ftp.Host, "host", "", "FTP server name, or host:port")
	flag.IntVar(&s.ftp.Port, "port", 0, "FTP port (default 21, or 990 with -tls implicit)")
	flag.StringVar(&s.ftp.User, "user", "", "FTP user")
	flag.StringVar(&s.ftp.File, "file", "/imports/users.csv", "absolute path of the user file on the server")
	flag.StringVar(&tlsMode, "tls", "explicit", "explicit (AUTH TLS), implicit (port 990) or plain (no TLS: password in clear)")
	flag.StringVar(&s.caFile, "ca", "", "PEM file of the server's CA (default: the system's roots)")
	pin := flag.String("pin", "", "SHA-256 fingerprint of the server's certificate, to trust a self-signed one")
	flag.DurationVar(&s.minAge, "min-age", time.Minute, "take the file once it has not changed for this long")
	flag.StringVar(&s.tenant, "tenant", "", "the customer, in the directory's tables")
	flag.StringVar(&s.tables, "tables", sqlsink.DefaultPrefix, "prefix of the directory's table names")
	flag.DurationVar(&s.timeout, "timeout", 10*time.Minute, "give up on the run after this long")
	flag.Parse()
	s.ftp.Password = os.Getenv("USERSYNC_FTP_PASSWORD")
	s.dsn = os.Getenv("USERSYNC_POSTGRES_DSN")
	if *pin != "" {
		s.ftp.CertificateSHA256 = []string{*pin}
	}
	var err error
	if s.ftp.TLS, err = parseTLSMode(tlsMode); err == nil {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		err = run(ctx, os.Stdout, s)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ftpspostgres:", err)
		os.Exit(1)
	}
}

func parseTLSMode(s string) (ftpsource.TLSMode, error) {
	for _, m := range []ftpsource.TLSMode{ftpsource.Explicit, ftpsource.Implicit, ftpsource.Plain} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("-tls %q: want explicit, implicit or plain", s)
}

// run syncs the customer's file into the directory once, and writes the
// report to out. A failed run is an error; rejected rows are not.
func run(ctx context.Context, out io.Writer, s settings) error {
	if s.dsn == "" {
		return errors.New("USERSYNC_POSTGRES_DSN is unset")
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if s.caFile != "" {
		pem, err := os.ReadFile(s.caFile)
		if err != nil {
			return err
		}
		s.ftp.RootCAs = x509.NewCertPool()
		if !s.ftp.RootCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s holds no PEM certificate", s.caFile)
		}
	}

	// The product's directory: the tenant's rows in PostgreSQL, and the
	// lock that keeps two syncs of one tenant apart.
	db, err := sql.Open("pgx", s.dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	directory, err := sqlsink.New(ctx, db, sqlsink.PostgreSQL, &sqlsink.Options{
		Tenant: s.tenant, Tables: sqlsink.Tables{Prefix: s.tables},
	})
	if err != nil {
		return err
	}
	lock, err := directory.Lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock(context.WithoutCancel(ctx))

	// The customer's file: FTPS, certificate verified, TLS session reused
	// on the data connection. Pickup waits for the upload to settle,
	// archives the file after success, and skips content already applied.
	ftp, err := ftpsource.Dial(ctx, s.ftp, nil)
	if err != nil {
		return err
	}
	files, err := source.Pickup(ftp, &source.PickupOptions{
		MinAge:       s.minAge,
		AfterSuccess: source.Archive,
		Store:        directory.Store(),
	})
	if err != nil {
		ftp.Close()
		return err
	}
	defer files.Close()

	mapper, err := csvmap.New(csvmap.Cosafe(), nil) // encoding and delimiter are detected
	if err != nil {
		return err
	}
	p := usersync.Pipeline{
		Source:     files,
		Mapper:     mapper,
		Reconciler: reconcile.New(nil), // deactivate leavers; hold mass removals for approval
		Sink:       directory,
		Reporter:   report.Text(out),
	}
	_, err = p.Run(ctx)
	return err
}

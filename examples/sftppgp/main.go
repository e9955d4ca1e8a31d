// Command sftppgp is a reference integration, shaped for production: one
// sync of a customer's PGP-encrypted user file from an SFTP server into the
// product's SQLite directory, with the summary emailed. Run it from cron or
// a systemd timer, once per customer:
//
//	export USERSYNC_SFTP_PASSWORD=... USERSYNC_PGP_PASSPHRASE=... USERSYNC_SMTP_PASSWORD=...
//	sftppgp -sftp-addr sftp.acme.example -sftp-user product -sftp-folder outgoing \
//	    -pgp-key /etc/product/sync.sec.asc -pgp-signer /etc/product/acme.pub.asc \
//	    -db /var/lib/product/users.db -tenant acme \
//	    -smtp smtp.product.example -smtp-user sync -mail-from sync@product.example \
//	    -mail-to hr@acme.example -mail-problems-to it@product.example
//
// Secrets come from the environment, never from flags, which any user of
// the machine can read in the process list: USERSYNC_SFTP_PASSWORD,
// USERSYNC_SFTP_KEY_PASSPHRASE, USERSYNC_PGP_PASSPHRASE and
// USERSYNC_SMTP_PASSWORD. They never appear in the logs nor in the emails.
//
// What it does, safely by default:
//
//   - connects to the SFTP server only if its host key is in known_hosts
//     (~/.ssh/known_hosts unless -sftp-known-hosts) or pinned with
//     -sftp-host-key;
//   - takes the files matching -pattern once they have not changed for a
//     minute (or once their -done-marker is there), archives them on the
//     server after success, and moves one that cannot be read (a missing
//     column, no good row) to "failed"; the content it applied is
//     remembered in the database, so a file delivered twice is not applied
//     twice;
//   - decrypts them with the product's key, requiring the customer's
//     signature with -pgp-signer, and acts on nothing that failed its
//     integrity check;
//   - maps Cosafe's columns (csvmap.Cosafe), whatever the encoding and
//     delimiter, and rejects bad rows by file and line;
//   - holds the plan instead of applying it if it would deactivate or
//     delete too many users, and takes the tenant's lock so two syncs
//     never interleave;
//   - emails the summary to -mail-to after each run that read a file, and to
//     -mail-problems-to after the runs that need someone, over TLS.
//
// It exits with status 1 when the run failed, was held or partly failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/sftpsource"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		// The usage was printed.
	case err != nil:
		fmt.Fprintln(os.Stderr, "sftppgp:", err)
		os.Exit(1)
	}
}

// run parses args and the secrets in the environment, runs one sync,
// prints its summary to stdout and logs to stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	// Every log line of every part goes through one handler that redacts
	// the secrets, wherever an error message might quote them.
	logger := slog.New(report.RedactSecrets(slog.NewTextHandler(stderr, nil), cfg.secrets()...))
	mailer, err := cfg.mailer(logger)
	if err != nil {
		return err
	}
	// The summary of the run, emailed and printed for cron's log.
	reporter := report.Multi(mailer, report.Summarize(func(_ context.Context, s *report.Summary) error {
		return report.WriteText(stdout, s)
	}, cfg.summary()))

	started := time.Now()
	p, closeAll, err := setup(ctx, cfg, logger, reporter)
	if err != nil {
		// A sync that cannot start (a server that cannot be trusted or
		// reached, a key that does not unlock, another sync of the tenant
		// running) is reported as a failed run, so that the administrator
		// hears of it as of any other failure.
		now := time.Now()
		reporter.Report(ctx, usersync.Event{Kind: usersync.RunFinished, Time: now,
			Result: &usersync.Result{Status: usersync.Failed, Started: started, Finished: now, Err: err}})
		return err
	}
	defer closeAll()
	// Run returns an error for a failed, held or partly failed run; the
	// summary says why. An email that could not be sent never fails the
	// sync: the Mailer logs it.
	_, err = p.Run(ctx)
	return err
}

// setup connects the parts of the sync. closeAll releases them, in the
// reverse order; on error, setup has released them already.
func setup(ctx context.Context, cfg *config, logger *slog.Logger, reporter usersync.Reporter) (_ *usersync.Pipeline, _ func(), err error) {
	var closers []func()
	closeAll := func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()

	decryptor, err := cfg.decryptor()
	if err != nil {
		return nil, nil, err
	}
	db, err := sqlite.Open(cfg.db)
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, func() { db.Close() })
	directory, err := sqlsink.New(ctx, db, sqlsink.SQLite, &sqlsink.Options{Tenant: cfg.tenant})
	if err != nil {
		return nil, nil, err
	}
	lock, err := directory.Lock(ctx) // a *sqlsink.LockError if this tenant is syncing already
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, func() { lock.Unlock(context.WithoutCancel(ctx)) })

	// Dial fails at once, before sending any credential, if the server's
	// host key is unknown or changed; it retries a refused connection.
	sftp, err := sftpsource.Dial(ctx, cfg.sftp, &sftpsource.Options{Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, func() { sftp.Close() })
	files, err := source.Pickup(sftp, &source.PickupOptions{
		Pattern:      cfg.pattern,
		DoneMarker:   cfg.doneMarker,
		MaxFiles:     1, // each file is a full snapshot: never merge two
		AfterSuccess: source.Archive,
		ErrorFolder:  "failed",
		Store:        directory.Store(),
		Logger:       logger,
	})
	if err != nil {
		return nil, nil, err
	}
	mapper, err := csvmap.New(csvmap.Cosafe(), nil)
	if err != nil {
		return nil, nil, err
	}
	// A Watch alerts by email when no new file came for a day (it keeps
	// the date of the last one in the database) or a guard held the plan.
	watch := report.NewWatch(directory.Store(), reporter, &report.WatchOptions{Summary: cfg.summary()})

	return &usersync.Pipeline{
		Source:     files,
		Decryptor:  decryptor,
		Mapper:     mapper,
		Reconciler: reconcile.New(nil), // deactivate leavers; hold mass removals
		Sink:       directory,
		Reporter:   report.Multi(reporter, watch),
		DryRun:     cfg.dryRun,
	}, closeAll, nil
}

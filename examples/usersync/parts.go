package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver sqlsink's PostgreSQL dialect needs

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/decrypt"
	"github.com/usersync/usersync/decrypt/pgpdecrypt"
	"github.com/usersync/usersync/decrypt/unpack"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/report/history"
	"github.com/usersync/usersync/report/mailreport"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/dirsource"
	"github.com/usersync/usersync/source/sftpsource"
)

// This file turns the config into the library's parts. Each part is built
// the way a host program would build it; the command adds nothing to them.

// dbTimeout bounds opening the database and checking that it answers.
const dbTimeout = 30 * time.Second

// openDB opens the sink's database, creating an SQLite file if needed.
func (a *app) openDB(ctx context.Context) (*sql.DB, sqlsink.Dialect, error) {
	s := &a.cfg.Sink
	if s.SQLite != nil {
		p := string(s.SQLite.Path)
		if fi, err := os.Stat(filepath.Dir(p)); err != nil || !fi.IsDir() {
			return nil, 0, fmt.Errorf("sink.sqlite.path: the folder of %s does not exist", p)
		}
		db, err := sqlite.Open(p)
		return db, sqlsink.SQLite, err
	}
	db, err := sql.Open("pgx", s.Postgres.DSN.Value())
	if err != nil {
		return nil, 0, fmt.Errorf("sink.postgres: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, 0, fmt.Errorf("sink.postgres: %w", err)
	}
	return db, sqlsink.PostgreSQL, nil
}

func (a *app) sinkOptions(noMigrate bool) *sqlsink.Options {
	s := &a.cfg.Sink
	host, _ := os.Hostname()
	return &sqlsink.Options{
		Tenant:    s.Tenant,
		Tables:    sqlsink.Tables{Prefix: s.TablePrefix},
		NoMigrate: noMigrate,
		Holder:    fmt.Sprintf("usersync %s on %s (pid %d)", a.cmd, host, os.Getpid()),
		LockLease: s.LockLease.D(),
	}
}

// openSink opens the database and the Sink over it, creating the tables on
// first use.
func (a *app) openSink(ctx context.Context) (*sql.DB, *sqlsink.Sink, error) {
	db, d, err := a.openDB(ctx)
	if err != nil {
		return nil, nil, err
	}
	sink, err := sqlsink.New(ctx, db, d, a.sinkOptions(false))
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, sink, nil
}

// transport returns the Source the config's source section names, without
// the pickup rules. An SFTP source connects when first used, so that a
// server that is down fails the run, which is then reported like any other
// failure (by email, in the history), rather than the command.
func (a *app) transport(retries bool) (usersync.Source, error) {
	s := &a.cfg.Source
	switch {
	case s.SFTP != nil:
		cfg, opts := a.sftpConfig(retries)
		return newLazySource(cfg.String(), func(ctx context.Context) (usersync.Source, error) {
			return sftpsource.Dial(ctx, cfg, opts)
		}), nil
	case s.FTP != nil:
		return a.ftpSource(retries)
	}
	return dirsource.New(string(s.Local.Folder), &dirsource.Options{IncludeHidden: s.Local.IncludeHidden})
}

// sftpConfig returns the SFTP source's settings; without retries, for
// check, a server that is down is reported at once.
func (a *app) sftpConfig(retries bool) (sftpsource.Config, *sftpsource.Options) {
	s := a.cfg.Source.SFTP
	addr := s.Host
	if s.Port != 0 {
		addr = net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	}
	cfg := sftpsource.Config{
		Addr: addr, User: s.User, Folder: s.Folder,
		Password: s.Password.Value(), PrivateKey: s.PrivateKey(), Passphrase: []byte(s.Passphrase.Value()),
		KnownHostsFile: string(s.KnownHostsFile), HostKeyFingerprints: s.HostKeyFingerprints,
	}
	opts := &sftpsource.Options{
		ConnectTimeout: s.ConnectTimeout.D(), Timeout: s.Timeout.D(), KeepAlive: s.KeepAlive.D(),
		Concurrency: s.Concurrency, IncludeHidden: s.IncludeHidden, Logger: a.log,
	}
	if s.Retries != nil {
		opts.Retries = int(*s.Retries)
	}
	if !retries {
		opts.Retries = -1
	}
	return cfg, opts
}

// pickup wraps the transport with the config's pickup rules; store keeps
// which content was applied.
func (a *app) pickup(src usersync.Source, store usersync.Store) (*source.Picker, error) {
	s := &a.cfg.Source
	opts := &source.PickupOptions{
		Pattern:       s.Pattern,
		StableFor:     s.StableFor.D(),
		DoneMarker:    s.DoneMarker,
		MaxFiles:      s.MaxFiles,
		AfterSuccess:  s.AfterSuccess.V,
		ArchiveFolder: s.ArchiveFolder,
		ErrorFolder:   s.ErrorFolder,
		Store:         store,
		Logger:        a.log,
	}
	if s.MinAge != nil {
		opts.MinAge = s.MinAge.D()
		if opts.MinAge == 0 {
			opts.MinAge = -1 // "min_age: 0" takes files of any age; the library's 0 is its default
		}
	}
	return source.Pickup(src, opts)
}

// decryptor returns the config's Decryptor, or nil when files are
// plaintext.
func (a *app) decryptor() (usersync.Decryptor, error) {
	if a.cfg.Decrypt == nil {
		return nil, nil
	}
	p := a.cfg.Decrypt.PGP
	var keys []*pgpdecrypt.Key
	for i := range p.Keys {
		k := &p.Keys[i]
		ks, err := pgpdecrypt.ReadKeys(bytes.NewReader(k.Data()), []byte(k.Passphrase.Value()))
		if err != nil {
			return nil, fmt.Errorf("decrypt.pgp.keys[%d] (%s): %w", i, k.File, err)
		}
		keys = append(keys, ks...)
	}
	opts := &pgpdecrypt.Options{
		AllowUnencrypted: p.AllowSignedOnly, MaxExpansion: int64(p.MaxExpansion),
		MaxPlaintext: int64(p.MaxPlaintext), ExpiryWarning: p.ExpiryWarning.D(),
	}
	for i, data := range p.SignerKeys() {
		ks, err := pgpdecrypt.ReadKeys(bytes.NewReader(data), nil)
		if err != nil {
			return nil, fmt.Errorf("decrypt.pgp.signers[%d] (%s): %w", i, p.Signers[i], err)
		}
		opts.Signers = append(opts.Signers, ks...)
	}
	d, err := pgpdecrypt.New(keys, opts)
	if err != nil {
		return nil, fmt.Errorf("decrypt.pgp: %w", err)
	}
	if !p.Encrypted.Optional {
		return d, nil
	}
	return decrypt.Chain(
		decrypt.BySuffix(d, ".pgp", ".gpg", ".asc"),
		decrypt.ByContent(d, pgpdecrypt.IsMessage),
	), nil
}

// unpacker returns the config's Unpacker: gzip and zip are opened unless
// the config turns them off, since a customer who sends users.csv.gz
// expects it to be read, and a plain file costs a look at four bytes.
func (a *app) unpacker() usersync.Unpacker {
	u := a.cfg.Unpack
	if u.Off {
		return nil
	}
	return unpack.New(&unpack.Options{MaxFiles: u.MaxFiles, MaxSize: int64(u.MaxSize), MaxRatio: u.MaxRatio, MaxDepth: u.MaxDepth})
}

// summaryOptions are the options of every summary the command makes.
func (a *app) summaryOptions() *report.Options {
	r := &a.cfg.Reports
	return &report.Options{Name: a.cfg.Name, MaxListed: r.MaxListed, Label: r.Label, Secrets: a.secrets,
		// watch saves a held plan as held-TIME-FINGERPRINT.json in
		// plans_dir; apply applies it if nothing changed since.
		ApproveCommand: fmt.Sprintf("usersync -c %s apply %s (the newest held plan)",
			a.configPath, filepath.Join(string(a.cfg.PlansDir), "held-*.json"))}
}

// mailer returns the config's Mailer, or nil when no email is configured.
func (a *app) mailer() (*mailreport.Mailer, error) {
	e := a.cfg.Reports.Email
	if e == nil {
		return nil, nil
	}
	to := make([]mailreport.Recipient, len(e.To))
	for i := range e.To {
		to[i] = e.To[i].Recipient()
	}
	opts := &mailreport.Options{
		Port: e.Port, TLS: e.TLS.V, Username: e.Username, Password: e.Password.Value(),
		Timeout: e.Timeout.D(), Summary: a.summaryOptions(), Logger: a.log,
		NoAttachments: e.Attachments != nil && !*e.Attachments,
	}
	if e.RootCAs() != nil {
		opts.TLSConfig = &tls.Config{RootCAs: e.RootCAs(), ServerName: e.Host, MinVersion: tls.VersionTLS12}
	}
	m, err := mailreport.New(e.Host, e.From, to, opts)
	if err != nil {
		return nil, fmt.Errorf("reports.email: %w", err)
	}
	return m, nil
}

// historyStore returns the run history the config keeps, or nil for none:
// by default a table in the sink's database.
func (a *app) historyStore(ctx context.Context, db *sql.DB) (history.Store, error) {
	h := a.cfg.Reports.History
	switch {
	case h != nil && h.Disabled:
		return nil, nil
	case h != nil && h.File != "":
		return history.NewFile(string(h.File)), nil
	}
	d := history.SQLite
	if a.cfg.Sink.Postgres != nil {
		d = history.PostgreSQL
	}
	var opts *history.SQLOptions
	if p := a.cfg.Sink.TablePrefix; p != "" {
		opts = &history.SQLOptions{Table: p + "history"}
	}
	return history.NewSQL(ctx, db, d, opts)
}

// staleWindow is how long the feed may go without a new file before an
// alert; "off" makes it longer than any feed will live.
func (a *app) staleWindow() time.Duration {
	r := &a.cfg.Reports
	switch {
	case r.StaleOff:
		return math.MaxInt64
	case r.StaleAfter != nil:
		return r.StaleAfter.D()
	}
	return report.DefaultWindow
}

// closeAll closes what fns opened, in reverse order, joining the errors.
type closers []func() error

func (c *closers) add(fn func() error) { *c = append(*c, fn) }

func (c closers) close() error {
	var errs []error
	for i := len(c) - 1; i >= 0; i-- {
		errs = append(errs, c[i]())
	}
	return errors.Join(errs...)
}

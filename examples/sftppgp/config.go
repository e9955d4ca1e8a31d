package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/usersync/usersync/decrypt/pgpdecrypt"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/report/mailreport"
	"github.com/usersync/usersync/source/sftpsource"
)

// config is what an administrator sets up for one customer.
type config struct {
	sftp                sftpsource.Config
	pattern, doneMarker string
	pgpKey, pgpSigner   string
	pgpPassphrase       string
	db, tenant          string
	dryRun              bool

	smtp, smtpUser, smtpPassword string
	smtpTLS, smtpCA              string
	from                         string
	to, problemsTo               []string
}

// The environment variables that hold the secrets.
const (
	envSFTPPassword   = "USERSYNC_SFTP_PASSWORD"
	envSFTPPassphrase = "USERSYNC_SFTP_KEY_PASSPHRASE"
	envPGPPassphrase  = "USERSYNC_PGP_PASSPHRASE"
	envSMTPPassword   = "USERSYNC_SMTP_PASSWORD"
)

// parseConfig reads the flags in args and the secrets from getenv.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("sftppgp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.sftp.Addr, "sftp-addr", "", "SFTP server, host or host:port (required)")
	fs.StringVar(&c.sftp.User, "sftp-user", "", "SFTP login name (required); the password is in "+envSFTPPassword)
	fs.StringVar(&c.sftp.Folder, "sftp-folder", "", "folder holding the files: relative to the login folder, or absolute")
	fs.StringVar(&c.sftp.KnownHostsFile, "sftp-known-hosts", "", "known_hosts file listing the server's key (default ~/.ssh/known_hosts)")
	hostKey := fs.String("sftp-host-key", "", "the server's key fingerprint (SHA256:..., as ssh-keygen -l prints it), instead of known_hosts")
	keyFile := fs.String("sftp-key", "", "private key file to log in with; its passphrase, if any, is in "+envSFTPPassphrase)
	fs.StringVar(&c.pattern, "pattern", "users*.csv.pgp", "the files to take, as path.Match matches names")
	fs.StringVar(&c.doneMarker, "done-marker", "", `suffix of the marker the sender uploads once a file is complete, such as ".done"`)
	fs.StringVar(&c.pgpKey, "pgp-key", "", "the product's private PGP keyring, as gpg --export-secret-keys writes it (required); its passphrase is in "+envPGPPassphrase)
	fs.StringVar(&c.pgpSigner, "pgp-signer", "", "the customer's public PGP key: every file must be signed with it")
	fs.StringVar(&c.db, "db", "users.db", "SQLite database of the product's directory")
	fs.StringVar(&c.tenant, "tenant", "", "the customer whose directory this is (required)")
	fs.BoolVar(&c.dryRun, "dry-run", false, "plan and report, but change nothing")
	fs.StringVar(&c.smtp, "smtp", "", "SMTP server, host or host:port (required); the password is in "+envSMTPPassword)
	fs.StringVar(&c.smtpUser, "smtp-user", "", "SMTP login name, if the server wants one")
	fs.StringVar(&c.smtpTLS, "smtp-tls", "starttls", "starttls (port 587), implicit (port 465), or none for a relay on this host (port 25)")
	fs.StringVar(&c.smtpCA, "smtp-ca", "", "PEM file of the CA certificates the SMTP server's certificate must chain to (default: the system's)")
	fs.StringVar(&c.from, "mail-from", "", "sender address (required)")
	to := fs.String("mail-to", "", "comma-separated addresses that get the summary of every run that read a file")
	problemsTo := fs.String("mail-problems-to", "", "comma-separated addresses that get only the runs that need someone, and stale-feed alerts")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.to, c.problemsTo = list(*to), list(*problemsTo)
	if err := c.required(); err != nil {
		return nil, err
	}

	c.sftp.Password = getenv(envSFTPPassword)
	c.pgpPassphrase = getenv(envPGPPassphrase)
	c.smtpPassword = getenv(envSMTPPassword)
	if *keyFile != "" {
		var err error
		if c.sftp.PrivateKey, err = os.ReadFile(*keyFile); err != nil {
			return nil, fmt.Errorf("-sftp-key: %w", err)
		}
		c.sftp.Passphrase = []byte(getenv(envSFTPPassphrase))
	}
	if *hostKey != "" {
		c.sftp.HostKeyFingerprints = []string{*hostKey}
	} else if c.sftp.KnownHostsFile == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("-sftp-known-hosts not given, and no home folder for ~/.ssh/known_hosts: %w", err)
		}
		c.sftp.KnownHostsFile = filepath.Join(home, ".ssh", "known_hosts")
	}
	return c, nil
}

// required names the required settings that are missing.
func (c *config) required() error {
	var missing []string
	for flag, v := range map[string]string{"-sftp-addr": c.sftp.Addr, "-sftp-user": c.sftp.User, "-pgp-key": c.pgpKey,
		"-tenant": c.tenant, "-smtp": c.smtp, "-mail-from": c.from} {
		if v == "" {
			missing = append(missing, flag)
		}
	}
	if len(c.to)+len(c.problemsTo) == 0 {
		missing = append(missing, "-mail-to or -mail-problems-to")
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("missing %s (see -help)", strings.Join(missing, ", "))
	}
	return nil
}

// secrets are the values no log line and no email may show.
func (c *config) secrets() []string {
	var s []string
	for _, v := range []string{c.sftp.Password, string(c.sftp.Passphrase), c.pgpPassphrase, c.smtpPassword} {
		if v != "" {
			s = append(s, v)
		}
	}
	return s
}

// decryptor reads the product's key and the customer's, if given.
func (c *config) decryptor() (*pgpdecrypt.Decryptor, error) {
	keys, err := readKeys("-pgp-key", c.pgpKey, c.pgpPassphrase)
	if err != nil {
		return nil, err
	}
	opts := &pgpdecrypt.Options{}
	if c.pgpSigner != "" {
		if opts.Signers, err = readKeys("-pgp-signer", c.pgpSigner, ""); err != nil {
			return nil, err
		}
	}
	return pgpdecrypt.New(keys, opts)
}

func readKeys(flag, path, passphrase string) ([]*pgpdecrypt.Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	defer f.Close()
	keys, err := pgpdecrypt.ReadKeys(f, []byte(passphrase)) // a wrong passphrase fails here, once
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	return keys, nil
}

// mailer sends the summaries: every one to -mail-to, the ones that need
// someone to -mail-problems-to.
func (c *config) mailer(logger *slog.Logger) (*mailreport.Mailer, error) {
	host, port, err := hostPort(c.smtp)
	if err != nil {
		return nil, fmt.Errorf("-smtp: %w", err)
	}
	opts := &mailreport.Options{Port: port, Username: c.smtpUser, Password: c.smtpPassword, Logger: logger,
		Summary: c.summary()}
	switch c.smtpTLS {
	case "starttls":
		opts.TLS = mailreport.StartTLS
	case "implicit":
		opts.TLS = mailreport.ImplicitTLS
	case "none":
		opts.TLS = mailreport.Plaintext
	default:
		return nil, fmt.Errorf("-smtp-tls %q: want starttls, implicit or none", c.smtpTLS)
	}
	if c.smtpCA != "" {
		pem, err := os.ReadFile(c.smtpCA)
		if err != nil {
			return nil, fmt.Errorf("-smtp-ca: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-smtp-ca %s: no PEM certificate in it", c.smtpCA)
		}
		opts.TLSConfig = &tls.Config{RootCAs: roots, ServerName: host, MinVersion: tls.VersionTLS12}
	}
	var to []mailreport.Recipient
	for _, a := range c.to {
		to = append(to, mailreport.Recipient{Address: a}) // OnDefault: every run that read a file
	}
	for _, a := range c.problemsTo {
		to = append(to, mailreport.Recipient{Address: a, On: mailreport.OnProblems})
	}
	return mailreport.New(host, c.from, to, opts)
}

// summary names the feed in every summary and keeps the secrets out.
func (c *config) summary() *report.Options {
	return &report.Options{Name: c.tenant, Secrets: c.secrets()}
}

// hostPort splits "host" or "host:port"; port 0 means the TLS mode's.
func hostPort(s string) (string, int, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) && ae.Err == "missing port in address" {
			return s, 0, nil
		}
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	return host, port, err
}

// list splits a comma-separated list, leaving out empty items.
func list(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

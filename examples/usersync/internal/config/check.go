package config

import (
	"crypto/x509"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/usersync/usersync/report/mailreport"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/ftpsource"
)

// The checks of each section: what YAML cannot say, such as "exactly one
// of local, sftp and ftp", and what the library would only find out when a
// run starts. Each names the key at fault.

func (s *Source) check(c *checker) {
	n := countSet(s.Local != nil, s.SFTP != nil, s.FTP != nil)
	switch {
	case n == 0:
		c.errorf("source", "give one of local, sftp and ftp")
	case n > 1:
		c.errorf("source", "give only one of local, sftp and ftp")
	}
	if s.Pattern != "" {
		if _, err := path.Match(s.Pattern, ""); err != nil {
			c.errorf("source.pattern", "%q is not a valid pattern: %v", s.Pattern, err)
		}
	}
	for key, folder := range map[string]string{"source.archive_folder": s.ArchiveFolder, "source.error_folder": s.ErrorFolder} {
		if folder != "" {
			if err := source.ValidName(folder); err != nil {
				c.errorf(key, "%q: want a subfolder name, relative to the source folder: %v", folder, err)
			}
		}
	}
	if s.MaxFiles < 0 {
		c.errorf("source.max_files", "must not be negative")
	}
	switch {
	case s.Local != nil:
		s.Local.check(c)
	case s.SFTP != nil:
		s.SFTP.check(c)
	case s.FTP != nil:
		s.FTP.check(c)
	}
}

func countSet(set ...bool) int {
	n := 0
	for _, b := range set {
		if b {
			n++
		}
	}
	return n
}

func (l *Local) check(c *checker) {
	if l.Folder == "" {
		c.errorf("source.local", "give the folder the files are delivered to (folder:)")
		return
	}
	fi, err := os.Stat(string(l.Folder))
	switch {
	case err != nil:
		c.fail("source.local.folder", err)
	case !fi.IsDir():
		c.errorf("source.local.folder", "%s is not a folder", l.Folder)
	}
}

func checkPort(c *checker, key string, port int) {
	if port < 0 || port > 65535 {
		c.errorf(key, "%d is not a TCP port (1-65535)", port)
	}
}

func (s *SFTP) check(c *checker) {
	const at = "source.sftp"
	if s.Host == "" {
		c.errorf(at, "give the server's host name (host:)")
	}
	if s.User == "" {
		c.errorf(at, "give the user name to log in with (user:)")
	}
	checkPort(c, at+".port", s.Port)
	// A literal password was refused already, naming what to do instead.
	if !s.Password.IsSet() && s.PrivateKeyFile == "" && !c.has(at+".password") {
		c.errorf(at, "give a password (password_env or password_file) or a private key (private_key_file)")
	}
	if s.Passphrase.IsSet() && s.PrivateKeyFile == "" {
		c.errorf(at+".passphrase", "a passphrase needs a private_key_file")
	}
	if s.PrivateKeyFile != "" {
		s.privateKey = c.readFile(at+".private_key_file", s.PrivateKeyFile, true)
	}
	if s.KnownHostsFile == "" && len(s.HostKeyFingerprints) == 0 {
		c.errorf(at, "the server's host key must be verified: give known_hosts_file or host_key_fingerprints "+
			"(ssh-keyscan HOST > known_hosts writes one; check it with the server's administrator)")
	}
	if s.KnownHostsFile != "" {
		if _, err := os.Stat(string(s.KnownHostsFile)); err != nil {
			c.fail(at+".known_hosts_file", err)
		}
	}
	for i, fp := range s.HostKeyFingerprints {
		if !strings.HasPrefix(fp, "SHA256:") {
			c.errorf(fmt.Sprintf("%s.host_key_fingerprints[%d]", at, i),
				"%q: want a SHA256 fingerprint as ssh-keygen -l prints it, SHA256:...", fp)
		}
	}
	checkRetries(c, at+".retries", s.Retries)
}

func checkRetries(c *checker, key string, r *Limit) {
	if r != nil && *r > 100 {
		c.errorf(key, "%d retries is too many: a server that is down stays down", *r)
	}
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

func (f *FTP) check(c *checker) {
	const at = "source.ftp"
	if f.Host == "" {
		c.errorf(at, "give the server's host name (host:)")
	}
	if f.User == "" {
		c.errorf(at, "give the user name to log in with (user:)")
	}
	checkPort(c, at+".port", f.Port)
	if !f.Password.IsSet() && !c.has(at+".password") {
		c.errorf(at, "give the password (password_env or password_file)")
	}
	if f.Folder != "" && f.File != "" {
		c.errorf(at, "give folder or file, not both")
	}
	if f.TLS.V == ftpsource.Plain && (f.CAFile != "" || len(f.CertSHA256) > 0) {
		c.errorf(at+".tls", "none sends no certificate to check; remove ca_file and cert_sha256 or use TLS")
	}
	if f.TLS.V == ftpsource.Plain {
		c.warnf("%s: source.ftp.tls is none: the password and the users' personal data cross the network unencrypted", c.d.file)
	}
	if f.CAFile != "" {
		f.rootCAs = readCAs(c, at+".ca_file", f.CAFile)
	}
	for i, h := range f.CertSHA256 {
		if !hexSHA256.MatchString(strings.ReplaceAll(strings.TrimPrefix(h, "SHA256:"), ":", "")) {
			c.errorf(fmt.Sprintf("%s.cert_sha256[%d]", at, i),
				"%q: want the certificate's SHA-256 in hex, as openssl x509 -noout -fingerprint -sha256 prints it", h)
		}
	}
	checkRetries(c, at+".retries", f.Retries)
}

// readCAs reads a PEM file of CA certificates.
func readCAs(c *checker, key string, p Path) *x509.CertPool {
	data := c.readFile(key, p, false)
	if data == nil {
		return nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		c.errorf(key, "%s holds no PEM certificate", p)
		return nil
	}
	return pool
}

func (d *Decrypt) check(c *checker) {
	if d.PGP == nil {
		c.errorf("decrypt", "give the decryption to use (pgp:)")
		return
	}
	p := d.PGP
	if len(p.Keys) == 0 {
		c.errorf("decrypt.pgp", "give the keyrings that decrypt the files (keys:)")
	}
	for i := range p.Keys {
		k := &p.Keys[i]
		at := fmt.Sprintf("decrypt.pgp.keys[%d]", i)
		if k.File == "" {
			c.errorf(at, "give the keyring file (file:), as gpg --export-secret-keys writes it")
			continue
		}
		k.data = c.readFile(at+".file", k.File, true)
	}
	for i, s := range p.Signers {
		p.signers = append(p.signers, c.readFile(fmt.Sprintf("decrypt.pgp.signers[%d]", i), s, false))
	}
	if p.AllowSignedOnly && len(p.Signers) == 0 {
		c.errorf("decrypt.pgp.allow_signed_only", "needs signers: a file that is only signed is checked by its signature alone")
	}
	if p.MaxExpansion < 0 {
		c.errorf("decrypt.pgp.max_expansion", "must not be negative")
	}
}

func (u *Unpack) check(c *checker) {
	for _, f := range []struct {
		key string
		neg bool
	}{
		{"unpack.max_files", u.MaxFiles < 0},
		{"unpack.max_size", u.MaxSize < 0},
		{"unpack.max_ratio", u.MaxRatio < 0},
		{"unpack.max_depth", u.MaxDepth < 0},
	} {
		if f.neg {
			c.errorf(f.key, "must not be negative")
		}
	}
}

func (s *Sink) check(c *checker) {
	switch countSet(s.SQLite != nil, s.Postgres != nil) {
	case 0:
		c.errorf("sink", "give one of sqlite and postgres")
	case 2:
		c.errorf("sink", "give only one of sqlite and postgres")
	}
	if s.SQLite != nil && s.SQLite.Path == "" {
		c.errorf("sink.sqlite", "give the database file (path:)")
	}
	if s.Postgres != nil {
		s.Postgres.check(c)
	}
	if s.BatchSize < 0 {
		c.errorf("sink.batch_size", "must not be negative")
	}
}

// keywordPassword finds a password in a keyword/value DSN.
var keywordPassword = regexp.MustCompile(`(?i)(^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S*)`)

// dsnPassword returns the password a DSN holds, or "".
func dsnPassword(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		pw, _ := u.User.Password()
		return pw
	}
	if m := keywordPassword.FindStringSubmatch(dsn); m != nil {
		return strings.Trim(m[2], "'")
	}
	return ""
}

func (p *Postgres) check(c *checker) {
	if !p.DSN.IsSet() {
		c.errorf("sink.postgres", "give the connection string: dsn_env, dsn_file, or dsn if it holds no password")
		return
	}
	if !p.DSN.literal {
		if pw := dsnPassword(p.DSN.Value()); pw != "" {
			if k := utf8.RuneCountInString(pw); k < MinSecretLength {
				c.errorf("sink.postgres", "the password in the connection string (%s) has %d characters, fewer than %d: "+
					"a secret so short is easily guessed, and cannot be kept out of messages without garbling ordinary words; use a longer one",
					p.DSN.from, k, MinSecretLength)
				return
			}
			c.d.secrets = append(c.d.secrets, pw) // it may show alone, in a driver's message
		}
		return
	}
	if keywordPassword.MatchString(p.DSN.Value()) || dsnPassword(p.DSN.Value()) != "" {
		c.errorf("sink.postgres.dsn", "the connection string holds a password, and secrets are never read from the config file: "+
			"move it to dsn_env or dsn_file, or to PGPASSWORD or a .pgpass file")
	}
}

func (r *Reports) check(c *checker) {
	if r.MaxListed < 0 {
		c.errorf("reports.max_listed", "must not be negative")
	}
	if r.StaleAfter != nil && *r.StaleAfter == 0 {
		r.StaleOff = true
	}
	if r.Email != nil {
		r.Email.check(c)
	}
	if r.History != nil && r.History.Disabled && r.History.File != "" {
		c.errorf("reports.history", "give file or disabled, not both")
	}
}

func (e *Email) check(c *checker) {
	const at = "reports.email"
	if e.Host == "" {
		c.errorf(at, "give the SMTP server's host name (host:)")
	}
	checkPort(c, at+".port", e.Port)
	if _, err := mail.ParseAddress(e.From); err != nil {
		c.errorf(at+".from", "want the sender's address, such as usersync@example.com: %v", err)
	}
	if len(e.To) == 0 {
		c.errorf(at, "give the recipients (to:)")
	}
	for i, r := range e.To {
		if _, err := mail.ParseAddress(r.Address); err != nil {
			c.errorf(fmt.Sprintf("%s.to[%d]", at, i), "%q is not an email address: %v", r.Address, err)
		}
	}
	if e.Password.IsSet() && e.Username == "" {
		c.errorf(at+".username", "a password needs a username")
	}
	if e.Username != "" && !e.Password.IsSet() && !c.has(at+".password") {
		c.errorf(at, "give the password of %s (password_env or password_file)", e.Username)
	}
	if e.TLS.V == mailreport.Plaintext && e.Username != "" {
		c.errorf(at+".tls", "none would send the password in the clear: use starttls or implicit")
	}
	if e.CAFile != "" {
		e.rootCAs = readCAs(c, at+".ca_file", e.CAFile)
	}
}

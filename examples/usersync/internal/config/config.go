package config

import (
	"crypto/x509"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/reconcile"
)

// Config is a usersync config file, decoded and checked. The YAML keys are
// those of the yaml tags; usersync.example.yaml documents each one.
type Config struct {
	// Name names the feed or customer in reports, emails and the history.
	Name string `yaml:"name"`
	// PlansDir is where run and watch save a plan a guard held, for an
	// administrator to review and apply; "plans" beside the config file by
	// default.
	PlansDir Path `yaml:"plans_dir"`
	// MemoryBudget is about how much memory a run may use whatever the
	// size of its files (usersync.Pipeline.MemoryBudget); 256MiB if unset.
	MemoryBudget Size `yaml:"memory_budget"`
	// TempDir is where a run spills records and keeps copies of remote
	// files while it checks them; the system's temporary folder if unset.
	TempDir Path `yaml:"temp_dir"`

	Source   Source    `yaml:"source"`
	Decrypt  *Decrypt  `yaml:"decrypt"`
	Unpack   Unpack    `yaml:"unpack"`
	Mapping  Mapping   `yaml:"mapping"`
	Policy   Policy    `yaml:"policy"`
	Sink     Sink      `yaml:"sink"`
	Reports  Reports   `yaml:"reports"`
	Schedule *Schedule `yaml:"schedule"`

	// File is the config file's name, as given to Load.
	File string `yaml:"-"`
	// Warnings are things an administrator should fix that do not stop
	// the config from working, such as a secret file others may read.
	Warnings []string `yaml:"-"`

	mapper  usersync.Mapper
	policy  *reconcile.Policy
	secrets []string
}

// Mapper returns the Mapper the mapping section describes.
func (c *Config) Mapper() usersync.Mapper { return c.mapper }

// ReconcilePolicy returns the reconcile.Policy the policy section
// describes; the caller may keep it, not change it.
func (c *Config) ReconcilePolicy() *reconcile.Policy { return c.policy }

// Secrets returns every secret the config read, for redaction from logs,
// reports and messages.
func (c *Config) Secrets() []string { return append([]string(nil), c.secrets...) }

// Source says where the files come from, and which of them to take.
type Source struct {
	Local *Local `yaml:"local"`
	SFTP  *SFTP  `yaml:"sftp"`
	FTP   *FTP   `yaml:"ftp"`

	// Pattern selects the files to take, as path.Match does; empty takes
	// every file.
	Pattern string `yaml:"pattern"`
	// MinAge is how long a file must go unmodified before it is taken;
	// 1m if unset, 0 takes files of any age.
	MinAge *Duration `yaml:"min_age"`
	// StableFor looks twice, this long apart, and takes only files that
	// did not change.
	StableFor Duration `yaml:"stable_for"`
	// DoneMarker is the suffix of the marker a sender uploads once a file
	// is complete, such as ".done".
	DoneMarker string `yaml:"done_marker"`
	// MaxFiles takes at most this many files per run, the oldest first.
	MaxFiles int `yaml:"max_files"`
	// AfterSuccess is what to do with a file once its content is in
	// effect: keep (the default), delete or archive.
	AfterSuccess AfterSuccess `yaml:"after_success"`
	// ArchiveFolder is the subfolder archive moves files to.
	ArchiveFolder string `yaml:"archive_folder"`
	// ErrorFolder is the subfolder a file whose content failed is moved to.
	ErrorFolder string `yaml:"error_folder"`
}

// Kind returns "local", "sftp" or "ftp".
func (s *Source) Kind() string {
	switch {
	case s.SFTP != nil:
		return "sftp"
	case s.FTP != nil:
		return "ftp"
	}
	return "local"
}

// Local is a folder on this machine.
type Local struct {
	Folder        Path `yaml:"folder"`
	IncludeHidden bool `yaml:"include_hidden"`
}

// SFTP is a folder on an SFTP server.
type SFTP struct {
	Host   string `yaml:"host"`
	Port   int    `yaml:"port"`
	User   string `yaml:"user"`
	Folder string `yaml:"folder"`

	Password       Secret `yaml:"password,secret"`
	PrivateKeyFile Path   `yaml:"private_key_file"`
	Passphrase     Secret `yaml:"passphrase,secret"`

	KnownHostsFile      Path     `yaml:"known_hosts_file"`
	HostKeyFingerprints []string `yaml:"host_key_fingerprints"`

	ConnectTimeout Duration `yaml:"connect_timeout"`
	Timeout        Duration `yaml:"timeout"`
	KeepAlive      Duration `yaml:"keepalive"`
	Retries        *Limit   `yaml:"retries"`
	Concurrency    int      `yaml:"concurrency"`
	IncludeHidden  bool     `yaml:"include_hidden"`

	privateKey []byte
}

// PrivateKey returns the content of PrivateKeyFile.
func (s *SFTP) PrivateKey() []byte { return s.privateKey }

// FTP is a folder, or one file, on an FTP or FTPS server.
type FTP struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	User string `yaml:"user"`
	// Folder holds the files; File names one file instead, as in
	// SMARTFENSE's setup (/imports/users.csv).
	Folder string `yaml:"folder"`
	File   string `yaml:"file"`

	Password Secret `yaml:"password,secret"`

	// TLS is explicit (AUTH TLS, the default), implicit (port 990) or
	// none, which sends the password and the file in the clear.
	TLS FTPTLS `yaml:"tls"`
	// CAFile holds the certificates that may sign the server's, for a
	// server with a private CA; the system's roots by default.
	CAFile Path `yaml:"ca_file"`
	// CertSHA256 pins the server's certificate by the SHA-256 of its DER
	// form, in hex.
	CertSHA256 []string `yaml:"cert_sha256"`
	// ServerName is the name the certificate must carry, if not Host.
	ServerName string `yaml:"server_name"`

	ConnectTimeout Duration `yaml:"connect_timeout"`
	Timeout        Duration `yaml:"timeout"`
	Retries        *Limit   `yaml:"retries"`
	// MaxConnections bounds the connections open at once.
	MaxConnections int `yaml:"max_connections"`
	// DisableEPSV opens data connections with PASV only.
	DisableEPSV   bool `yaml:"disable_epsv"`
	IncludeHidden bool `yaml:"include_hidden"`

	rootCAs *x509.CertPool
}

// RootCAs returns the certificates of CAFile, or nil for the system's.
func (f *FTP) RootCAs() *x509.CertPool { return f.rootCAs }

// Decrypt says how files are decrypted.
type Decrypt struct {
	PGP *PGP `yaml:"pgp"`
}

// PGP decrypts OpenPGP files.
type PGP struct {
	// Keys are the keyrings that may decrypt, each with its passphrase:
	// more than one while a key is rotated.
	Keys []PGPKey `yaml:"keys"`
	// Signers are public keys one of which must sign every file.
	Signers []Path `yaml:"signers"`
	// Encrypted is required (every file must be encrypted; the default)
	// or optional (files named *.pgp, *.gpg or *.asc, or that look like
	// OpenPGP, are decrypted, others read as they are).
	Encrypted Encrypted `yaml:"encrypted"`
	// AllowSignedOnly accepts files that are signed but not encrypted; it
	// needs Signers.
	AllowSignedOnly bool `yaml:"allow_signed_only"`
	// MaxExpansion bounds the plaintext to this many times the file's
	// size, against decompression bombs.
	MaxExpansion int `yaml:"max_expansion"`
	// MaxPlaintext bounds any file's plaintext.
	MaxPlaintext Size `yaml:"max_plaintext"`
	// ExpiryWarning is how long before a key expires check warns.
	ExpiryWarning Duration `yaml:"expiry_warning"`

	signers [][]byte
}

// SignerKeys returns the content of the Signers files.
func (p *PGP) SignerKeys() [][]byte { return p.signers }

// PGPKey is a keyring file and its passphrase.
type PGPKey struct {
	File       Path   `yaml:"file"`
	Passphrase Secret `yaml:"passphrase,secret"`

	data []byte
}

// Data returns the content of File.
func (k *PGPKey) Data() []byte { return k.data }

// Unpack says how containers are opened: gzip files and zip archives are,
// within limits (see decrypt/unpack), unless Off. The zero value opens
// them with the library's default limits.
type Unpack struct {
	// Off reads every file as delivered.
	Off bool `yaml:"off"`
	// MaxFiles bounds the entries of a zip.
	MaxFiles int `yaml:"max_files"`
	// MaxSize bounds what a container holds, uncompressed.
	MaxSize Size `yaml:"max_size"`
	// MaxRatio bounds how many times larger than its compressed form a
	// content may be (compression bombs).
	MaxRatio int `yaml:"max_ratio"`
	// MaxDepth bounds how many containers a file may be in, one inside the
	// other: 1 refuses a zip in a zip.
	MaxDepth int `yaml:"max_depth"`
}

// Sink is the directory the users are synced into.
type Sink struct {
	SQLite   *SQLite   `yaml:"sqlite"`
	Postgres *Postgres `yaml:"postgres"`
	// Tenant is the customer whose rows the sync reads and writes.
	Tenant string `yaml:"tenant"`
	// TablePrefix starts the table names; "usersync_" by default.
	TablePrefix string `yaml:"table_prefix"`
	// BatchSize is how many changes are applied per transaction.
	BatchSize int `yaml:"batch_size"`
	// LockLease is how long a SQLite lock outlives a sync that died.
	LockLease Duration `yaml:"lock_lease"`
}

// SQLite is a database file.
type SQLite struct {
	Path Path `yaml:"path"`
}

// Postgres is a PostgreSQL database.
type Postgres struct {
	// DSN is a connection string or URL: from dsn_env or dsn_file, or
	// written in the config file as dsn if it holds no password.
	DSN Secret `yaml:"dsn,secret,literal"`
}

// Reports says who hears about each run, and what is kept.
type Reports struct {
	// Label names an attribute shown beside each user's key in reports,
	// such as "name"; keys only by default (reports travel by email).
	Label string `yaml:"label"`
	// MaxListed caps each list of a summary.
	MaxListed int `yaml:"max_listed"`
	// StaleAfter is how long the feed may go without a new file before
	// the email recipients of feed_stale hear of it: 26h by default,
	// "off" for never.
	StaleAfter *Duration `yaml:"stale_after"`
	StaleOff   bool      `yaml:"-"`

	Email   *Email   `yaml:"email"`
	History *History `yaml:"history"`
}

// Email sends the summary of each run, and alerts.
type Email struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// TLS is starttls (the default), implicit or none.
	TLS      MailTLS `yaml:"tls"`
	CAFile   Path    `yaml:"ca_file"`
	Username string  `yaml:"username"`
	Password Secret  `yaml:"password,secret"`
	From     string  `yaml:"from"`
	// To lists the recipients: an address, or an address with the topics
	// it receives.
	To          []Recipient `yaml:"to"`
	Attachments *bool       `yaml:"attachments"`
	Timeout     Duration    `yaml:"timeout"`

	rootCAs *x509.CertPool
}

// RootCAs returns the certificates of CAFile, or nil for the system's.
func (e *Email) RootCAs() *x509.CertPool { return e.rootCAs }

// History keeps a record of every run.
type History struct {
	// File keeps it in a JSON-lines file instead of the sink's database.
	File Path `yaml:"file"`
	// Disabled keeps no history.
	Disabled bool `yaml:"disabled"`
}

// Schedule says when watch runs a sync.
type Schedule struct {
	// Every runs at this interval.
	Every Duration `yaml:"every"`
	// Daily runs each day at these times of day, "00:15".
	Daily []ClockTime `yaml:"daily"`
	// Cron runs on a cron expression, "15 1 * * *".
	Cron string `yaml:"cron"`
	// TimeZone is the zone of Daily and Cron; the machine's by default.
	TimeZone *Location `yaml:"time_zone"`
	// OnNewFile runs as soon as a new or changed file is in the source,
	// looking every Poll.
	OnNewFile bool     `yaml:"on_new_file"`
	Poll      Duration `yaml:"poll"`
	// Jitter delays each scheduled run by a random time up to it.
	Jitter Duration `yaml:"jitter"`
	// Pause lists windows in which scheduled runs are skipped.
	Pause []Window `yaml:"pause"`
	// ShutdownTimeout bounds how long a run that is applying changes may
	// go on after watch is asked to stop.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
}

// Policy is what the sync may do to the directory.
type Policy struct {
	// Mode is snapshot (the files list every user; the default) or delta.
	Mode Mode `yaml:"mode"`
	// Match lists the keys that find a row's user, in order: "key", or an
	// attribute.
	Match []MatchKey `yaml:"match"`
	// Attributes says, per attribute, when the feed's value is written.
	Attributes map[string]AttrRule `yaml:"attributes"`
	// Absent is what happens to users missing from the feed: deactivate
	// (the default), delete or ignore.
	Absent Absent `yaml:"absent"`
	Grace  Grace  `yaml:"grace"`
	// Accounts link files to groups, one file per account.
	Accounts []Account `yaml:"accounts"`
	// CreateGroups creates the groups the feed names; true by default.
	CreateGroups *bool `yaml:"create_groups"`
	// Invite is manual (the default) or auto.
	Invite  Invite  `yaml:"invite"`
	Manager Manager `yaml:"manager"`
	Guards  Guards  `yaml:"guards"`
	// MaxWarnings bounds the warnings a plan lists.
	MaxWarnings int `yaml:"max_warnings"`
}

// MatchKey is a key that finds a row's user.
type MatchKey struct {
	// Attr names the attribute; "key" or empty for the record's key.
	Attr       string `yaml:"attr"`
	IgnoreCase bool   `yaml:"ignore_case"`
	Adopt      bool   `yaml:"adopt"`
}

// UnmarshalText takes the short form: an attribute name, or "key".
func (k *MatchKey) UnmarshalText(b []byte) error {
	*k = MatchKey{Attr: string(b)}
	return nil
}

// AttrRule says when one attribute is written.
type AttrRule struct {
	Write     Write `yaml:"write"`
	KeepEmpty bool  `yaml:"keep_empty"`
}

// Grace delays what Absent says.
type Grace struct {
	Runs       int      `yaml:"runs"`
	For        Duration `yaml:"for"`
	Deactivate bool     `yaml:"deactivate"`
}

// Account links files to a group.
type Account struct {
	File  string `yaml:"file"`
	Group string `yaml:"group"`
	Name  string `yaml:"name"`
}

// Manager says which attribute references a user's manager.
type Manager struct {
	Attr string   `yaml:"attr"`
	By   MatchKey `yaml:"by"`
}

// Guards hold a plan that would change too many users.
type Guards struct {
	Remove Guard `yaml:"remove"`
	Update Guard `yaml:"update"`
	Create Guard `yaml:"create"`
}

// Guard is one guard's limits; unset fields take the library's defaults.
type Guard struct {
	Percent       *Percent `yaml:"percent"`
	Max           *Limit   `yaml:"max"`
	MinPopulation *int     `yaml:"min_population"`
	Disabled      bool     `yaml:"disabled"`
}

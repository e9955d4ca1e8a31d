package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/decrypt/pgpdecrypt"
	"github.com/usersync/usersync/internal/sftptest"
	"github.com/usersync/usersync/internal/smtptest"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
	"github.com/usersync/usersync/source/sftpsource"
)

const (
	night1 = "UniqueID;Name;Mail;Title;Groups\r\n" +
		"EMP-000101;Anna Lindqvist;anna@acme.example;Head Nurse;Scranton branch\r\n" +
		"EMP-000102;Björn Sandberg;bjorn@acme.example;Nurse;Scranton branch\r\n" +
		"EMP-000103;Carla Jensen;carla@acme.example;Receptionist;Akron Branch\r\n"
	// Night 2: Carla is promoted, Björn left, Hanna is new, and Anna's row
	// has a bad email address.
	night2 = "UniqueID;Name;Mail;Title;Groups\r\n" +
		"EMP-000101;Anna Lindqvist;anna(at)acme.example;Head Nurse;Scranton branch\r\n" +
		"EMP-000103;Carla Jensen;carla@acme.example;Office Manager;Akron Branch\r\n" +
		"EMP-000109;Hanna Ek;hanna@acme.example;Nurse;Akron Branch\r\n"
)

// env is one customer's setup: an SFTP server that knows the product's SSH
// key, an SMTP server with a login, the product's PGP key and Acme's
// signing key, all written to files as an administrator would have them.
type env struct {
	t       *testing.T
	sftp    *sftptest.Server
	smtp    *smtptest.Server
	dir     string
	product openpgp.EntityList // the public half, which Acme encrypts to
	acme    *openpgp.Entity    // Acme's signing key
	args    []string
	secrets map[string]string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), secrets: map[string]string{
		envPGPPassphrase: rand.Text(), envSMTPPassword: rand.Text(),
	}}

	// The product logs in to Acme's SFTP server with an ed25519 key; the
	// server's key is in a known_hosts file. (TestOpenSSHAndGnuPG uses a
	// passphrase-protected key: its bcrypt rounds take seconds under the
	// race detector.)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "product sync")
	require.NoError(t, err)
	sshKey := e.write("id_ed25519", pem.EncodeToMemory(block))
	sshPub, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	e.sftp = sftptest.NewServer(t, &sftptest.Options{User: "product", Password: rand.Text(), AuthorizedKeys: []ssh.PublicKey{sshPub}})

	// The SMTP server wants a login over STARTTLS; its certificate is the
	// one CA the sync trusts.
	e.smtp = smtptest.Start(t, &smtptest.Options{Username: "sync", Password: e.secrets[envSMTPPassword]})

	pgpKey, acmePub := e.pgpKeys()
	e.args = []string{
		"-sftp-addr", e.sftp.Addr, "-sftp-user", "product", "-sftp-folder", "outgoing",
		"-sftp-known-hosts", e.sftp.KnownHosts(t), "-sftp-key", sshKey,
		"-pgp-key", pgpKey, "-pgp-signer", acmePub,
		"-db", filepath.Join(e.dir, "users.db"), "-tenant", "acme",
		"-smtp", e.smtp.Addr(), "-smtp-user", "sync", "-smtp-ca", e.write("smtp-ca.pem", e.smtp.CertificatePEM),
		"-mail-from", "Product sync <sync@product.example>",
		"-mail-to", "hr@acme.example", "-mail-problems-to", "it@product.example",
	}
	return e
}

func (e *env) write(name string, data []byte) string {
	p := filepath.Join(e.dir, name)
	require.NoError(e.t, os.WriteFile(p, data, 0o600))
	return p
}

// keyConfig makes Curve25519 keys, as gpg does by default, and fast.
func keyConfig() *packet.Config {
	return &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519}
}

// pgpKeys writes the product's passphrase-protected private key, as gpg
// --export-secret-keys --armor would, and Acme's public key.
func (e *env) pgpKeys() (productKey, acmeKey string) {
	product, err := openpgp.NewEntity("Product sync", "", "sync@product.example", keyConfig())
	require.NoError(e.t, err)
	e.acme, err = openpgp.NewEntity("Acme HR", "", "hr@acme.example", keyConfig())
	require.NoError(e.t, err)
	e.product = openpgp.EntityList{product}

	var acmePub bytes.Buffer
	w, err := armor.Encode(&acmePub, "PGP PUBLIC KEY BLOCK", nil)
	require.NoError(e.t, err)
	require.NoError(e.t, e.acme.Serialize(w))
	require.NoError(e.t, w.Close())

	var sec bytes.Buffer
	require.NoError(e.t, product.EncryptPrivateKeys([]byte(e.secrets[envPGPPassphrase]), nil))
	w, err = armor.Encode(&sec, "PGP PRIVATE KEY BLOCK", nil)
	require.NoError(e.t, err)
	require.NoError(e.t, product.SerializePrivateWithoutSigning(w, nil))
	require.NoError(e.t, w.Close())
	return e.write("product.sec.asc", sec.Bytes()), e.write("acme.pub.asc", acmePub.Bytes())
}

// upload puts a file as Acme's nightly job does: encrypted to the
// product's key, signed by signer, uploaded two minutes ago.
func (e *env) upload(name, csv string, signer *openpgp.Entity) {
	var buf bytes.Buffer
	w, err := openpgp.Encrypt(&buf, e.product, nil, []*openpgp.Entity{signer}, nil, nil)
	require.NoError(e.t, err)
	_, err = w.Write([]byte(csv))
	require.NoError(e.t, err)
	require.NoError(e.t, w.Close())
	require.NoError(e.t, e.sftp.Put("outgoing/"+name, buf.Bytes(), time.Now().Add(-2*time.Minute)))
}

// sync runs the command once and returns its stdout, stderr and error.
func (e *env) sync(extra ...string) (stdout, stderr string, err error) {
	var out, log bytes.Buffer
	err = run(e.t.Context(), append(e.args, extra...), func(k string) string { return e.secrets[k] }, &out, &log)
	e.t.Logf("stdout:\n%s\nstderr:\n%s", out.String(), log.String())
	for name, secret := range e.secrets {
		require.NotContains(e.t, out.String()+log.String(), secret, name)
		for _, m := range e.smtp.Messages() {
			require.NotContains(e.t, string(m.Data), secret, name)
		}
	}
	return out.String(), log.String(), err
}

// mails returns the messages received since the n first ones.
func (e *env) mailsAfter(n int) []smtptest.Message { return e.smtp.Messages()[n:] }

// users lists Acme's users in the database, by key.
func (e *env) users() map[string]usersync.Record {
	db, err := sqlite.Open(filepath.Join(e.dir, "users.db"))
	require.NoError(e.t, err)
	defer db.Close()
	return listUsers(e.t, db)
}

func listUsers(t *testing.T, db *sql.DB) map[string]usersync.Record {
	ctx := t.Context()
	s, err := sqlsink.New(ctx, db, sqlsink.SQLite, &sqlsink.Options{Tenant: "acme"})
	require.NoError(t, err)
	users := map[string]usersync.Record{}
	for u, err := range s.Users(ctx) {
		require.NoError(t, err)
		users[u.Key] = u
	}
	return users
}

func (e *env) serverFiles() []string {
	var names []string
	filepath.WalkDir(e.sftp.Dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(e.sftp.Dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return err
	})
	return names
}

func TestNightlySyncs(t *testing.T) {
	e := newEnv(t)

	// Night 1: three users arrive; the summary is printed and mailed to
	// HR (not to IT: nothing needs anyone), the file is archived.
	e.upload("users.csv.pgp", night1, e.acme)
	out, _, err := e.sync()
	require.NoError(t, err)
	assert.Contains(t, out, "usersync acme: succeeded — 3 created, 2 groups created")
	assert.Contains(t, out, "\n  users.csv.pgp: 3 records (UTF-8, semicolon)\n")
	mails := e.mailsAfter(0)
	require.Len(t, mails, 1)
	assert.Equal(t, []string{"hr@acme.example"}, mails[0].To)
	assert.True(t, mails[0].TLS)
	assert.Equal(t, "sync", mails[0].User)
	assert.Contains(t, string(mails[0].Data), "3_created")
	users := e.users()
	require.Len(t, users, 3)
	assert.Equal(t, "Receptionist", users["EMP-000103"].Attrs.Value("title"))
	assert.Equal(t, []string{"Scranton branch"}, users["EMP-000102"].Groups)
	files := e.serverFiles()
	require.Len(t, files, 1)
	assert.Regexp(t, `^outgoing/archive/.*users\.csv\.pgp$`, files[0])

	// The next run finds nothing new: nothing changes, nobody is mailed.
	out, _, err = e.sync()
	require.NoError(t, err)
	assert.Contains(t, out, "nothing to do")
	assert.Empty(t, e.mailsAfter(1))

	// Night 2: an update, a new hire, a leaver, and a rejected row whose
	// user is left as she is.
	e.upload("users.csv.pgp", night2, e.acme)
	out, _, err = e.sync()
	require.NoError(t, err)
	assert.Contains(t, out, "usersync acme: succeeded — 1 created, 1 updated, 1 deactivated, 1 rejected")
	assert.Contains(t, out, `users.csv.pgp:2: column Mail: "anna(at)acme.example": invalid email address`)
	require.Len(t, e.mailsAfter(1), 1)
	users = e.users()
	assert.Equal(t, "Office Manager", users["EMP-000103"].Attrs.Value("title"))
	assert.True(t, users["EMP-000102"].Inactive)
	assert.False(t, users["EMP-000101"].Inactive)
	assert.Contains(t, users, "EMP-000109")
}

// A file that Acme did not sign is not acted on: the run fails, HR and
// IT are told, and the file stays where it is for someone to look at.
func TestUnsignedFileFails(t *testing.T) {
	e := newEnv(t)
	intruder, err := openpgp.NewEntity("Intruder", "", "x@evil.example", keyConfig())
	require.NoError(t, err)
	e.upload("users.csv.pgp", night1, intruder)
	out, _, err := e.sync()
	require.ErrorIs(t, err, usersync.ErrIntegrity)
	assert.Contains(t, out, "usersync acme: failed")
	mails := e.mailsAfter(0)
	require.Len(t, mails, 1)
	assert.ElementsMatch(t, []string{"hr@acme.example", "it@product.example"}, mails[0].To)
	assert.Empty(t, e.users())
	files := e.serverFiles()
	require.Len(t, files, 1)
	assert.Equal(t, "outgoing/users.csv.pgp", files[0])
}

// A server whose host key is not the one on record is never logged in to;
// the failure is mailed like any other.
func TestUnknownServerIsReported(t *testing.T) {
	e := newEnv(t)
	other := sftptest.NewServer(t, nil)
	_, _, err := e.sync("-sftp-known-hosts", other.KnownHosts(t))
	require.ErrorIs(t, err, sftpsource.ErrHostKey)
	assert.Zero(t, e.sftp.Logins())
	mails := e.mailsAfter(0)
	require.Len(t, mails, 1)
	assert.Contains(t, string(mails[0].Data), "failed")
}

// A second sync of the tenant while one runs is turned away.
func TestOneSyncAtATime(t *testing.T) {
	e := newEnv(t)
	db, err := sqlite.Open(filepath.Join(e.dir, "users.db"))
	require.NoError(t, err)
	defer db.Close()
	s, err := sqlsink.New(t.Context(), db, sqlsink.SQLite, &sqlsink.Options{Tenant: "acme", Holder: "the other sync"})
	require.NoError(t, err)
	lock, err := s.Lock(t.Context())
	require.NoError(t, err)
	defer lock.Unlock(context.Background())
	_, _, err = e.sync()
	require.ErrorIs(t, err, sqlsink.ErrLocked)
	assert.Contains(t, err.Error(), "the other sync")
}

func TestConfigErrors(t *testing.T) {
	var log bytes.Buffer
	err := run(t.Context(), []string{"-sftp-addr", "x"}, func(string) string { return "" }, &log, &log)
	require.Error(t, err)
	assert.Equal(t, "missing -mail-from, -mail-to or -mail-problems-to, -pgp-key, -sftp-user, -smtp, -tenant (see -help)", err.Error())

	e := newEnv(t)
	e.secrets[envPGPPassphrase] = rand.Text() // not the one the key was protected with
	_, _, err = e.sync()
	require.Error(t, err)
	assert.ErrorIs(t, err, pgpdecrypt.ErrPassphrase)
	assert.True(t, strings.HasPrefix(err.Error(), "-pgp-key "), err)
}

// A server can be pinned by its key's fingerprint instead of known_hosts.
func TestPinnedHostKey(t *testing.T) {
	e := newEnv(t)
	i := slices.Index(e.args, "-sftp-known-hosts")
	e.args = slices.Delete(e.args, i, i+2)
	e.upload("users.csv.pgp", night1, e.acme)
	_, _, err := e.sync("-sftp-host-key", e.sftp.Fingerprint())
	require.NoError(t, err)
	assert.Len(t, e.users(), 3)

	other := sftptest.NewServer(t, nil)
	_, _, err = e.sync("-sftp-host-key", other.Fingerprint())
	require.ErrorIs(t, err, sftpsource.ErrHostKey)
}

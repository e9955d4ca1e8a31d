package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/report"
)

// The tests run the command as a user does: against a config file written
// for the test, a local folder or the in-process SFTP server, an SQLite file
// and the in-process SMTP server. Most run main's run function in process;
// binary_test.go runs the built binary.

// A fixture is a config file and the folders and variables it needs.
type fixture struct {
	t     *testing.T
	dir   string            // holds the config, the database, the plans
	inbox string            // the local source folder
	env   map[string]string // the environment the command sees

	knownHosts string // the SFTP server's known_hosts file, for sftpFixture

	// The config file's sections, as YAML; write puts them together.
	source, decrypt, mapping, policy, sink, reports, schedule, extra string
}

// newFixture returns a fixture with a local source, the Cosafe preset, an
// SQLite directory and a history in it; min_age 0, so that files written
// by the test are taken at once.
func newFixture(t *testing.T) *fixture {
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, inbox: filepath.Join(dir, "inbox"), env: map[string]string{}}
	require.NoError(t, os.Mkdir(f.inbox, 0o700))
	f.source = "source:\n  local:\n    folder: inbox\n  pattern: \"users*.csv\"\n  min_age: 0\n"
	f.mapping = "mapping:\n  preset: cosafe\n"
	f.sink = "sink:\n  sqlite:\n    path: users.db\n  tenant: acme\n"
	return f
}

// anyUsersFile makes the fixture's local source take every file named
// users*, whatever its extension: users.zip, users.csv.gz, users.xlsx.
func (f *fixture) anyUsersFile() {
	f.source = "source:\n  local:\n    folder: inbox\n  pattern: \"users*\"\n  min_age: 0\n"
}

// config returns the config file's text.
func (f *fixture) config() string {
	return "name: Acme\n" + f.source + f.decrypt + f.mapping + f.policy + f.sink + f.reports + f.schedule + f.extra
}

// path returns the config file's name, writing it first.
func (f *fixture) path() string {
	p := filepath.Join(f.dir, "usersync.yaml")
	require.NoError(f.t, os.WriteFile(p, []byte(f.config()), 0o600))
	return p
}

func (f *fixture) lookupEnv(k string) (string, bool) {
	v, ok := f.env[k]
	return v, ok
}

// A result is what one command did.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit code %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs the command in process, with the fixture's config and
// environment.
func (f *fixture) run(args ...string) result {
	f.t.Helper()
	return f.runContext(context.Background(), args...)
}

func (f *fixture) runContext(ctx context.Context, args ...string) result {
	f.t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(ctx, append([]string{"-c", f.path()}, args...), &stdout, &stderr, f.lookupEnv)
	return result{code, stdout.String(), stderr.String()}
}

// runBinary runs the built binary, with the fixture's config and only the
// fixture's environment.
func (f *fixture) runBinary(args ...string) result {
	f.t.Helper()
	cmd := exec.Command(binary, append([]string{"-c", f.path()}, args...)...)
	cmd.Env = []string{"HOME=" + f.dir}
	for k, v := range f.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		require.ErrorAs(f.t, err, &ee, "running %s", binary)
		code = ee.ExitCode()
	}
	return result{code, stdout.String(), stderr.String()}
}

// jsonOutput is the --json document as a script reads it: the field names
// are the documented ones, decoded independently of the command's types.
type jsonOutput struct {
	Command  string `json:"command"`
	Status   string `json:"status"`
	ExitCode int    `json:"exit_code"`
	Error    string `json:"error"`
	Errors   []struct {
		File    string `json:"file"`
		Line    int    `json:"line"`
		Key     string `json:"key"`
		Message string `json:"message"`
	} `json:"errors"`
	PlanFile string          `json:"plan_file"`
	Summary  *report.Summary `json:"summary"`
	Checks   []struct {
		Part    string   `json:"part"`
		Name    string   `json:"name"`
		Result  string   `json:"result"`
		Detail  string   `json:"detail"`
		Warning string   `json:"warning"`
		Error   string   `json:"error"`
		Preview *preview `json:"preview"`
	} `json:"checks"`
	Entries []struct {
		ID       string          `json:"id"`
		Summary  *report.Summary `json:"summary"`
		Outcome  string          `json:"outcome"`
		ExitCode int             `json:"exit_code"`
	} `json:"entries"`
	Warnings []string `json:"warnings"`
	Version  string   `json:"version"`
}

// decode decodes stdout as the one JSON document --json prints.
func (r result) decode(t *testing.T) jsonOutput {
	t.Helper()
	var out jsonOutput
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&out), "stdout is one JSON document:\n%s", r)
	require.False(t, dec.More(), "stdout holds more than one JSON document:\n%s", r)
	require.Equal(t, r.code, out.ExitCode, "exit_code is the exit code")
	return out
}

// users returns a Cosafe file of n users, numbered from first.
func users(first, n int) []byte {
	var b strings.Builder
	b.WriteString("UniqueID,Name,Mail,Title,TelephoneNumber,Groups\n")
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&b, "EMP-%06d,User %d,user%d@example.com,Nurse,+4670123%04d,Ward A\n", i, i, i, i)
	}
	return []byte(b.String())
}

// deliver writes a file into the inbox, an hour old, as an upload would.
func (f *fixture) deliver(name string, data []byte) {
	f.t.Helper()
	p := filepath.Join(f.inbox, name)
	require.NoError(f.t, os.WriteFile(p, data, 0o600))
	old := time.Now().Add(-time.Hour)
	require.NoError(f.t, os.Chtimes(p, old, old))
}

// pgpKey is a key pair made for a test, with its private key armored in a
// file protected by a passphrase.
type pgpKey struct {
	entity     *openpgp.Entity
	file       string
	passphrase string
}

// newPGPKey makes a Curve25519 key pair and writes its private key, locked
// with passphrase, to a file in dir.
func newPGPKey(t *testing.T, dir, name, passphrase string) *pgpKey {
	t.Helper()
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519}
	e, err := openpgp.NewEntity(name, "", strings.ToLower(name)+"@example.com", cfg)
	require.NoError(t, err)
	var plain bytes.Buffer // the entity stays unlocked, to encrypt with
	require.NoError(t, e.SerializePrivate(&plain, nil))
	locked, err := openpgp.ReadEntity(packet.NewReader(&plain))
	require.NoError(t, err)
	require.NoError(t, locked.EncryptPrivateKeys([]byte(passphrase), nil))
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	require.NoError(t, err)
	require.NoError(t, locked.SerializePrivateWithoutSigning(w, nil))
	require.NoError(t, w.Close())
	file := filepath.Join(dir, strings.ToLower(name)+".key.asc")
	require.NoError(t, os.WriteFile(file, buf.Bytes(), 0o600))
	return &pgpKey{entity: e, file: file, passphrase: passphrase}
}

// encrypt encrypts plaintext to the key.
func (k *pgpKey) encrypt(t *testing.T, plaintext []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := openpgp.Encrypt(&buf, []*openpgp.Entity{k.entity}, nil, nil, nil, nil)
	require.NoError(t, err)
	_, err = w.Write(plaintext)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

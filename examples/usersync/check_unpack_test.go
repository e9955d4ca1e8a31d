package main

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

// zipOf returns a zip of the files, in the order given (name, content,
// name, content, ...).
func zipOf(t *testing.T, files ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for i := 0; i < len(files); i += 2 {
		w, err := zw.Create(files[i])
		require.NoError(t, err)
		_, err = w.Write([]byte(files[i+1]))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return b.Bytes()
}

func gzipOf(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, err := w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

// assertNoUnpack checks that no step of out unpacked a container.
func assertNoUnpack(t *testing.T, out jsonOutput, why string) {
	t.Helper()
	for _, c := range out.Checks {
		assert.NotContains(t, c.Name, "unpack", why)
	}
}

// check opens containers as a run does: each file of a zip, and the content
// of a gzip file, is checked and previewed like a plain file, under the
// name a run gives it.
func TestCheckOpensContainers(t *testing.T) {
	f := newFixture(t)
	f.anyUsersFile()
	f.deliver("users.zip", zipOf(t, "users.csv", string(users(1, 3)), "more/users-2.csv", string(users(10, 2)),
		"__MACOSX/._users.csv", "junk"))
	f.deliver("users-b.csv.gz", gzipOf(t, users(20, 4)))

	r := f.run("check")
	require.Equal(t, exitOK, r.code, r)
	for _, want := range []string{
		"PASS  file        unpack users.zip: zip archive of 2 files: users.csv, more/users-2.csv; 1 left out (what macOS adds): __MACOSX/._users.csv",
		"PASS  mapping     header line of users.zip/users.csv:",
		`PASS  mapping     first row of users.zip/users.csv: maps: key "EMP-000001"`,
		`PASS  mapping     first row of users.zip/more/users-2.csv: maps: key "EMP-000010"`,
		"PASS  file        unpack users-b.csv.gz: gzip: its content is read as users-b.csv.gz",
		`PASS  mapping     first row of users-b.csv.gz: maps: key "EMP-000020"`,
	} {
		assert.Contains(t, r.stdout, want)
	}
	// The preview shows the members' mapped values.
	assert.Regexp(t, `(?m)^\s{18}EMP-000011\s+User 11\s+user11@example.com`, r.stdout)

	r = f.run("check", "--json")
	require.Equal(t, exitOK, r.code, r)
	out := r.decode(t)
	res, detail, _ := findStep(t, out, "mapping", "first row of users.zip/users.csv")
	assert.Equal(t, "pass", res)
	assert.Contains(t, detail, "the first 3 records as mapped")

	// And what a run then does with them.
	r = f.run("run")
	require.Equal(t, exitOK, r.code, r)
	assert.Equal(t, 9, countUsersIn(t, filepath.Join(f.dir, "users.db"), "managed"))
}

// With unpack.off, check reads a container as the run would, as it was
// delivered, and fails as the run would.
func TestCheckUnpackOff(t *testing.T) {
	f := newFixture(t)
	f.anyUsersFile()
	f.extra = "unpack:\n  off: true\n"
	f.deliver("users.zip", zipOf(t, "users.csv", string(users(1, 3))))
	r := f.run("check", "--json")
	require.Equal(t, exitCheck, r.code, r)
	out := r.decode(t)
	assertNoUnpack(t, out, "nothing is unpacked")
	res, _, _ := findStep(t, out, "mapping", "header line of users.zip")
	assert.Equal(t, "fail", res)
}

// check applies the run's limits: a zip over unpack.max_files fails the
// unpack step, and its files are not mapped.
func TestCheckUnpackLimits(t *testing.T) {
	f := newFixture(t)
	f.anyUsersFile()
	f.extra = "unpack:\n  max_files: 1\n"
	f.deliver("users.zip", zipOf(t, "users.csv", string(users(1, 3)), "users-2.csv", string(users(10, 2))))
	r := f.run("check", "--json")
	require.Equal(t, exitCheck, r.code, r)
	out := r.decode(t)
	res, _, problem := findStep(t, out, "file", "unpack users.zip")
	assert.Equal(t, "fail", res)
	assert.Contains(t, problem, "2 entries, over the limit of 1")
	res, _, _ = findStep(t, out, "mapping", "header line of users.zip")
	assert.Equal(t, "skip", res)

	// A damaged zip fails the same step.
	f = newFixture(t)
	f.anyUsersFile()
	z := zipOf(t, "users.csv", string(users(1, 3)))
	f.deliver("users.zip", z[:len(z)-30])
	r = f.run("check", "--json")
	require.Equal(t, exitCheck, r.code, r)
	res, _, problem = findStep(t, r.decode(t), "file", "unpack users.zip")
	assert.Equal(t, "fail", res)
	assert.Contains(t, problem, "integrity")
}

// A zip encrypted with PGP (users.zip.pgp) from an SFTP server: decrypted,
// then opened, as a run does; the zip is copied to the temporary folder,
// since it is not a local file.
func TestCheckEncryptedZipOverSFTP(t *testing.T) {
	f, srv := sftpFixture(t)
	key := newPGPKey(t, f.dir, "Acme", "passphrase")
	put(t, srv, "users.zip.pgp", key.encrypt(t, zipOf(t, "users.csv", string(users(1, 3)))))
	f.env["PGP_PASSPHRASE"] = key.passphrase
	f.decrypt = fmt.Sprintf("decrypt:\n  pgp:\n    keys:\n      - file: %s\n        passphrase_env: PGP_PASSPHRASE\n", key.file)
	tmp := filepath.Join(f.dir, "tmp")
	require.NoError(t, os.Mkdir(tmp, 0o700))
	f.extra = "temp_dir: " + tmp + "\n"

	r := f.run("check", "--json")
	require.Equal(t, exitOK, r.code, r)
	out := r.decode(t)
	res, detail, _ := findStep(t, out, "decryption", "decrypt users.zip.pgp")
	assert.Equal(t, "pass", res)
	assert.Contains(t, detail, "decrypts with")
	res, detail, _ = findStep(t, out, "file", "unpack users.zip.pgp")
	assert.Equal(t, "pass", res)
	assert.Contains(t, detail, "zip archive of 1 files: users.csv")
	res, detail, _ = findStep(t, out, "mapping", "first row of users.zip.pgp/users.csv")
	assert.Equal(t, "pass", res)
	assert.Contains(t, detail, `key "EMP-000001"`)
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, left, "the copy of the zip is removed")
}

// A OneRoster bundle sent as one zip is checked as a bundle: begun with the
// zip's files, read in the bundle's order.
func TestCheckOneRosterZip(t *testing.T) {
	dir := t.TempDir()
	bundle := "../../csvmap/oneroster/testdata/bulk-1.1"
	ents, err := os.ReadDir(bundle)
	require.NoError(t, err)
	var files []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(bundle, e.Name()))
		require.NoError(t, err)
		files = append(files, e.Name(), string(b))
	}
	f := newFixture(t)
	f.dir = dir
	f.inbox = filepath.Join(dir, "inbox")
	require.NoError(t, os.Mkdir(f.inbox, 0o700))
	f.source = "source:\n  local:\n    folder: inbox\n  min_age: 0\n"
	f.mapping = "mapping:\n  oneroster:\n    roles: [staff, students]\n"
	f.deliver("bundle.zip", zipOf(t, files...))

	r := f.run("check")
	require.Equal(t, exitOK, r.code, r)
	for _, want := range []string{
		"PASS  file        unpack bundle.zip: zip archive of",
		"file bundle.zip/manifest.csv of the bundle: 0 records",
		"file bundle.zip/classes.csv of the bundle: 0 records, 2 groups",
		"file bundle.zip/users.csv of the bundle: 4 records, 1 rows out of scope",
	} {
		assert.Contains(t, r.stdout, want)
	}
	r = f.run("run")
	require.Equal(t, exitOK, r.code, r)
}

// A workbook is a zip: check and run leave it whole for the mapping, which
// reads .xlsx, rather than unpacking its parts.
func TestWorkbookIsNotUnpacked(t *testing.T) {
	x := excelize.NewFile()
	for i, row := range [][]any{{"UniqueID", "Name", "Mail", "Title", "TelephoneNumber", "Groups"},
		{"EMP-000001", "User 1", "user1@example.com", "Nurse", "+46701230001", "Ward A"},
		{"EMP-000002", "User 2", "user2@example.com", "Nurse", "+46701230002", "Ward A"}} {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		require.NoError(t, err)
		require.NoError(t, x.SetSheetRow("Sheet1", cell, &row))
	}
	var b bytes.Buffer
	require.NoError(t, x.Write(&b))
	f := newFixture(t)
	f.anyUsersFile()
	f.deliver("users.xlsx", b.Bytes())

	r := f.run("check", "--json")
	require.Equal(t, exitOK, r.code, r)
	out := r.decode(t)
	assertNoUnpack(t, out, "a workbook is not unpacked")
	res, detail, _ := findStep(t, out, "mapping", "first row of users.xlsx")
	assert.Equal(t, "pass", res)
	assert.Contains(t, detail, `key "EMP-000001"`)

	r = f.run("run")
	require.Equal(t, exitOK, r.code, r)
	assert.Equal(t, 2, countUsersIn(t, filepath.Join(f.dir, "users.db"), "managed"))
}

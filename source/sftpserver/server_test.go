package sftpserver_test

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/usersync/usersync/source/sftpserver"
)

func TestUploadIsAnnouncedHashedAndAudited(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	c := ts.client(t, acme)

	data := randomBytes(3<<20 + 17) // many write requests in flight, out of order
	require.NoError(t, put(c, "users.csv", data))

	assert.Equal(t, data, readAll(t, filepath.Join(acme.root, "users.csv")))
	ups := ts.announced()
	require.Len(t, ups, 1)
	u := ups[0]
	assert.Equal(t, "acme", u.TenantID)
	assert.Equal(t, acme.user, u.User)
	assert.Equal(t, "users.csv", u.Name)
	assert.Equal(t, int64(len(data)), u.Size)
	assert.Equal(t, sha256Hex(data), u.SHA256)
	assert.Empty(t, u.RenamedFrom)
	assert.NotNil(t, u.Remote)
	assert.Empty(t, staged(t, acme), "nothing left in the staging folder")

	logins := ts.audit.events("login")
	require.Len(t, logins, 1)
	assert.Equal(t, "acme", logins[0]["tenant"])
	assert.Equal(t, "publickey", logins[0]["method"])
	assert.Equal(t, ssh.FingerprintSHA256(acme.key.PublicKey()), logins[0]["key"])
	uploads := ts.audit.events("upload")
	require.Len(t, uploads, 1)
	assert.Equal(t, map[string]string{
		"event": "upload", "tenant": "acme", "user": acme.user, "remote": logins[0]["remote"],
		"file": "users.csv", "bytes": "3145745", "sha256": sha256Hex(data), "duration": uploads[0]["duration"],
	}, uploads[0])
}

func TestPasswordLoginIsAuditedWithoutThePassword(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	require.NoError(t, ts.passwordLogin(acme.user, acme.password))
	require.Error(t, ts.passwordLogin(acme.user, "not-"+acme.password))

	require.Eventually(t, func() bool { return len(ts.audit.events("logout")) == 1 }, 5*time.Second, 10*time.Millisecond)
	logins := ts.audit.events("login")
	require.Len(t, logins, 1)
	assert.Equal(t, "password", logins[0]["method"])
	failed := ts.audit.events("login_failed")
	require.Len(t, failed, 1)
	assert.Equal(t, "wrong password", failed[0]["reason"])
	assert.Equal(t, "acme", failed[0]["tenant"])
	assert.NotContains(t, ts.audit.text(), acme.password)
}

func TestUploadInProgressIsInvisible(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	c := ts.client(t, acme)

	f, err := c.Create("users.csv")
	require.NoError(t, err)
	_, err = f.Write([]byte("id;name\n1;Ann\n"))
	require.NoError(t, err)

	// Neither the tenant, nor the host's Source, sees it yet.
	infos, err := c.ReadDir("/")
	require.NoError(t, err)
	assert.Empty(t, infos)
	_, err = c.Stat("users.csv")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	src, err := sftpserver.NewSource(acme.root)
	require.NoError(t, err)
	defer src.Close()
	files, err := src.List(t.Context())
	require.NoError(t, err)
	assert.Empty(t, files)
	assert.Len(t, staged(t, acme), 1)
	assert.Empty(t, ts.announced())

	require.NoError(t, f.Close())
	files, err = src.List(t.Context())
	require.NoError(t, err)
	require.Len(t, files, 1)
	assert.Equal(t, "users.csv", files[0].Name)
	assert.Len(t, ts.announced(), 1)
}

func TestFolderOperations(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	c := ts.client(t, acme)

	require.NoError(t, c.Mkdir("in"))
	require.NoError(t, put(c, "in/users.csv.filepart", []byte("id\n1\n")))
	require.NoError(t, c.Rename("in/users.csv.filepart", "users.csv"))
	require.NoError(t, put(c, "old.csv", []byte("id\n")))

	// SFTP's rename does not replace; posix-rename does.
	assert.Error(t, c.Rename("old.csv", "users.csv"))
	require.NoError(t, c.PosixRename("old.csv", "users.csv"))
	assert.Equal(t, "id\n", string(readAll(t, filepath.Join(acme.root, "users.csv"))))

	infos, err := c.ReadDir("/")
	require.NoError(t, err)
	var names []string
	for _, fi := range infos {
		names = append(names, fi.Name())
		st := fi.Sys().(*sftp.FileStat)
		assert.Zero(t, st.UID, "owner hidden")
	}
	slices.Sort(names)
	assert.Equal(t, []string{"in", "users.csv"}, names, "the staging folder is never listed")

	assert.ErrorIs(t, c.Remove("in/nothing"), fs.ErrNotExist)
	require.NoError(t, put(c, "in/keep", nil))
	assert.Error(t, c.RemoveDirectory("in"), "not empty")
	require.NoError(t, c.Remove("in/keep"))
	require.NoError(t, c.RemoveDirectory("in"))
	require.NoError(t, c.Remove("users.csv"))
	entries, err := os.ReadDir(acme.root)
	require.NoError(t, err)
	for _, e := range entries {
		assert.Equal(t, sftpserver.StagingDir, e.Name())
	}

	// Two uploads, two renames: each file that arrives is announced once.
	var events []string
	for _, u := range ts.announced() {
		events = append(events, u.Name+"<"+u.RenamedFrom)
	}
	assert.Equal(t, []string{"in/users.csv.filepart<", "users.csv<in/users.csv.filepart", "old.csv<", "users.csv<old.csv", "in/keep<"}, events)
	assert.Len(t, ts.audit.events("remove"), 2)
	assert.Len(t, ts.audit.events("rmdir"), 1)
	assert.Len(t, ts.audit.events("mkdir"), 1)
	assert.Len(t, ts.audit.events("rename"), 2)
}

func TestDownloadIsOptIn(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	require.NoError(t, os.WriteFile(filepath.Join(acme.root, "report.csv"), []byte("ok\n"), 0o640))
	_, err := ts.client(t, acme).Open("report.csv")
	assert.ErrorIs(t, err, fs.ErrPermission)
	assert.Len(t, ts.audit.events("denied"), 1)

	ts = newTestServer(t, &sftpserver.Options{AllowDownload: true})
	acme = ts.addTenant(t, "acme", sftpserver.Quota{})
	require.NoError(t, os.WriteFile(filepath.Join(acme.root, "report.csv"), []byte("ok\n"), 0o640))
	f, err := ts.client(t, acme).Open("report.csv")
	require.NoError(t, err)
	defer f.Close()
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	assert.Equal(t, "ok\n", string(b))
}

func TestExclusiveCreate(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	c := ts.client(t, acme)
	f, err := c.OpenFile("a.csv", os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	require.NoError(t, err)
	_, err = f.Write([]byte("first"))
	require.NoError(t, err)

	// Another exclusive create of the same name, while the first is in
	// progress, may open; whichever closes second fails.
	g, err := c.OpenFile("a.csv", os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	require.NoError(t, err)
	_, err = g.Write([]byte("second"))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	assert.Error(t, g.Close())
	assert.Equal(t, "first", string(readAll(t, filepath.Join(acme.root, "a.csv"))))

	_, err = c.OpenFile("a.csv", os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	assert.Error(t, err)
	assert.Empty(t, staged(t, acme))
	assert.Len(t, ts.announced(), 1)
}

func TestResumeAppendsToTheExistingFile(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	c := ts.client(t, acme)
	require.NoError(t, put(c, "users.csv", []byte("id;name\n1;Ann\n")))

	// What OpenSSH's "reput" does: open without truncating, write from the
	// size the file has.
	f, err := c.OpenFile("users.csv", os.O_WRONLY)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("2;Bob\n"), 14)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	want := "id;name\n1;Ann\n2;Bob\n"
	assert.Equal(t, want, string(readAll(t, filepath.Join(acme.root, "users.csv"))))
	ups := ts.announced()
	require.Len(t, ups, 2)
	assert.Equal(t, sha256Hex([]byte(want)), ups[1].SHA256)
}

func TestOutOfOrderAndRewrittenWritesHashTheFinalContent(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	c := ts.client(t, acme)
	f, err := c.OpenFile("x.bin", os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	require.NoError(t, err)
	want := []byte("0123456789abcdefghij")
	for _, off := range []int{15, 5, 10, 0} {
		_, err := f.WriteAt(want[off:off+5], int64(off))
		require.NoError(t, err)
	}
	_, err = f.WriteAt([]byte("ABC"), 10) // rewrites bytes already hashed
	require.NoError(t, err)
	require.NoError(t, f.Close())
	copy(want[10:], "ABC")
	assert.Equal(t, want, readAll(t, filepath.Join(acme.root, "x.bin")))
	ups := ts.announced()
	require.Len(t, ups, 1)
	assert.Equal(t, sha256Hex(want), ups[0].SHA256)
}

func TestPreservedTimesAreKept(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	c := ts.client(t, acme)
	mtime := time.Date(2026, 11, 20, 23, 0, 0, 0, time.UTC)

	// What "put -p" does: fsetstat the open handle, then close.
	f, err := c.Create("users.csv")
	require.NoError(t, err)
	_, err = f.Write([]byte("id\n1\n"))
	require.NoError(t, err)
	require.NoError(t, f.Chmod(0o600))                       // accepted, not applied
	require.NoError(t, c.Chtimes("users.csv", mtime, mtime)) // a setstat of the name, applied to the upload
	require.NoError(t, f.Close())
	fi, err := os.Stat(filepath.Join(acme.root, "users.csv"))
	require.NoError(t, err)
	assert.True(t, fi.ModTime().Equal(mtime), "mtime %v", fi.ModTime())
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())

	// On a finished file: times yes, owner and size no.
	later := mtime.Add(time.Hour)
	require.NoError(t, c.Chtimes("users.csv", later, later))
	fi, err = c.Stat("users.csv")
	require.NoError(t, err)
	assert.True(t, fi.ModTime().Equal(later))
	assert.ErrorIs(t, c.Chown("users.csv", 0, 0), fs.ErrPermission)
	assert.ErrorIs(t, c.Truncate("users.csv", 1), fs.ErrPermission)
}

func TestLeftoversOfAStoppedServerAreSwept(t *testing.T) {
	ts := newTestServer(t, &sftpserver.Options{IdleTimeout: time.Minute})
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	staging := filepath.Join(acme.root, sftpserver.StagingDir)
	require.NoError(t, os.Mkdir(staging, 0o700))
	stale, fresh := filepath.Join(staging, "stale.part"), filepath.Join(staging, "fresh.part")
	require.NoError(t, os.WriteFile(stale, []byte("half an upload"), 0o600))
	require.NoError(t, os.WriteFile(fresh, []byte("another server's upload in progress"), 0o600))
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(stale, old, old))

	require.NoError(t, put(ts.client(t, acme), "users.csv", []byte("id\n")))
	assert.NoFileExists(t, stale)
	assert.FileExists(t, fresh)
}

func TestUploadsPerConnectionAreLimited(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	c := ts.client(t, acme)
	var files []*sftp.File
	for i := range 16 {
		f, err := c.Create(fmt.Sprintf("f%d", i))
		require.NoError(t, err)
		files = append(files, f)
	}
	_, err := c.Create("one-too-many")
	assert.ErrorContains(t, err, "too many uploads at once")
	for _, f := range files {
		require.NoError(t, f.Close())
	}
	require.NoError(t, put(c, "one-more", nil))
	assert.Len(t, ts.announced(), 17)
}

func TestUploadIntoAMissingFolderFailsAtOnce(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	c := ts.client(t, acme)
	_, err := c.Create("no/such/folder/users.csv")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	require.NoError(t, put(c, "file", nil))
	_, err = c.Create("file/users.csv")
	assert.Error(t, err)
	assert.Empty(t, staged(t, acme))
}

func TestPanicInOnUploadIsLogged(t *testing.T) {
	ts := newTestServer(t, &sftpserver.Options{OnUpload: func(sftpserver.Upload) { panic("host bug") }})
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	c := ts.client(t, acme)
	require.NoError(t, put(c, "users.csv", []byte("id\n")))
	require.NoError(t, put(c, "users.csv", []byte("id\n1\n")), "the server goes on")
	panics := ts.audit.events("on_upload_panic")
	require.Len(t, panics, 2)
	assert.Equal(t, "host bug", panics[0]["error"])
}

package sftpserver_test

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/source/sftpserver"
)

// snapshot returns every path under dir with its content, to compare.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if d.Type().IsRegular() {
			m[p] = string(readAll(t, p))
		} else {
			m[p] = d.Type().String()
		}
		return nil
	}))
	return m
}

// TestTenantCannotLeaveItsFolder tries every way out of a tenant's folder
// into another tenant's, or the host's: "..", absolute paths, and symbolic
// links the host left in the folder, pointing out of it.
func TestTenantCannotLeaveItsFolder(t *testing.T) {
	ts := newTestServer(t, &sftpserver.Options{AllowDownload: true})
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	globex := ts.addTenant(t, "globex", sftpserver.Quota{})
	require.NoError(t, os.WriteFile(filepath.Join(globex.root, "secret.csv"), []byte("globex's users"), 0o640))
	require.NoError(t, os.Mkdir(filepath.Join(globex.root, "sub"), 0o750))
	outside := filepath.Join(ts.dir, "host-secret")
	require.NoError(t, os.WriteFile(outside, []byte("host's"), 0o600))
	for name, target := range map[string]string{
		"to-globex":     "../globex",
		"to-globex-abs": globex.root,
		"to-secret":     "../globex/secret.csv",
		"to-host":       outside,
		"to-etc":        "/etc",
	} {
		require.NoError(t, os.Symlink(target, filepath.Join(acme.root, name)))
	}
	before := snapshot(t, globex.root)
	c := ts.client(t, acme)

	escapes := []string{
		"../globex/secret.csv", "/../globex/secret.csv", "../../globex/secret.csv",
		"sub/../../globex/secret.csv", filepath.Join(globex.root, "secret.csv"), outside,
		"to-globex/secret.csv", "to-globex-abs/secret.csv", "to-secret", "to-host", "to-etc/passwd", "/to-etc/hostname",
	}
	for _, p := range escapes {
		t.Run(strings.ReplaceAll(p, "/", "|"), func(t *testing.T) {
			if f, err := c.Open(p); err == nil {
				b, _ := io.ReadAll(f)
				f.Close()
				t.Fatalf("read %q: %q", p, b)
			}
			_, err := c.Stat(p)
			assert.Error(t, err, "stat")
			assert.Error(t, put(c, p, []byte("evil")), "write")
			if p != "to-secret" && p != "to-host" { // links in acme's folder, which acme may remove or rename
				assert.Error(t, c.Remove(p), "remove")
				assert.Error(t, c.Rename(p, "stolen.csv"), "rename out")
			}
			assert.Error(t, c.Chtimes(p, fixedTime, fixedTime), "setstat")
			assert.Error(t, c.Mkdir(p+"/dir"), "mkdir")
		})
	}
	for _, dir := range []string{"../globex", "/..", "to-globex", "to-globex-abs", "to-etc"} {
		infos, err := c.ReadDir(dir)
		if dir == "/.." { // cleans to "/", the tenant's own folder
			require.NoError(t, err)
			for _, fi := range infos {
				assert.NotEqual(t, "secret.csv", fi.Name())
			}
			continue
		}
		assert.Error(t, err, "list %s: %v", dir, infos)
	}
	require.NoError(t, put(c, "mine.csv", []byte("acme's")))
	for _, to := range []string{"../globex/mine.csv", "to-globex/mine.csv", "to-etc/mine.csv"} {
		assert.Error(t, c.Rename("mine.csv", to), to)
		assert.Error(t, c.PosixRename("mine.csv", to), to)
	}

	// Links cannot be made, nor read.
	assert.ErrorIs(t, c.Symlink("../globex/secret.csv", "link"), fs.ErrPermission)
	assert.ErrorIs(t, c.Symlink("mine.csv", "link"), fs.ErrPermission)
	assert.ErrorIs(t, c.Link("mine.csv", "hard"), fs.ErrPermission)
	_, err := c.ReadLink("to-globex")
	assert.ErrorIs(t, err, fs.ErrPermission)

	assert.Equal(t, before, snapshot(t, globex.root), "globex's folder is untouched")
	assert.Equal(t, "host's", string(readAll(t, outside)))
	assert.Len(t, ts.audit.events("denied"), 4)
}

// TestStagingFolderIsOutOfReach checks that a tenant can neither see nor
// touch the uploads in progress.
func TestStagingFolderIsOutOfReach(t *testing.T) {
	ts := newTestServer(t, &sftpserver.Options{AllowDownload: true})
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	c := ts.client(t, acme)
	f, err := c.Create("users.csv")
	require.NoError(t, err)
	_, err = f.Write([]byte("partial"))
	require.NoError(t, err)
	tmp := sftpserver.StagingDir + "/" + staged(t, acme)[0]

	_, err = c.ReadDir(sftpserver.StagingDir)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = c.Stat(tmp)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = c.Open(tmp)
	assert.Error(t, err)
	assert.Error(t, c.Rename(tmp, "stolen.csv"))
	assert.Error(t, c.Remove(tmp))
	assert.Error(t, c.RemoveDirectory(sftpserver.StagingDir))
	assert.Error(t, put(c, sftpserver.StagingDir+"/x", nil))
	assert.Error(t, put(c, "sub/"+sftpserver.StagingDir, nil))
	require.NoError(t, put(c, "other.csv", nil))
	assert.Error(t, c.Rename("other.csv", sftpserver.StagingDir))
	assert.Len(t, staged(t, acme), 1)

	require.NoError(t, f.Close())
	assert.Equal(t, "partial", string(readAll(t, filepath.Join(acme.root, "users.csv"))))
}

func TestNamesASourceWouldRefuseCannotBeCreated(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	c := ts.client(t, acme)
	for _, name := range []string{`..\globex\x.csv`, "a\nb.csv", "tab\t.csv", "nul\x00.csv"} {
		assert.Error(t, put(c, name, []byte("x")), "%q", name)
		assert.Error(t, c.Mkdir(name), "%q", name)
	}
	require.NoError(t, put(c, "ok.csv", nil))
	assert.Error(t, c.Rename("ok.csv", `a\b.csv`))
	entries, err := os.ReadDir(acme.root)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"ok.csv", sftpserver.StagingDir}, names)
}

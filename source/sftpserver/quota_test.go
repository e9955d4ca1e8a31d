package sftpserver_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pkg/sftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/source/sftpserver"
)

// folderFiles returns the names and sizes of what the tenant's folder
// shows, the staging folder aside.
func folderFiles(t *testing.T, tn *tenant) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	entries, err := os.ReadDir(tn.root)
	require.NoError(t, err)
	for _, e := range entries {
		if e.Name() == sftpserver.StagingDir {
			continue
		}
		info, err := e.Info()
		require.NoError(t, err)
		m[e.Name()] = info.Size()
	}
	return m
}

func TestUploadOverTheFileSizeQuotaLeavesNothing(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{MaxFileSize: 256 << 10})
	c := ts.client(t, acme)

	f, err := c.Create("users.csv")
	require.NoError(t, err)
	_, err = f.Write(randomBytes(1 << 20))
	require.ErrorContains(t, err, "quota exceeded: files may be at most 262144 bytes")
	assert.Empty(t, staged(t, acme), "the partial upload is removed at once, before the client closes it")
	assert.Error(t, f.Close(), "closing does not make it a file")
	assert.Empty(t, folderFiles(t, acme))
	assert.Empty(t, staged(t, acme))
	assert.Empty(t, ts.announced())
	failed := ts.audit.events("upload_failed")
	require.Len(t, failed, 1)
	assert.Contains(t, failed[0]["error"], "quota exceeded")

	// Exactly at the limit is fine, and the connection still works.
	require.NoError(t, put(c, "users.csv", randomBytes(256<<10)))
	assert.Equal(t, map[string]int64{"users.csv": 256 << 10}, folderFiles(t, acme))
}

func TestTenantQuotaOverridesTheServers(t *testing.T) {
	ts := newTestServer(t, &sftpserver.Options{Quota: sftpserver.Quota{MaxFileSize: 1000}})
	small := ts.addTenant(t, "small", sftpserver.Quota{})
	big := ts.addTenant(t, "big", sftpserver.Quota{MaxFileSize: 5000})
	unlimited := ts.addTenant(t, "unlimited", sftpserver.Quota{MaxFileSize: -1})
	assert.Error(t, put(ts.client(t, small), "f", randomBytes(2000)))
	assert.NoError(t, put(ts.client(t, big), "f", randomBytes(2000)))
	assert.NoError(t, put(ts.client(t, unlimited), "f", randomBytes(20000)))
}

func TestFolderByteQuota(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{MaxBytes: 1 << 20})
	c := ts.client(t, acme)

	require.NoError(t, put(c, "a.csv", randomBytes(600<<10)))
	require.ErrorContains(t, put(c, "b.csv", randomBytes(600<<10)), "quota exceeded: the folder may hold at most 1048576 bytes")
	assert.Equal(t, map[string]int64{"a.csv": 600 << 10}, folderFiles(t, acme))
	// Replacing a file frees its bytes: tomorrow's users.csv replaces today's.
	require.NoError(t, put(c, "a.csv", randomBytes(900<<10)))
	// The host's sync removed the file behind the server's back.
	require.NoError(t, os.Remove(filepath.Join(acme.root, "a.csv")))
	require.NoError(t, put(c, "b.csv", randomBytes(1<<20)))
	assert.Empty(t, staged(t, acme))
}

func TestConcurrentUploadsShareTheByteQuota(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{MaxBytes: 1 << 20})
	c1, c2 := ts.client(t, acme), ts.client(t, acme)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, c := range []*sftp.Client{c1, c2} {
		wg.Go(func() { errs[i] = put(c, []string{"a", "b"}[i], randomBytes(700<<10)) })
	}
	wg.Wait()
	assert.False(t, errs[0] == nil && errs[1] == nil, "both fit: %v", errs)
	var total int64
	for name, size := range folderFiles(t, acme) {
		assert.Equal(t, int64(700<<10), size, name)
		total += size
	}
	assert.LessOrEqual(t, total, int64(1<<20))
	assert.Empty(t, staged(t, acme))
	assert.Len(t, ts.announced(), len(folderFiles(t, acme)))
}

func TestFileCountQuota(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{MaxFiles: 2})
	c := ts.client(t, acme)
	require.NoError(t, put(c, "a", nil))
	require.NoError(t, c.Mkdir("archive"))
	assert.ErrorContains(t, put(c, "b", nil), "quota exceeded: the folder may hold at most 2 files and folders")
	assert.ErrorContains(t, c.Mkdir("more"), "quota exceeded")
	require.NoError(t, put(c, "a", []byte("replaced")), "replacing a file makes no new one")
	require.NoError(t, c.Remove("a"))
	require.NoError(t, put(c, "b", nil))
	assert.Equal(t, map[string]int64{"archive": folderFiles(t, acme)["archive"], "b": 0}, folderFiles(t, acme))
}

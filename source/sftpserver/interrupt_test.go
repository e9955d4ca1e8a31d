package sftpserver_test

import (
	"net"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/usersync/usersync/source/sftpserver"
)

// TestKilledUploadIsNeverProcessed cuts the connection mid-upload, as a
// killed client or a broken network does: the file never appears, nothing
// is announced, the sync finds nothing, and the partial upload is removed.
func TestKilledUploadIsNeverProcessed(t *testing.T) {
	sy := newSyncer(t)
	ts := newTestServer(t, &sftpserver.Options{OnUpload: sy.onUpload})
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	sy.add(acme.id, acme.root)

	nc, err := net.Dial("tcp", ts.addr)
	require.NoError(t, err)
	conn, chans, reqs, err := ssh.NewClientConn(nc, ts.addr, ts.sshConfig(acme.user, ssh.PublicKeys(acme.key)))
	require.NoError(t, err)
	c, err := sftp.NewClient(ssh.NewClient(conn, chans, reqs))
	require.NoError(t, err)
	f, err := c.Create("users.csv")
	require.NoError(t, err)
	data := usersCSV(20000)
	_, err = f.Write(data[:len(data)/2])
	require.NoError(t, err)
	require.Len(t, staged(t, acme), 1)

	nc.Close() // the client dies

	require.Eventually(t, func() bool { return len(ts.audit.events("upload_failed")) == 1 }, 10*time.Second, 10*time.Millisecond)
	assert.Contains(t, ts.audit.events("upload_failed")[0]["error"], "transfer interrupted")
	assert.Empty(t, staged(t, acme))
	assert.Empty(t, folderFiles(t, acme))
	assert.Empty(t, ts.announced())
	sy.close()
	assert.Empty(t, sy.runs[acme.id])
}

// TestStalledUploadIsNeverProcessed leaves an upload open while a sync
// runs: the sync sees no file, however old the partial data is.
func TestStalledUploadIsNeverProcessed(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	sy := newSyncer(t)
	sy.add(acme.id, acme.root)

	f, err := ts.client(t, acme).Create("users.csv")
	require.NoError(t, err)
	_, err = f.Write(usersCSV(100)[:1000])
	require.NoError(t, err)
	sy.onUpload(sftpserver.Upload{TenantID: acme.id}) // a sync runs now anyway
	sy.close()
	require.Len(t, sy.runs[acme.id], 1)
	res := sy.runs[acme.id][0]
	assert.Empty(t, res.Files, "nothing to read")
	assert.Equal(t, 0, res.Applied.Total())
}

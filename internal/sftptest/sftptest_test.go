package sftptest_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/usersync/usersync/internal/sftptest"
)

// client logs in to addr, checking srv's host key against its known_hosts.
func client(t *testing.T, srv *sftptest.Server, addr string) *sftp.Client {
	t.Helper()
	hk, err := knownhosts.New(srv.KnownHosts(t))
	require.NoError(t, err)
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User:            srv.User(),
		Auth:            []ssh.AuthMethod{ssh.Password(srv.Password())},
		HostKeyCallback: func(_ string, remote net.Addr, key ssh.PublicKey) error { return hk(srv.Addr, remote, key) },
	})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	sc, err := sftp.NewClient(c)
	require.NoError(t, err)
	return sc
}

func TestServerServesItsFolder(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", []byte("id\n1\n"), time.Unix(1e9, 0)))
	sc := client(t, srv, srv.Addr)
	fi, err := sc.Stat("/in/users.csv")
	require.NoError(t, err)
	assert.Equal(t, int64(5), fi.Size())
	assert.Equal(t, time.Unix(1e9, 0), fi.ModTime())
	_, err = sc.Stat("/../../etc/passwd")
	assert.Error(t, err, "nothing outside the folder")
	assert.Equal(t, 1, srv.Logins())
}

// MaxRead makes reads come back short, which pkg/sftp's File.WriteTo
// (v1.13.12, issue 658) turns into a silently truncated copy: the fault
// is real.
func TestMaxReadGivesShortReads(t *testing.T) {
	srv := sftptest.NewServer(t, &sftptest.Options{MaxRead: 8 << 10})
	require.NoError(t, srv.Put("in/big", make([]byte, 1<<20), time.Now()))
	f, err := client(t, srv, srv.Addr).Open("/in/big")
	require.NoError(t, err)
	n, err := f.WriteTo(io.Discard)
	require.NoError(t, err)
	assert.Less(t, n, int64(1<<20))
}

func TestProxyCutsNewConnections(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/big", make([]byte, 1<<20), time.Now()))
	proxy := sftptest.NewProxy(t, srv.Addr)
	before, err := client(t, srv, proxy.Addr).Open("/in/big")
	require.NoError(t, err)

	proxy.CutAfter(100 << 10)
	after, err := client(t, srv, proxy.Addr).Open("/in/big")
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, after)
	assert.Error(t, err, "cut after 100 KiB")

	n, err := io.Copy(io.Discard, before)
	require.NoError(t, err, "a connection made before CutAfter is not cut")
	assert.Equal(t, int64(1<<20), n)
}

package sftpserver_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"testing"

	"github.com/pkg/sftp"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/usersync/usersync/source/sftpserver"
)

// BenchmarkUpload uploads a file with pkg/sftp's client, over SSH on
// loopback, to the drop box (with its defaults: staging, hashing, quota
// and fsync; and with NoSync), and to pkg/sftp's own plain server writing
// straight to disk, the baseline measured in the same run:
//
//	go test -run='^$' -bench=Upload -benchtime=10x ./source/sftpserver
//
// The "sftpserver" and "baseline" lines compare directly; the command
// examples/dropboxbench compares with OpenSSH's sshd instead.
func BenchmarkUpload(b *testing.B) {
	const size = 32 << 20
	data := randomBytes(size)
	for _, bc := range []struct {
		name  string
		start func(b *testing.B) (addr string, cfg *ssh.ClientConfig, dir string)
	}{
		{"sftpserver", func(b *testing.B) (string, *ssh.ClientConfig, string) { return startDropBox(b, false) }},
		{"sftpserver-nosync", func(b *testing.B) (string, *ssh.ClientConfig, string) { return startDropBox(b, true) }},
		{"baseline-pkg-sftp-server", startPlainServer},
	} {
		b.Run(bc.name, func(b *testing.B) {
			addr, cfg, dir := bc.start(b)
			sc, err := ssh.Dial("tcp", addr, cfg)
			require.NoError(b, err)
			defer sc.Close()
			c, err := sftp.NewClient(sc, sftp.UseConcurrentWrites(true))
			require.NoError(b, err)
			defer c.Close()
			b.SetBytes(size)
			b.ResetTimer()
			for i := range b.N {
				name := fmt.Sprintf("f%d", i)
				f, err := c.Create(name)
				require.NoError(b, err)
				_, err = f.ReadFrom(bytes.NewReader(data))
				require.NoError(b, err)
				require.NoError(b, f.Close())
				b.StopTimer()
				require.NoError(b, os.Remove(dir+"/"+name))
				b.StartTimer()
			}
		})
	}
}

func startDropBox(b *testing.B, noSync bool) (string, *ssh.ClientConfig, string) {
	ts := newTestServer(b, &sftpserver.Options{NoSync: noSync})
	acme := ts.addTenant(b, "acme", sftpserver.Quota{})
	return ts.addr, ts.sshConfig(acme.user, ssh.PublicKeys(acme.key)), acme.root
}

// startPlainServer starts pkg/sftp's plain Server, which writes where the
// client says, under an SSH server with the same defaults as the drop box
// but nothing else: no tenants, no staging, no hash, no sync.
func startPlainServer(b *testing.B) (string, *ssh.ClientConfig, string) {
	dir := b.TempDir()
	hostKey, clientKey := newSigner(b), newSigner(b)
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(k.Marshal(), clientKey.PublicKey().Marshal()) {
				return nil, nil
			}
			return nil, fmt.Errorf("unknown key")
		},
	}
	cfg.AddHostKey(hostKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go servePlain(nc, cfg, dir)
		}
	}()
	return ln.Addr().String(), &ssh.ClientConfig{
		User: "bench", Auth: []ssh.AuthMethod{ssh.PublicKeys(clientKey)}, HostKeyCallback: ssh.FixedHostKey(hostKey.PublicKey()),
	}, dir
}

func servePlain(nc net.Conn, cfg *ssh.ServerConfig, dir string) {
	defer nc.Close()
	_, chans, reqs, err := ssh.NewServerConn(nc, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for newCh := range chans {
		ch, creqs, err := newCh.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer ch.Close()
			for req := range creqs {
				req.Reply(req.Type == "subsystem", nil)
				if req.Type == "subsystem" {
					go ssh.DiscardRequests(creqs)
					srv, err := sftp.NewServer(ch, sftp.WithServerWorkingDirectory(dir))
					if err == nil {
						srv.Serve()
						srv.Close()
					}
					return
				}
			}
		}()
	}
}

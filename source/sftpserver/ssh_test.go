package sftpserver_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/usersync/usersync/source/sftpserver"
)

// TestOnlySFTPIsServed asks for everything an SSH server may offer besides
// SFTP: a shell, a command, a terminal, another subsystem, port forwarding
// both ways, agent forwarding. Each is refused and logged.
func TestOnlySFTPIsServed(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	sc, err := ts.dialSSH(acme)
	require.NoError(t, err)
	defer sc.Close()

	for _, try := range []struct {
		name string
		run  func(*ssh.Session) error
	}{
		{"exec", func(s *ssh.Session) error { return s.Start("cat /etc/passwd") }},
		{"shell", func(s *ssh.Session) error { return s.Shell() }},
		{"pty", func(s *ssh.Session) error { return s.RequestPty("xterm", 80, 24, nil) }},
		{"subsystem", func(s *ssh.Session) error { return s.RequestSubsystem("netconf") }},
		{"agent", func(s *ssh.Session) error {
			ok, err := s.SendRequest("auth-agent-req@openssh.com", true, nil)
			if err == nil && !ok {
				err = errRefused
			}
			return err
		}},
		{"x11", func(s *ssh.Session) error {
			ok, err := s.SendRequest("x11-req", true, ssh.Marshal(struct {
				Single        bool
				Proto, Cookie string
				Screen        uint32
			}{false, "MIT-MAGIC-COOKIE-1", "00", 0}))
			if err == nil && !ok {
				err = errRefused
			}
			return err
		}},
	} {
		s, err := sc.NewSession()
		require.NoError(t, err, try.name)
		assert.Error(t, try.run(s), try.name)
		s.Close()
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	_, err = sc.Dial("tcp", ln.Addr().String())
	assert.Error(t, err, "local port forwarding")
	_, err = sc.Listen("tcp", "127.0.0.1:0")
	assert.Error(t, err, "remote port forwarding")

	var denied []string
	require.Eventually(t, func() bool {
		denied = nil
		for _, e := range ts.audit.events("denied") {
			denied = append(denied, e["request"]+" "+e["detail"])
		}
		return len(denied) >= 6
	}, 5*time.Second, 10*time.Millisecond)
	assert.ElementsMatch(t, []string{
		"exec cat /etc/passwd", "shell ", "subsystem netconf", "auth-agent-req@openssh.com ", "x11-req ",
		"channel direct-tcpip ",
	}, denied)

	// The connection still serves SFTP.
	s, err := sc.NewSession()
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.RequestSubsystem("sftp"))
}

var errRefused = refusedError{}

type refusedError struct{}

func (refusedError) Error() string { return "request refused" }

func TestServerAnnouncesNoVersion(t *testing.T) {
	ts := newTestServer(t, nil)
	c, err := net.Dial("tcp", ts.addr)
	require.NoError(t, err)
	defer c.Close()
	buf := make([]byte, 64)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "SSH-2.0-usersync", strings.TrimSpace(string(buf[:n])))
}

func TestWeakAlgorithmsAreRefused(t *testing.T) {
	ts := newTestServer(t, nil)
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	for name, cfg := range map[string]ssh.Config{
		"cbc":        {Ciphers: []string{ssh.InsecureCipherAES128CBC}},
		"sha1 mac":   {Ciphers: []string{ssh.CipherAES128CTR}, MACs: []string{ssh.HMACSHA1}},
		"dh group14": {KeyExchanges: []string{ssh.KeyExchangeDH14SHA256}},
		"dh sha1":    {KeyExchanges: []string{ssh.InsecureKeyExchangeDH14SHA1}},
	} {
		cc := ts.sshConfig(acme.user, ssh.PublicKeys(acme.key))
		cc.Config = cfg
		_, err := ssh.Dial("tcp", ts.addr, cc)
		assert.ErrorContains(t, err, "no common algorithm", name)
	}
	cc := ts.sshConfig(acme.user, ssh.PublicKeys(acme.key))
	cc.Config = ssh.Config{Ciphers: []string{ssh.CipherChaCha20Poly1305}, KeyExchanges: []string{ssh.KeyExchangeMLKEM768X25519}}
	sc, err := ssh.Dial("tcp", ts.addr, cc)
	require.NoError(t, err)
	sc.Close()
}

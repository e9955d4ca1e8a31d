package ftptest_test

import (
	"crypto/tls"
	"io"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/internal/ftptest"
)

// login connects with jlaffaye/ftp as a careful client does: TLS verified
// against the server's certificate, sessions cached for the data
// connections.
func login(t *testing.T, srv *ftptest.Server, mode ftptest.Mode) *ftp.ServerConn {
	t.Helper()
	cfg := &tls.Config{RootCAs: srv.CertPool(), ServerName: "127.0.0.1", ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	opts := []ftp.DialOption{ftp.DialWithTimeout(5 * time.Second)}
	switch mode {
	case ftptest.Explicit:
		opts = append(opts, ftp.DialWithExplicitTLS(cfg))
	case ftptest.Implicit:
		opts = append(opts, ftp.DialWithTLS(cfg))
	}
	c, err := ftp.Dial(srv.Addr, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { c.Quit() })
	require.NoError(t, c.Login(srv.User(), srv.Password()))
	return c
}

func retr(c *ftp.ServerConn, name string) ([]byte, error) {
	r, err := c.Retr(name)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return data, err
}

func TestModes(t *testing.T) {
	for _, mode := range []ftptest.Mode{ftptest.Explicit, ftptest.Implicit, ftptest.Plain} {
		t.Run([]string{"explicit", "implicit", "plain"}[mode], func(t *testing.T) {
			srv := ftptest.NewServer(t, &ftptest.Options{Mode: mode})
			mt := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
			require.NoError(t, srv.Put("in/users.csv", []byte("id\n1\n"), mt))
			c := login(t, srv, mode)
			require.NoError(t, c.ChangeDir("in"))
			entries, err := c.List("")
			require.NoError(t, err)
			require.Len(t, entries, 1)
			assert.Equal(t, "users.csv", entries[0].Name)
			assert.Equal(t, mt, entries[0].Time)
			data, err := retr(c, "users.csv")
			require.NoError(t, err)
			assert.Equal(t, "id\n1\n", string(data))
			total, resumed := srv.DataTLS()
			if mode == ftptest.Plain {
				assert.Zero(t, total)
			} else {
				assert.Equal(t, 2, total)
				assert.Equal(t, 2, resumed)
			}
			assert.Equal(t, 1, srv.Logins())
		})
	}
}

// A client without a session cache cannot resume: the data connection is
// refused, as vsftpd's require_ssl_reuse does.
func TestSessionReuseRequired(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	c, err := ftp.Dial(srv.Addr, ftp.DialWithTimeout(5*time.Second),
		ftp.DialWithExplicitTLS(&tls.Config{RootCAs: srv.CertPool(), ServerName: "127.0.0.1"}))
	require.NoError(t, err)
	defer c.Quit()
	require.NoError(t, c.Login(srv.User(), srv.Password()))
	_, err = c.List("")
	assert.Error(t, err)
	total, resumed := srv.DataTLS()
	assert.Equal(t, 1, total)
	assert.Zero(t, resumed)
}

func TestExplicitRefusesPlainLogin(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	c, err := ftp.Dial(srv.Addr, ftp.DialWithTimeout(5*time.Second))
	require.NoError(t, err)
	defer c.Quit()
	assert.Error(t, c.Login(srv.User(), srv.Password()))
	assert.Zero(t, srv.Logins())
}

func TestFaults(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("f.bin", make([]byte, 100_000), time.Now()))
	c := login(t, srv, ftptest.Explicit)

	srv.SetFault(ftptest.Reply426)
	data, err := retr(c, "f.bin")
	assert.Len(t, data, 100_000)
	assert.ErrorContains(t, err, "426")

	srv.SetFault(ftptest.ShortData)
	data, err = retr(c, "f.bin")
	assert.NoError(t, err)
	assert.Len(t, data, 50_000)

	srv.SetFault(ftptest.NoFault)
	data, err = retr(c, "f.bin")
	assert.NoError(t, err)
	assert.Len(t, data, 100_000)
}

func TestNoMLSD(t *testing.T) {
	srv := ftptest.NewServer(t, &ftptest.Options{NoMLSD: true})
	require.NoError(t, srv.Put("users.csv", []byte("x"), time.Now()))
	c := login(t, srv, ftptest.Explicit)
	assert.False(t, c.IsTimePreciseInList())
	entries, err := c.List("")
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "users.csv", entries[0].Name)
}

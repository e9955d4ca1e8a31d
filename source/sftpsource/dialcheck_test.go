package sftpsource_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/internal/sftptest"
	"github.com/usersync/usersync/source/sftpsource"
)

// TestDialCheckLogsInOnce: DialCheck's steps and the Source it returns
// share one login; a wrong password is sent once, and no Source comes back.
func TestDialCheckLogsInOnce(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", []byte("a,b\n"), time.Now()))
	s, results := sftpsource.DialCheck(t.Context(), config(t, srv), fastOptions())
	require.NotNil(t, s, "%+v", results)
	defer s.Close()
	for _, r := range results {
		assert.NoError(t, r.Err, r.Name)
	}
	files, err := s.List(t.Context())
	require.NoError(t, err)
	require.Len(t, files, 1)
	rc, err := s.Open(t.Context(), "users.csv")
	require.NoError(t, err)
	rc.Close()
	assert.Equal(t, 1, srv.PasswordAttempts(), "the check's login is the Source's")

	cfg := config(t, srv)
	cfg.Password = "wrong-password"
	s, results = sftpsource.DialCheck(t.Context(), cfg, fastOptions())
	assert.Nil(t, s)
	require.Len(t, results, 4)
	assert.ErrorIs(t, results[2].Err, sftpsource.ErrAuth)
	assert.Equal(t, 2, srv.PasswordAttempts(), "a wrong password is sent once")
}

package ftpsource_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/internal/ftptest"
	"github.com/usersync/usersync/source/ftpsource"
)

// TestDialCheckLogsInOnce: DialCheck's steps and the Source it returns
// share one login; a wrong password is sent once, and no Source comes back.
func TestDialCheckLogsInOnce(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", []byte("a,b\n"), time.Now()))
	s, results := ftpsource.DialCheck(t.Context(), config(srv), nil)
	require.NotNil(t, s, "%+v", results)
	defer s.Close()
	for _, r := range results {
		assert.NoError(t, r.Err, r.Name)
	}
	files, err := s.List(t.Context())
	require.NoError(t, err)
	require.Len(t, files, 1)
	assert.Equal(t, 1, srv.PasswordAttempts(), "the check's login is the Source's")

	cfg := config(srv)
	cfg.Password = "wrong-password"
	s, results = ftpsource.DialCheck(t.Context(), cfg, nil)
	assert.Nil(t, s)
	require.Len(t, results, 4)
	assert.ErrorIs(t, results[2].Err, ftpsource.ErrAuth)
	assert.Equal(t, 2, srv.PasswordAttempts(), "a wrong password is sent once")
}

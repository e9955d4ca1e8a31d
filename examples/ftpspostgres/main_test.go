package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/internal/ftptest"
	"github.com/usersync/usersync/internal/testenv"
	"github.com/usersync/usersync/source/ftpsource"
)

const acmeFile = `UniqueID,Name,Mail,Title,TelephoneNumber,Groups
EMP-000101,Anna Lindqvist,anna.lindqvist@example.com,Head Nurse,+46701234501,Scranton branch
EMP-000102,Björn Sandberg,bjorn.sandberg@example.com,Nurse,+46701234502,Scranton branch
EMP-000103,Carla Jensen,carla.jensen@example.com,Receptionist,+46701234503,Akron Branch
`

// TestFTPSToPostgres runs the integration against the in-process FTPS
// server and the PostgreSQL that .ci/services/postgres.sh starts: the file
// is read over explicit TLS with a verified certificate, applied to the
// directory, reported, and archived on the server.
func TestFTPSToPostgres(t *testing.T) {
	dsn := testenv.Getenv(t, "USERSYNC_TEST_POSTGRES_DSN", "PostgreSQL")
	srv := ftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("imports/users.csv", []byte(acmeFile), time.Now().Add(-time.Hour)))
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, srv.CertificatePEM, 0o600))

	prefix := fmt.Sprintf("ftpspg%d_", os.Getpid())
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, table := range []string{"memberships", "users", "groups", "state", "locks", "invites", "migrations"} {
			db.Exec(`DROP TABLE IF EXISTS "` + prefix + table + `" CASCADE`)
		}
		db.Close()
	})

	var out bytes.Buffer
	err = run(t.Context(), &out, settings{
		ftp: ftpsource.Config{
			Host: srv.Addr, User: srv.User(), Password: srv.Password(), File: "/imports/users.csv",
		},
		caFile: ca, minAge: time.Minute, tenant: "acme", dsn: dsn, tables: prefix, timeout: time.Minute,
	})
	t.Log(out.String())
	require.NoError(t, err)
	assert.Contains(t, out.String(), "succeeded")
	assert.Contains(t, out.String(), "3 created")

	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM "`+prefix+`users" WHERE tenant = 'acme'`).Scan(&n))
	assert.Equal(t, 3, n)
	archived, err := filepath.Glob(filepath.Join(srv.Dir, "imports", "archive", "*users.csv"))
	require.NoError(t, err)
	assert.Len(t, archived, 1, "archived on the server after success")
}

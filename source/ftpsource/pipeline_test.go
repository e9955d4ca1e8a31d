package ftpsource_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/ftptest"
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/ftpsource"
)

func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name)))
	return err == nil
}

// The data connection is cut mid-transfer: the run fails with nothing
// applied, the file stays for the next run, which applies it.
func TestDataConnectionCutMidTransfer(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	data := synctest.CSV(20000) // about 700 KB
	require.NoError(t, srv.Put("in/users.csv", data, time.Now()))
	opts := fastOptions()
	proxy := viaProxy(t, opts)
	s := synctest.New(t, dial(t, config(srv), opts), source.PickupOptions{AfterSuccess: source.Delete, ErrorFolder: "failed"})

	proxy.CutAfter(300 << 10) // new connections, the data connection among them, are cut after 300 KB from the server
	res, err := s.P.Run(t.Context())
	require.Error(t, err)
	assert.Equal(t, usersync.Failed, res.Status)
	var fe *usersync.FileError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "read", fe.Op)
	assert.Less(t, res.Files[0].Bytes, int64(len(data)))
	assert.Zero(t, s.Users(), "nothing applied")
	assert.True(t, exists(srv.Dir, "in/users.csv"), "the file stays for the next run")

	proxy.CutAfter(0)
	res, err = s.P.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 20000, s.Users())
	assert.Equal(t, int64(len(data)), res.Files[0].Bytes)
	assert.False(t, exists(srv.Dir, "in/users.csv"), "deleted after success")
}

// A server that stops answering: the run fails within the timeout,
// nothing applied, the file stays. (TestStalledServer stalls a download
// under way.)
func TestStalledServerFailsRun(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", synctest.CSV(100), time.Now()))
	opts := shortTimeouts()
	proxy := viaProxy(t, opts)
	s := synctest.New(t, dial(t, config(srv), opts), source.PickupOptions{AfterSuccess: source.Delete})
	proxy.Stall()
	var err error
	within(t, 2*timeoutBound, func() { _, err = s.P.Run(t.Context()) })
	assert.ErrorIs(t, err, ftpsource.ErrTimeout)
	assert.Zero(t, s.Users(), "nothing applied")
	assert.True(t, exists(srv.Dir, "in/users.csv"), "the file stays for the next run")

	proxy.Resume()
	_, err = s.P.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 100, s.Users())
}

func TestArchiveAfterSuccess(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", synctest.CSV(3), time.Now()))
	s := synctest.New(t, dial(t, config(srv), nil), source.PickupOptions{Pattern: "users.csv", AfterSuccess: source.Archive})
	res, err := s.P.Run(t.Context())
	require.NoError(t, err)
	require.NoError(t, res.Files[0].FinishErr)
	assert.False(t, exists(srv.Dir, "in/users.csv"))
	assert.True(t, exists(srv.Dir, "in/archive/20260314T020000Z-users.csv"))
}

func TestRefusedNamesAreNotTaken(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	for _, name := range []string{"in/users.csv", "in/..\\users.csv", "in/users\x1b.csv"} {
		require.NoError(t, srv.Put(name, synctest.CSV(2), time.Now()))
	}
	src := dial(t, config(srv), nil)
	s := synctest.New(t, src, source.PickupOptions{})
	res, err := s.P.Run(t.Context())
	require.NoError(t, err)
	require.Len(t, res.Files, 1)
	assert.Equal(t, "users.csv", res.Files[0].Name)

	results := src.Check(t.Context())
	require.Len(t, results, 4)
	assert.Contains(t, results[3].Detail, `names refused: "..\\users.csv" (holds a backslash, which Windows and some servers read as a separator, so it could be read as a path), "users\x1b.csv" (holds a control character, which servers, listings and logs mangle)`)

	// Each refused name is logged once, with its own reason, quoted once,
	// however many times a watching Runner lists the folder.
	var logs bytes.Buffer
	opts := fastOptions()
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	watched := dial(t, config(srv), opts)
	for range 3 {
		_, err := watched.List(t.Context())
		require.NoError(t, err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 2, "%s", logs.String())
	assert.Contains(t, logs.String(), `file name refused" folder=in name=..\users.csv reason="the name holds a backslash, which Windows and some servers read as a separator, so it could be read as a path"`)
	assert.Contains(t, logs.String(), `file name refused" folder=in name="users\x1b.csv" reason="the name holds a control character, which servers, listings and logs mangle"`)
}

// SMARTFENSE's setup names the file by its absolute path.
func TestAbsoluteFilePath(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("imports/users.csv", synctest.CSV(3), time.Now()))
	require.NoError(t, srv.Put("imports/other.csv", synctest.CSV(5), time.Now()))
	cfg := config(srv)
	cfg.Dir, cfg.File = "", "/imports/users.csv"
	s := synctest.New(t, dial(t, cfg, nil), source.PickupOptions{})
	res, err := s.P.Run(t.Context())
	require.NoError(t, err)
	require.Len(t, res.Files, 1)
	assert.Equal(t, "users.csv", res.Files[0].Name)
	assert.Equal(t, 3, s.Users())
}

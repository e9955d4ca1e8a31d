package sftpsource_test

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/sftptest"
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/source"
)

func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name)))
	return err == nil
}

// The connection drops mid-transfer: the run fails with nothing applied,
// the file stays for the next run, which applies it.
func TestConnectionCutMidTransfer(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	data := synctest.CSV(20000) // about 700 KB
	require.NoError(t, srv.Put("in/users.csv", data, time.Now()))
	proxy := sftptest.NewProxy(t, srv.Addr)
	cfg := config(t, srv)
	cfg.Addr = proxy.Addr
	cfg.KnownHostsFile, cfg.HostKeyFingerprints = "", []string{srv.Fingerprint()}
	src := dial(t, cfg, nil)
	s := synctest.New(t, src, source.PickupOptions{AfterSuccess: source.Delete, ErrorFolder: "failed"})

	proxy.CutAfter(300 << 10) // new connections are cut after 300 KB from the server
	srv.DropConnections()
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
	srv.DropConnections()
	res, err = s.P.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 20000, s.Users())
	assert.Equal(t, int64(len(data)), res.Files[0].Bytes)
	assert.False(t, exists(srv.Dir, "in/users.csv"), "deleted after success")
}

func TestArchiveAfterSuccess(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", synctest.CSV(3), time.Now()))
	s := synctest.New(t, dial(t, config(t, srv), nil), source.PickupOptions{Pattern: "users.csv", AfterSuccess: source.Archive})
	res, err := s.P.Run(t.Context())
	require.NoError(t, err)
	require.NoError(t, res.Files[0].FinishErr)
	assert.False(t, exists(srv.Dir, "in/users.csv"))
	assert.True(t, exists(srv.Dir, "in/archive/20260314T020000Z-users.csv"))

	// The same content again: nothing to do, archived beside the first.
	require.NoError(t, srv.Put("in/users.csv", synctest.CSV(3), time.Now()))
	res, err = s.P.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, usersync.NothingToDo, res.Status)
	assert.True(t, exists(srv.Dir, "in/archive/20260314T020000Z-2-users.csv"))
}

// A file still being uploaded grows between the Picker's two looks and is
// left for later.
func TestGrowingFileIsNotTaken(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	data := synctest.CSV(100)
	require.NoError(t, srv.Put("in/users.csv", data[:100], time.Now()))
	s := synctest.New(t, dial(t, config(t, srv), nil), source.PickupOptions{
		StableFor: time.Second,
		Sleep: func(context.Context, time.Duration) error {
			return srv.Put("in/users.csv", data[:200], time.Now()) // the upload goes on
		},
	})
	res, err := s.P.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, usersync.NothingToDo, res.Status)
	assert.Empty(t, res.Files)
}

func TestRefusedNamesAreNotTaken(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	for _, name := range []string{"in/users.csv", "in/..\\users.csv", "in/users\x1b.csv"} {
		require.NoError(t, srv.Put(name, synctest.CSV(2), time.Now()))
	}
	s := synctest.New(t, dial(t, config(t, srv), nil), source.PickupOptions{})
	res, err := s.P.Run(t.Context())
	require.NoError(t, err)
	require.Len(t, res.Files, 1)
	assert.Equal(t, "users.csv", res.Files[0].Name)

	src := dial(t, config(t, srv), nil)
	_, err = src.Open(t.Context(), "..\\users.csv")
	assert.ErrorIs(t, err, fs.ErrInvalid)

	// Each refused name is logged once, with its own reason, quoted once,
	// however many times a watching Runner lists the folder.
	var logs bytes.Buffer
	opts := fastOptions()
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	watched := dial(t, config(t, srv), opts)
	for range 3 {
		_, err := watched.List(t.Context())
		require.NoError(t, err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 2, "%s", logs.String())
	assert.Contains(t, logs.String(), `file name refused" folder=in name=..\users.csv reason="the name holds a backslash, which Windows and some servers read as a separator, so it could be read as a path"`)
	assert.Contains(t, logs.String(), `file name refused" folder=in name="users\x1b.csv" reason="the name holds a control character, which servers, listings and logs mangle"`)
}

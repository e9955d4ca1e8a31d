package sftpsource_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/internal/sftptest"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source"
)

// users returns a CSV file of n users.
func users(n int) []byte {
	var b strings.Builder
	b.WriteString("id,name,email\n")
	for i := range n {
		fmt.Fprintf(&b, "e%d,User %d,user%d@example.com\n", i, i, i)
	}
	return []byte(b.String())
}

// syncer is a Pipeline reading an SFTP folder through a Picker.
type syncer struct {
	p    *usersync.Pipeline
	sink *memsink.Sink
	now  time.Time
}

func newSyncer(t *testing.T, src usersync.Source, opts source.PickupOptions) *syncer {
	t.Helper()
	s := &syncer{sink: memsink.New(), now: time.Date(2026, 3, 14, 2, 0, 0, 0, time.UTC)}
	opts.Now = func() time.Time { return s.now }
	opts.Logger = quiet
	if opts.MinAge == 0 {
		opts.MinAge = -1
	}
	pick, err := source.Pickup(src, &opts)
	require.NoError(t, err)
	m, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Role: csvmap.Key},
		{Name: "name", Required: true},
		{Name: "email", Kind: csvmap.Email, Required: true},
	}}, nil)
	require.NoError(t, err)
	s.p = &usersync.Pipeline{Source: pick, Mapper: m, Reconciler: reconcile.New(nil), Sink: s.sink}
	return s
}

func (s *syncer) users() int {
	u, _ := s.sink.Snapshot()
	return len(u)
}

func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name)))
	return err == nil
}

// The connection drops mid-transfer: the run fails with nothing applied,
// the file stays for the next run, which applies it.
func TestConnectionCutMidTransfer(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	data := users(20000) // about 700 KB
	require.NoError(t, srv.Put("in/users.csv", data, time.Now()))
	proxy := sftptest.NewProxy(t, srv.Addr)
	cfg := config(t, srv)
	cfg.Addr = proxy.Addr
	cfg.KnownHostsFile, cfg.HostKeyFingerprints = "", []string{srv.Fingerprint()}
	src := dial(t, cfg, nil)
	s := newSyncer(t, src, source.PickupOptions{AfterSuccess: source.Delete, ErrorFolder: "failed"})

	proxy.CutAfter(300 << 10) // new connections are cut after 300 KB from the server
	srv.DropConnections()
	res, err := s.p.Run(t.Context())
	require.Error(t, err)
	assert.Equal(t, usersync.Failed, res.Status)
	var fe *usersync.FileError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "read", fe.Op)
	assert.Less(t, res.Files[0].Bytes, int64(len(data)))
	assert.Zero(t, s.users(), "nothing applied")
	assert.True(t, exists(srv.Dir, "in/users.csv"), "the file stays for the next run")

	proxy.CutAfter(0)
	srv.DropConnections()
	res, err = s.p.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 20000, s.users())
	assert.Equal(t, int64(len(data)), res.Files[0].Bytes)
	assert.False(t, exists(srv.Dir, "in/users.csv"), "deleted after success")
}

func TestArchiveAfterSuccess(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", users(3), time.Now()))
	s := newSyncer(t, dial(t, config(t, srv), nil), source.PickupOptions{Pattern: "users.csv", AfterSuccess: source.Archive})
	res, err := s.p.Run(t.Context())
	require.NoError(t, err)
	require.NoError(t, res.Files[0].FinishErr)
	assert.False(t, exists(srv.Dir, "in/users.csv"))
	assert.True(t, exists(srv.Dir, "in/archive/20260314T020000Z-users.csv"))

	// The same content again: nothing to do, archived beside the first.
	require.NoError(t, srv.Put("in/users.csv", users(3), time.Now()))
	res, err = s.p.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, usersync.NothingToDo, res.Status)
	assert.True(t, exists(srv.Dir, "in/archive/20260314T020000Z-2-users.csv"))
}

// A file still being uploaded grows between the Picker's two looks and is
// left for later.
func TestGrowingFileIsNotTaken(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	data := users(100)
	require.NoError(t, srv.Put("in/users.csv", data[:100], time.Now()))
	s := newSyncer(t, dial(t, config(t, srv), nil), source.PickupOptions{
		StableFor: time.Second,
		Sleep: func(context.Context, time.Duration) error {
			return srv.Put("in/users.csv", data[:200], time.Now()) // the upload goes on
		},
	})
	res, err := s.p.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, usersync.NothingToDo, res.Status)
	assert.Empty(t, res.Files)
}

func TestRefusedNamesAreNotTaken(t *testing.T) {
	srv := sftptest.NewServer(t, nil)
	for _, name := range []string{"in/users.csv", "in/..\\users.csv", "in/users\x1b.csv"} {
		require.NoError(t, srv.Put(name, users(2), time.Now()))
	}
	s := newSyncer(t, dial(t, config(t, srv), nil), source.PickupOptions{})
	res, err := s.p.Run(t.Context())
	require.NoError(t, err)
	require.Len(t, res.Files, 1)
	assert.Equal(t, "users.csv", res.Files[0].Name)

	src := dial(t, config(t, srv), nil)
	_, err = src.Open(t.Context(), "..\\users.csv")
	assert.ErrorIs(t, err, fs.ErrInvalid)
}

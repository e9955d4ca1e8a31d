package ftpsource_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/internal/ftptest"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/ftpsource"
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

// syncer is a Pipeline reading an FTP folder through a Picker.
type syncer struct {
	p    *usersync.Pipeline
	sink *memsink.Sink
}

func newSyncer(t *testing.T, src usersync.Source, opts source.PickupOptions) *syncer {
	t.Helper()
	s := &syncer{sink: memsink.New()}
	opts.Now = func() time.Time { return time.Date(2026, 3, 14, 2, 0, 0, 0, time.UTC) }
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

// The data connection is cut mid-transfer: the run fails with nothing
// applied, the file stays for the next run, which applies it.
func TestDataConnectionCutMidTransfer(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	data := users(20000) // about 700 KB
	require.NoError(t, srv.Put("in/users.csv", data, time.Now()))
	opts := fastOptions()
	proxy := viaProxy(t, opts)
	s := newSyncer(t, dial(t, config(srv), opts), source.PickupOptions{AfterSuccess: source.Delete, ErrorFolder: "failed"})

	proxy.CutAfter(300 << 10) // new connections, the data connection among them, are cut after 300 KB from the server
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
	res, err = s.p.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 20000, s.users())
	assert.Equal(t, int64(len(data)), res.Files[0].Bytes)
	assert.False(t, exists(srv.Dir, "in/users.csv"), "deleted after success")
}

// A server that stops answering: the run fails within the timeout,
// nothing applied, the file stays. (TestStalledServer stalls a download
// under way.)
func TestStalledServerFailsRun(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", users(100), time.Now()))
	opts := shortTimeouts()
	proxy := viaProxy(t, opts)
	s := newSyncer(t, dial(t, config(srv), opts), source.PickupOptions{AfterSuccess: source.Delete})
	proxy.Stall()
	var err error
	within(t, 2*timeoutBound, func() { _, err = s.p.Run(t.Context()) })
	assert.ErrorIs(t, err, ftpsource.ErrTimeout)
	assert.Zero(t, s.users(), "nothing applied")
	assert.True(t, exists(srv.Dir, "in/users.csv"), "the file stays for the next run")

	proxy.Resume()
	_, err = s.p.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 100, s.users())
}

func TestArchiveAfterSuccess(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("in/users.csv", users(3), time.Now()))
	s := newSyncer(t, dial(t, config(srv), nil), source.PickupOptions{Pattern: "users.csv", AfterSuccess: source.Archive})
	res, err := s.p.Run(t.Context())
	require.NoError(t, err)
	require.NoError(t, res.Files[0].FinishErr)
	assert.False(t, exists(srv.Dir, "in/users.csv"))
	assert.True(t, exists(srv.Dir, "in/archive/20260314T020000Z-users.csv"))
}

func TestRefusedNamesAreNotTaken(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	for _, name := range []string{"in/users.csv", "in/..\\users.csv", "in/users\x1b.csv"} {
		require.NoError(t, srv.Put(name, users(2), time.Now()))
	}
	src := dial(t, config(srv), nil)
	s := newSyncer(t, src, source.PickupOptions{})
	res, err := s.p.Run(t.Context())
	require.NoError(t, err)
	require.Len(t, res.Files, 1)
	assert.Equal(t, "users.csv", res.Files[0].Name)

	results := src.Check(t.Context())
	require.Len(t, results, 4)
	assert.Contains(t, results[3].Detail, `names refused (they could be read as paths): "..\\users.csv", "users\x1b.csv"`)
}

// SMARTFENSE's setup names the file by its absolute path.
func TestAbsoluteFilePath(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	require.NoError(t, srv.Put("imports/users.csv", users(3), time.Now()))
	require.NoError(t, srv.Put("imports/other.csv", users(5), time.Now()))
	cfg := config(srv)
	cfg.Dir, cfg.File = "", "/imports/users.csv"
	s := newSyncer(t, dial(t, cfg, nil), source.PickupOptions{})
	res, err := s.p.Run(t.Context())
	require.NoError(t, err)
	require.Len(t, res.Files, 1)
	assert.Equal(t, "users.csv", res.Files[0].Name)
	assert.Equal(t, 3, s.users())
}

package ftpsource_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/internal/ftptest"
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/ftpsource"
)

// listForger is the name of an upload that forges LIST entries: a server
// that lists with LIST (vsftpd has no MLSD) writes a name as it is, so the
// line breaks in it start lines of their own, which a client reads as
// entries with the sizes and times the uploader chose: here "users.csv",
// which is really there with another size and time, and "ghost.csv", which
// is not. mlsdForger does the same with MLSD's lines.
const (
	listForger = "notes\n" +
		"-rw-r--r--    1 ftp      ftp           999 Jan 01  2020 users.csv\n" +
		"-rw-r--r--    1 ftp      ftp             5 Jan 01  2020 ghost.csv"
	mlsdForger = "notes\n" +
		"type=file;size=999;modify=20200101000000; users.csv\n" +
		"type=file;size=5;modify=20200101000000; ghost.csv"
)

// testForgedListing puts the real users.csv and the forger in a folder,
// through put, and checks what src lists and what a sync takes.
func testForgedListing(t *testing.T, forger string, put func(name string, data []byte, mod time.Time) error, dialSrc func(opts *ftpsource.Options) *ftpsource.Source) {
	mod := time.Date(2026, 3, 14, 1, 0, 0, 0, time.UTC)
	data := synctest.CSV(2)
	require.NoError(t, put("users.csv", data, mod))
	require.NoError(t, put(forger, []byte("forged"), mod))

	var logs bytes.Buffer
	opts := fastOptions()
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	src := dialSrc(opts)
	for range 3 { // as a watching Runner would
		files, err := src.List(t.Context())
		require.NoError(t, err)
		require.Len(t, files, 1, "only the real file: %v", files)
		assert.Equal(t, "users.csv", files[0].Name)
		assert.Equal(t, int64(len(data)), files[0].Size, "the server's SIZE, not the forged listing's")
		assert.True(t, mod.Equal(files[0].ModTime), "the server's MDTM, not the forged listing's: %v", files[0].ModTime)
	}
	for _, name := range []string{"notes", "ghost.csv"} {
		assert.Equal(t, 1, strings.Count(logs.String(), "name="+name+"\n"), "%s logged once:\n%s", name, logs.String())
	}
	assert.Contains(t, logs.String(), "level=WARN")
	assert.Contains(t, logs.String(), "line break")

	// A sync takes the real file and does not fail on the ghost.
	s := synctest.New(t, src, source.PickupOptions{Pattern: "*.csv"})
	res, err := s.P.Run(t.Context())
	require.NoError(t, err)
	require.Len(t, res.Files, 1)
	assert.Equal(t, "users.csv", res.Files[0].Name)
}

func TestForgedListEntriesAreDropped(t *testing.T) {
	srv := ftptest.NewServer(t, &ftptest.Options{NoMLSD: true})
	testForgedListing(t, listForger,
		func(name string, data []byte, mod time.Time) error { return srv.Put("in/"+name, data, mod) },
		func(opts *ftpsource.Options) *ftpsource.Source { return dial(t, config(srv), opts) })
}

// MLSD sends names as they are too: its lines can be forged the same way.
func TestForgedListEntriesWithMLSD(t *testing.T) {
	srv := ftptest.NewServer(t, nil)
	testForgedListing(t, mlsdForger,
		func(name string, data []byte, mod time.Time) error { return srv.Put("in/"+name, data, mod) },
		func(opts *ftpsource.Options) *ftpsource.Source { return dial(t, config(srv), opts) })
}

// Against real vsftpd, which lists with LIST only.
func TestVsftpdForgedListEntriesAreDropped(t *testing.T) {
	v := realVsftpd(t)
	remote, local := v.newFolder(t)
	testForgedListing(t, listForger,
		func(name string, data []byte, mod time.Time) error { return put(local, name, data, mod) },
		func(opts *ftpsource.Options) *ftpsource.Source { return dial(t, v.config(t, remote), opts) })
}

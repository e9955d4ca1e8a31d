package main

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A gzip file and a zip are opened by default; unpack.off reads them as
// delivered, and the run fails with nothing applied.
func TestRunOpensContainers(t *testing.T) {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(users(1, 8))
	require.NoError(t, w.Close())
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	fw, err := zw.Create("users.csv")
	require.NoError(t, err)
	fw.Write(users(1, 5))
	require.NoError(t, zw.Close())

	for _, tc := range []struct {
		name  string
		data  []byte
		users int
		file  string
	}{
		{"users.csv.gz", gz.Bytes(), 8, "users.csv.gz"},
		{"users.zip", zb.Bytes(), 5, "users.zip/users.csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.anyUsersFile()
			f.deliver(tc.name, tc.data)
			r := f.run("run", "--json")
			require.Equal(t, exitOK, r.code, r)
			assert.Equal(t, tc.users, countUsersIn(t, filepath.Join(f.dir, "users.db"), "managed"))

			f = newFixture(t)
			f.anyUsersFile()
			f.extra = "unpack:\n  off: true\n"
			f.deliver(tc.name, tc.data)
			r = f.run("run")
			require.Equal(t, exitFailed, r.code, r)
			assert.Zero(t, countUsersIn(t, filepath.Join(f.dir, "users.db"), ""), "nothing applied")
		})
	}
}

func TestUnpackConfigRefusesNegativeLimits(t *testing.T) {
	f := newFixture(t)
	f.extra = "unpack:\n  max_files: -1\n"
	r := f.run("run")
	assert.NotEqual(t, exitOK, r.code)
	assert.Contains(t, r.stdout+r.stderr, "unpack.max_files")
}

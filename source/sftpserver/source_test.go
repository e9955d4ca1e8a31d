package sftpserver_test

import (
	"context"
	"path"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/source/sftpserver"
	"github.com/usersync/usersync/source/sourcetest"
)

// harness puts files into a tenant's folder by uploading them through the
// server, as the tenant would, and reads them with NewSource.
type harness struct {
	root string
	c    *sftp.Client
}

func (h *harness) MakeSource(context.Context) (usersync.Source, error) {
	return sftpserver.NewSource(h.root)
}

func (h *harness) Put(_ context.Context, name string, data []byte, modTime time.Time) error {
	if dir := path.Dir(name); dir != "." {
		if err := h.c.MkdirAll(dir); err != nil {
			return err
		}
	}
	if err := put(h.c, name, data); err != nil {
		return err
	}
	return h.c.Chtimes(name, modTime, modTime)
}

func (h *harness) Close() {}

func TestSourceConformance(t *testing.T) {
	sourcetest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (sourcetest.Harness, error) {
		ts := newTestServer(t, nil)
		acme := ts.addTenant(t, "acme", sftpserver.Quota{})
		return &harness{root: acme.root, c: ts.client(t, acme)}, nil
	})
}

func TestSourceWithPickup(t *testing.T) {
	sy := newSyncer(t)
	ts := newTestServer(t, &sftpserver.Options{OnUpload: sy.onUpload})
	acme := ts.addTenant(t, "acme", sftpserver.Quota{})
	sy.add(acme.id, acme.root)
	c := ts.client(t, acme)
	day1 := []byte("id,email\n1,ann@example.com\n2,bob@example.com\n")
	require.NoError(t, put(c, "users.csv", day1))
	sy.waitRuns(acme.id, 1)
	require.NoError(t, put(c, "notes.txt", []byte("not a users file"))) // announced; Pickup's pattern skips it
	sy.waitRuns(acme.id, 2)
	require.NoError(t, put(c, "users.csv", day1)) // the same content again
	sy.close()

	runs := sy.runs[acme.id]
	require.Len(t, runs, 3)
	require.NoError(t, runs[0].Err)
	require.Equal(t, 2, runs[0].Applied.Created)
	require.Empty(t, runs[1].Files, "the sync after notes.txt finds no users file")
	require.Len(t, runs[2].Files, 1)
	require.True(t, runs[2].Files[0].AlreadyApplied, "content applied before is not applied again")
	require.Equal(t, map[string]int64{"notes.txt": 16}, folderFiles(t, acme))
}

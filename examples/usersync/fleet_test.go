package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFleet runs the fleet command over a folder of two tenants' config
// files with the SQLite default: --trigger queues a sync of each, which the
// worker runs; --status then shows both synced and due again in an hour.
func TestFleet(t *testing.T) {
	dir := t.TempDir()
	none := func(string) (string, bool) { return "", false }
	addTenant := func(id string, n int) {
		inbox := filepath.Join(dir, "inbox-"+id)
		require.NoError(t, os.MkdirAll(inbox, 0o700))
		p := filepath.Join(inbox, "users.csv")
		require.NoError(t, os.WriteFile(p, users(1, n), 0o600))
		old := time.Now().Add(-time.Hour)
		require.NoError(t, os.Chtimes(p, old, old))
		cfg := fmt.Sprintf("name: %s\nsource:\n  local:\n    folder: inbox-%s\n  pattern: \"users*.csv\"\n  min_age: 0\n"+
			"mapping:\n  preset: cosafe\nsink:\n  sqlite:\n    path: users-%s.db\n  tenant: %s\nschedule:\n  every: 1h\n", id, id, id, id)
		require.NoError(t, os.WriteFile(filepath.Join(dir, id+".yaml"), []byte(cfg), 0o600))
	}
	addTenant("acme", 60)
	addTenant("globex", 40)

	var out, errOut strings.Builder
	for _, id := range []string{"acme", "globex"} {
		code := run(context.Background(), []string{"fleet", "--trigger", id, dir}, &out, &errOut, none)
		require.Equal(t, exitOK, code, "stderr:\n%s", errOut.String())
		assert.Contains(t, out.String(), "a sync of "+id+" is queued")
	}
	code := run(context.Background(), []string{"fleet", "--trigger", "nobody", dir}, &out, &errOut, none)
	assert.NotEqual(t, exitOK, code)
	assert.Contains(t, errOut.String(), "unknown tenant")

	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"fleet", "--workers", "2", dir}, stdout, stderr, none) }()
	defer func() {
		if t.Failed() {
			t.Logf("stderr:\n%s", stderr.String())
		}
	}()
	waitFor(t, "both tenants' first runs", func() bool {
		return tryCount(filepath.Join(dir, "users-acme.db")) == 60 && tryCount(filepath.Join(dir, "users-globex.db")) == 40
	})
	cancel()
	select {
	case code := <-done:
		require.Equal(t, exitOK, code, "stderr:\n%s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("fleet did not stop")
	}
	assert.Contains(t, stderr.String(), "fleet: worker stopped")

	out.Reset()
	code = run(context.Background(), []string{"fleet", "--status", dir}, &out, &errOut, none)
	require.Equal(t, exitOK, code, "stderr:\n%s", errOut.String())
	t.Logf("fleet --status:\n%s", out.String())
	assert.Contains(t, out.String(), "TENANT")
	for _, id := range []string{"acme", "globex"} {
		assert.Regexp(t, id+` .*succeeded +\d+ +\S+ \S+ scheduled`, out.String())
	}

	code = run(context.Background(), []string{"fleet", "--database-url", "postgres://u:secret@127.0.0.1/db", dir}, &out, &errOut, none)
	assert.Equal(t, exitUsage, code)
	assert.NotContains(t, errOut.String(), "secret")
}

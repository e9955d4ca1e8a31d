package usersync_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/locktest"
)

func TestFileLockConformance(t *testing.T) {
	locktest.Run(t, func(t *testing.T) (a, b usersync.Locker) {
		path := filepath.Join(t.TempDir(), "acme.lock")
		return usersync.FileLock(path), usersync.FileLock(path)
	})
}

func TestFileLock(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "acme.lock")
	lock := usersync.FileLock(path)

	unlock, err := lock.Lock(ctx)
	require.NoError(t, err)
	content, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Regexp(t, fmt.Sprintf(`^pid %d on .* since \d{4}-\d\d-\d\dT`, os.Getpid()), string(content))

	_, err = usersync.FileLock(path).Lock(ctx)
	require.ErrorIs(t, err, usersync.ErrLocked)
	assert.Equal(t, fmt.Sprintf("usersync: lock file %s is held by %s: another sync holds the lock", path, strings.TrimSpace(string(content))), err.Error())

	require.NoError(t, unlock(ctx))
	content, err = os.ReadFile(path)
	require.NoError(t, err, "the file stays")
	assert.Empty(t, content, "and no longer names a holder")

	again, err := lock.Lock(ctx)
	require.NoError(t, err)
	require.NoError(t, again(ctx))
}

func TestFileLockErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := usersync.FileLock(filepath.Join(t.TempDir(), "x.lock")).Lock(ctx)
	require.ErrorIs(t, err, context.Canceled)

	_, err = usersync.FileLock(filepath.Join(t.TempDir(), "no such folder", "x.lock")).Lock(t.Context())
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.False(t, errors.Is(err, usersync.ErrLocked))
}

// The lock holds against another process, and the system releases it when
// that process dies without unlocking.
func TestFileLockAcrossProcesses(t *testing.T) {
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no processes")
	}
	path := filepath.Join(t.TempDir(), "acme.lock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestFileLockHelper$")
	cmd.Env = append(os.Environ(), "USERSYNC_LOCK_HELPER="+path)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stdin, err = os.Open(os.DevNull)
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)

	_, err = usersync.FileLock(path).Lock(t.Context())
	require.ErrorIs(t, err, usersync.ErrLocked)
	assert.Contains(t, err.Error(), fmt.Sprintf("held by pid %d ", cmd.Process.Pid))

	require.NoError(t, cmd.Process.Kill()) // no unlock: a crash
	cmd.Wait()
	unlock, err := usersync.FileLock(path).Lock(t.Context())
	require.NoError(t, err, "the dead holder's lock is gone")
	require.NoError(t, unlock(t.Context()))
}

// TestFileLockHelper is the other process of TestFileLockAcrossProcesses:
// it takes the lock, says so, and waits to be killed.
func TestFileLockHelper(t *testing.T) {
	path := os.Getenv("USERSYNC_LOCK_HELPER")
	if path == "" {
		t.Skip("run by TestFileLockAcrossProcesses")
	}
	if _, err := usersync.FileLock(path).Lock(context.Background()); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("locked")
	time.Sleep(waitLimit) // killed long before
}

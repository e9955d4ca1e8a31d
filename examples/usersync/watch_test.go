package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/examples/usersync/internal/config"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls cond until it holds, failing the test after a while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWatchOnNewFile runs watch in process: a file that arrives is synced,
// a changed one too, and canceling its ctx (what SIGINT and SIGTERM do)
// stops it with exit code 0.
func TestWatchOnNewFile(t *testing.T) {
	f := newFixture(t)
	f.schedule = "schedule:\n  on_new_file: true\n  poll: 1s\n"
	cfgPath := f.path()
	db := filepath.Join(f.dir, "users.db")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"-c", cfgPath, "watch", "--json"}, &stdout, &stderr, f.lookupEnv) }()

	f.deliver("users.csv", users(1, 3))
	waitFor(t, "the first file's run", func() bool { return strings.Count(stdout.String(), "\n") >= 1 })
	assert.Equal(t, 3, countUsersIn(t, db, "managed"))

	f.deliver("users.csv", []byte(strings.ReplaceAll(string(users(1, 3)), "Nurse", "Head nurse")))
	waitFor(t, "the changed file's run", func() bool { return strings.Count(stdout.String(), "\n") >= 2 })
	assert.Equal(t, 3, countUsersIn(t, db, `json_extract(attrs, '$.title') = 'Head nurse'`))

	cancel()
	select {
	case code := <-done:
		assert.Equal(t, exitOK, code, "stderr:\n%s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("watch did not stop when its ctx was canceled")
	}

	// --json: one JSON document per run, one a line.
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.Len(t, lines, 2, stdout.String())
	var first, second jsonOutput
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &second))
	assert.Equal(t, "watch", first.Command)
	assert.Equal(t, "succeeded", first.Status)
	assert.Equal(t, 3, first.Summary.Counts.Applied.Created)
	assert.Equal(t, 3, second.Summary.Counts.Applied.Updated)
	assert.Contains(t, stderr.String(), "usersync: watching", "watch logs what it does")
}

func TestWatchNeedsSchedule(t *testing.T) {
	f := newFixture(t)
	r := f.run("watch")
	assert.Equal(t, exitUsage, r.code, r)
	assert.Contains(t, r.stderr, "has no schedule: section")
}

// TestWatchBinarySIGTERM runs the built binary's watch, and stops it with
// SIGTERM, as a service manager does.
func TestWatchBinarySIGTERM(t *testing.T) {
	f := newFixture(t)
	f.schedule = "schedule:\n  every: 1h\n  on_new_file: true\n  poll: 1s\n"
	f.deliver("users.csv", users(1, 2))
	cmd := exec.Command(binary, "-c", f.path(), "watch")
	cmd.Env = []string{"HOME=" + f.dir}
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	waitFor(t, "the first run", func() bool { return strings.Contains(stdout.String(), "succeeded") })
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		require.NoError(t, err, "watch exits 0 on SIGTERM; stderr:\n%s", stderr.String())
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("watch did not stop on SIGTERM")
	}
	assert.Contains(t, stdout.String(), "usersync Acme: succeeded — 2 created")
	assert.Contains(t, stderr.String(), "stopped")
}

func TestDescribeSchedule(t *testing.T) {
	cfg, err := config.Parse(filepath.Join(t.TempDir(), "c.yaml"), []byte(`source: {local: {folder: .}}
mapping: {preset: cosafe}
sink: {sqlite: {path: x.db}}
schedule:
  daily: ["00:15", "12:15"]
  time_zone: America/Chicago
  pause:
    - {from: 2026-12-23, to: 2027-01-02}
`), nil)
	require.NoError(t, err)
	chicago := cfg.Schedule.Location()
	desc, err := describeSchedule(cfg.Schedule, time.Date(2026, 12, 22, 13, 0, 0, 0, chicago))
	require.NoError(t, err)
	assert.Equal(t, "daily at 00:15, 12:15 America/Chicago; next run 2027-01-03 00:15 CST; 1 pause windows", desc,
		"the next run skips the pause")

	s, err := schedule(cfg.Schedule)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Date(2026, 3, 8, 0, 15, 0, 0, chicago), s.Next(time.Date(2026, 3, 7, 12, 30, 0, 0, chicago)), 0)
	assert.WithinDuration(t, time.Date(2026, 3, 8, 12, 15, 0, 0, chicago), s.Next(time.Date(2026, 3, 8, 0, 15, 0, 0, chicago)), 0,
		"the day daylight saving time begins, both times fire")
}

// startWatch runs watch in process until the test ends, and returns its
// stdout and stderr.
func startWatch(t *testing.T, f *fixture, args ...string) (stdout, stderr *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	cfgPath := f.path()
	go func() {
		done <- run(ctx, append([]string{"-c", cfgPath, "watch"}, args...), stdout, stderr, f.lookupEnv)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			assert.Equal(t, exitOK, code, "stderr:\n%s", stderr.String())
		case <-time.After(30 * time.Second):
			t.Error("watch did not stop")
		}
	})
	return stdout, stderr
}

func TestWatchNowAndHeld(t *testing.T) {
	f := newFixture(t)
	f.schedule = "schedule:\n  every: 1h\n"
	f.deliver("users.csv", users(1, 60))
	stdout, _ := startWatch(t, f, "--now")
	waitFor(t, "the run --now asks for", func() bool { return strings.Contains(stdout.String(), "60 created") })

	f2 := newFixture(t)
	f2.schedule = "schedule:\n  on_new_file: true\n  poll: 1s\n"
	f2.deliver("users.csv", users(1, 60))
	stdout, _ = startWatch(t, f2, "-q")
	waitFor(t, "the first file", func() bool { return tryCount(filepath.Join(f2.dir, "users.db")) == 60 })
	assert.Empty(t, stdout.String(), "-q prints only what needs someone")
	f2.deliver("users.csv", users(1, 5))
	waitFor(t, "the held run", func() bool { return strings.Contains(stdout.String(), "the held plan was saved to") })
	assert.Contains(t, stdout.String(), "held")
}

func TestWatchPaused(t *testing.T) {
	f := newFixture(t)
	f.schedule = "schedule:\n  on_new_file: true\n  poll: 1s\n  pause:\n    - {from: 2000-01-01, to: 2999-12-31}\n"
	f.deliver("users.csv", users(1, 2))
	stdout, stderr := startWatch(t, f)
	waitFor(t, "the skipped run to be logged", func() bool { return strings.Contains(stderr.String(), "paus") })
	assert.Empty(t, stdout.String(), "no run during a pause")
	assert.Zero(t, countUsersIn(t, filepath.Join(f.dir, "users.db"), ""))
}

// tryCount counts the users of the SQLite directory, or returns -1 while it
// cannot (the first run has not created the tables yet).
func tryCount(dbPath string) int {
	db, err := sqlite.Open(dbPath)
	if err != nil {
		return -1
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM usersync_users").Scan(&n); err != nil {
		return -1
	}
	return n
}

// TestWatchServesMetrics runs watch with --metrics-addr: once a file is
// synced, /metrics counts the run and /healthz passes.
func TestWatchServesMetrics(t *testing.T) {
	f := newFixture(t)
	f.schedule = "schedule:\n  on_new_file: true\n  poll: 1s\n"
	cfgPath := f.path()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-c", cfgPath, "watch", "--json", "--metrics-addr", "127.0.0.1:0"}, &stdout, &stderr, f.lookupEnv)
	}()
	var base string
	waitFor(t, "the metrics address in the log", func() bool {
		_, rest, ok := strings.Cut(stderr.String(), "http://")
		if !ok {
			return false
		}
		addr, _, ok := strings.Cut(rest, "/metrics")
		base = "http://" + addr
		return ok
	})
	f.deliver("users.csv", users(1, 3))
	waitFor(t, "the first file's run", func() bool { return strings.Count(stdout.String(), "\n") >= 1 })

	body := httpGet(t, base+"/metrics", http.StatusOK)
	assert.Contains(t, body, `usersync_runs_total{feed=`)
	assert.Contains(t, body, `status="succeeded"`)
	httpGet(t, base+"/healthz", http.StatusOK)

	cancel()
	select {
	case code := <-done:
		assert.Equal(t, exitOK, code, "stderr:\n%s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("watch did not stop when its ctx was canceled")
	}
}

func httpGet(t *testing.T, url string, want int) string {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, want, res.StatusCode, "%s: %s", url, b)
	return string(b)
}

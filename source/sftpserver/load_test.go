package sftpserver_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/sftpserver"
)

// syncer runs a tenant's sync for each upload announced, one at a time per
// tenant, off the server's goroutine, as a host would.
type syncer struct {
	t      testing.TB
	mu     sync.Mutex
	queues map[string]chan sftpserver.Upload
	runs   map[string][]*usersync.Result
	sinks  map[string]*memsink.Sink
	roots  map[string]string
	wg     sync.WaitGroup
}

func newSyncer(t testing.TB) *syncer {
	return &syncer{t: t, queues: map[string]chan sftpserver.Upload{}, runs: map[string][]*usersync.Result{},
		sinks: map[string]*memsink.Sink{}, roots: map[string]string{}}
}

// add makes a tenant's sync: Pickup over its folder, taking files at once
// and deleting them after success, a CSV mapper, a memsink.
func (s *syncer) add(id, root string) {
	q := make(chan sftpserver.Upload, 16)
	sink := memsink.New()
	s.mu.Lock()
	s.queues[id], s.sinks[id], s.roots[id] = q, sink, root
	s.mu.Unlock()
	src, err := sftpserver.NewSource(root)
	require.NoError(s.t, err)
	picker, err := source.Pickup(src, &source.PickupOptions{
		Pattern: "*.csv", MinAge: -1, AfterSuccess: source.Delete, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(s.t, err)
	mapper, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Role: csvmap.Key}, {Name: "email", Kind: csvmap.Email, Required: true},
	}}, nil)
	require.NoError(s.t, err)
	p := &usersync.Pipeline{Source: picker, Mapper: mapper, Reconciler: reconcile.New(nil), Sink: sink}
	s.wg.Go(func() {
		defer picker.Close()
		for range q {
			res, _ := p.Run(context.Background())
			s.mu.Lock()
			s.runs[id] = append(s.runs[id], res)
			s.mu.Unlock()
		}
	})
}

// onUpload queues a sync; it never blocks the server for long.
func (s *syncer) onUpload(u sftpserver.Upload) {
	s.mu.Lock()
	q := s.queues[u.TenantID]
	s.mu.Unlock()
	q <- u
}

// close waits for the queued syncs.
// waitRuns waits until tenant id's syncs have run n times: a test that
// uploads again only then knows which files each run saw.
func (s *syncer) waitRuns(id string, n int) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		got := len(s.runs[id])
		s.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("tenant %s: %d syncs ran, want %d", id, got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *syncer) close() {
	s.mu.Lock()
	for _, q := range s.queues {
		close(q)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// usersCSV returns a CSV file of n users with random ids.
func usersCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("id,email\n")
	for range n {
		id := randomHex(8)
		fmt.Fprintf(&b, "%s,%s@example.com\n", id, id)
	}
	return b.Bytes()
}

// TestFiftyTenantsUploadAtOnce uploads a users file for each of 50 tenants
// at once, half logging in with a key and half with a password: every file
// arrives intact, is announced once with its hash, and triggers exactly one
// sync, which reads that very content.
func TestFiftyTenantsUploadAtOnce(t *testing.T) {
	const tenants = 50
	sy := newSyncer(t)
	ts := newTestServer(t, &sftpserver.Options{MaxConnectionsPerIP: tenants, OnUpload: sy.onUpload})
	type job struct {
		tn    *tenant
		data  []byte
		users int
	}
	jobs := make([]job, tenants)
	for i := range jobs {
		tn := ts.addTenant(t, fmt.Sprintf("tenant%02d", i), sftpserver.Quota{})
		users := 300 + 60*i // 14 KB to 150 KB
		jobs[i] = job{tn: tn, data: usersCSV(users), users: users}
		sy.add(tn.id, tn.root)
	}

	start := make(chan struct{})
	errs := make([]error, tenants)
	var wg sync.WaitGroup
	for i, j := range jobs {
		auth := ssh.PublicKeys(j.tn.key)
		if i%2 == 1 {
			auth = ssh.Password(j.tn.password)
		}
		wg.Go(func() {
			<-start
			errs[i] = uploadOnce(ts, j.tn.user, auth, "users.csv", j.data)
		})
	}
	close(start)
	wg.Wait()
	sy.close()

	for i, j := range jobs {
		require.NoError(t, errs[i], j.tn.id)
	}
	events := map[string][]sftpserver.Upload{}
	for _, u := range ts.announced() {
		events[u.TenantID] = append(events[u.TenantID], u)
	}
	for _, j := range jobs {
		id := j.tn.id
		require.Len(t, events[id], 1, id)
		assert.Equal(t, sha256Hex(j.data), events[id][0].SHA256, id)
		runs := sy.runs[id]
		require.Len(t, runs, 1, "%s: exactly one sync", id)
		res := runs[0]
		require.NoError(t, res.Err, id)
		require.Len(t, res.Files, 1, id)
		assert.Equal(t, events[id][0].SHA256, hex.EncodeToString(res.Files[0].SHA256[:]), "%s: the sync read what was uploaded", id)
		assert.Equal(t, j.users, res.Applied.Created, id)
		assert.Empty(t, staged(t, j.tn), id)
		assert.Empty(t, folderFiles(t, j.tn), "%s: the sync deleted the file", id)
	}
	assert.Len(t, ts.audit.events("login"), tenants)
}

// uploadOnce logs in, uploads one file and logs out.
func uploadOnce(ts *testServer, user string, auth ssh.AuthMethod, name string, data []byte) error {
	cfg := ts.sshConfig(user, auth)
	cfg.Timeout = 30 * time.Second
	sc, err := ssh.Dial("tcp", ts.addr, cfg)
	if err != nil {
		return err
	}
	defer sc.Close()
	c, err := sftp.NewClient(sc)
	if err != nil {
		return err
	}
	defer c.Close()
	return put(c, name, data)
}

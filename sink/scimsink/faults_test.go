package scimsink_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/internal/scimtest"
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/scimsink"
	"github.com/usersync/usersync/source/memsource"
)

// faultUsers is how many users a fault test syncs.
const faultUsers = 120

// feed is a CSV of n users in groups g0..g2.
func feed(n int) []byte {
	var b strings.Builder
	b.WriteString("id,name,email,groups\n")
	for i := range n {
		fmt.Fprintf(&b, "e%03d,User %d,user%d@example.com,g%d\n", i, i, i, i%3)
	}
	return []byte(b.String())
}

// faulty is a server whose handler a test can break and mend while it
// runs.
type faulty struct {
	srv   *scimtest.Server
	fault atomic.Pointer[func(w http.ResponseWriter, r *http.Request, next http.Handler) bool]
	n     atomic.Int64
}

func newFaulty(t *testing.T, opts scimtest.Options) *faulty {
	f := &faulty{}
	opts.NoUniqueness = true // a create sent twice would make two users
	opts.Wrap = func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := f.n.Add(1)
			_ = n
			if fp := f.fault.Load(); fp != nil && (*fp)(w, r, next) {
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	f.srv = scimtest.New(t, &opts)
	return f
}

// set installs a fault: it returns true when it has answered the request.
func (f *faulty) set(fault func(w http.ResponseWriter, r *http.Request, next http.Handler) bool) {
	f.fault.Store(&fault)
}

func (f *faulty) clear() { f.fault.Store(nil) }

// pipeline returns a Pipeline from a CSV of faultUsers users into the
// server, through a Sink with short timeouts and waits.
func (f *faulty) pipeline(t *testing.T, opts *scimsink.Options) *usersync.Pipeline {
	src := memsource.New()
	require.NoError(t, src.Put("users.csv", feed(faultUsers), time.Date(2026, 3, 14, 1, 0, 0, 0, time.UTC)))
	m, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Role: csvmap.Key},
		{Name: "name", Required: true},
		{Name: "email", Kind: csvmap.Email, Required: true},
		{Name: "groups", Role: csvmap.Groups, Separator: ","},
	}}, nil)
	require.NoError(t, err)
	o := scimsink.Options{RequestTimeout: 300 * time.Millisecond, RetryWait: time.Millisecond, MaxRetryWait: 20 * time.Millisecond, Retries: 8}
	if opts != nil {
		o = *opts
	}
	sink, err := scimsink.New(t.Context(), f.srv.URL, &o)
	require.NoError(t, err)
	return &usersync.Pipeline{Source: src, Mapper: m, Reconciler: reconcile.New(nil), Sink: sink}
}

// requireConverged runs the pipeline without faults until it has nothing
// left to do, and checks the server holds each user once, as the feed
// says.
func (f *faulty) requireConverged(t *testing.T, p *usersync.Pipeline) {
	t.Helper()
	f.clear()
	res, err := p.Run(t.Context())
	require.NoError(t, err, "the run after the faults")
	require.Empty(t, res.Failed)
	res, err = p.Run(t.Context())
	require.NoError(t, err)
	require.Empty(t, synctest.Changes(t, res.Plan), "a third run finds nothing to do")
	require.Equal(t, faultUsers, res.Plan.Unchanged)
	f.requireNoDuplicates(t)
	users := f.srv.Users()
	require.Len(t, users, faultUsers)
	for _, g := range f.srv.Groups() {
		ms, _ := g.Attrs["members"].([]any)
		require.Len(t, ms, faultUsers/3, "members of %s", g.ExternalID)
	}
}

func (f *faulty) requireNoDuplicates(t *testing.T) {
	t.Helper()
	seen := map[string]bool{}
	for _, u := range f.srv.Users() {
		require.False(t, seen[u.ExternalID], "user %s is on the server twice", u.ExternalID)
		seen[u.ExternalID] = true
	}
	seen = map[string]bool{}
	for _, g := range f.srv.Groups() {
		require.False(t, seen[g.ExternalID], "group %s is on the server twice", g.ExternalID)
		seen[g.ExternalID] = true
	}
}

// requireAccounted requires every change of a run to be applied or
// reported as failed.
// requireFaultyRunRepaired runs p under faults: some changes may fail, but
// each is accounted for, nothing is duplicated, and the next runs converge.
func (f *faulty) requireFaultyRunRepaired(t *testing.T, p *usersync.Pipeline) {
	t.Helper()
	res, err := p.Run(t.Context())
	if err != nil {
		require.ErrorIs(t, err, usersync.ErrChangesFailed)
	}
	requireAccounted(t, res)
	f.requireNoDuplicates(t)
	f.requireConverged(t, p)
}

func requireAccounted(t *testing.T, res *usersync.Result) {
	t.Helper()
	require.NotNil(t, res.Plan)
	assert.Equal(t, len(synctest.Changes(t, res.Plan)), res.Applied.Total()+len(res.Failed),
		"applied %+v, failed %d, of %d changes", res.Applied, len(res.Failed), len(synctest.Changes(t, res.Plan)))
}

// modes runs a fault test with and without Bulk.
func modes(t *testing.T, test func(t *testing.T, opts scimtest.Options)) {
	t.Run("Single", func(t *testing.T) { test(t, scimtest.Options{ETags: true}) })
	t.Run("Bulk", func(t *testing.T) { test(t, scimtest.Options{ETags: true, Bulk: true, MaxOperations: 40}) })
}

func TestTooManyRequestsStorm(t *testing.T) {
	modes(t, func(t *testing.T, opts scimtest.Options) {
		f := newFaulty(t, opts)
		p := f.pipeline(t, nil)
		var refused atomic.Int64
		var mu sync.Mutex
		tries := map[string]int{}
		f.set(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
			// Each request is refused three times, then served.
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			id := r.Method + " " + r.URL.String() + " " + string(body)
			mu.Lock()
			tries[id]++
			n := tries[id]
			mu.Unlock()
			if n > 3 {
				return false
			}
			refused.Add(1)
			w.Header().Set("Retry-After", "0")
			http.Error(w, `{"status":"429","detail":"slow down"}`, http.StatusTooManyRequests)
			return true
		})
		res, err := p.Run(t.Context())
		require.NoError(t, err, "every request refused three times with 429, then served")
		require.Empty(t, res.Failed)
		requireAccounted(t, res)
		require.Positive(t, refused.Load())
		f.requireConverged(t, p)
	})
}

func TestServerErrors(t *testing.T) {
	modes(t, func(t *testing.T, opts scimtest.Options) {
		f := newFaulty(t, opts)
		p := f.pipeline(t, nil)
		var n atomic.Int64
		f.set(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			switch n.Add(1) % 5 {
			case 1: // fails before doing anything
				http.Error(w, `{"status":"500"}`, http.StatusInternalServerError)
				return true
			case 3: // does it, then fails: a create's outcome is unknown
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				http.Error(w, `{"status":"502"}`, http.StatusBadGateway)
				return true
			}
			return false
		})
		f.requireFaultyRunRepaired(t, p)
	})
}

func TestStalledServer(t *testing.T) {
	modes(t, func(t *testing.T, opts scimtest.Options) {
		f := newFaulty(t, opts)
		p := f.pipeline(t, nil)
		var n atomic.Int64
		f.set(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			switch n.Add(1) % 7 {
			case 2: // hangs before doing anything
				_, _ = io.Copy(io.Discard, r.Body) // so that the server sees the client leave
				hang(r)
				return true
			case 5: // does it, then hangs
				next.ServeHTTP(httptest.NewRecorder(), r)
				hang(r)
				return true
			}
			return false
		})
		f.requireFaultyRunRepaired(t, p)
	})
}

// TestDroppedBulk cuts the connection of every Bulk request after the
// server has applied the first half of its operations.
func TestDroppedBulk(t *testing.T) {
	f := newFaulty(t, scimtest.Options{ETags: true, Bulk: true, MaxOperations: 40})
	p := f.pipeline(t, nil)
	var dropped atomic.Int64
	f.set(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if !strings.HasSuffix(r.URL.Path, "/Bulk") {
			return false
		}
		body, _ := io.ReadAll(r.Body)
		var req map[string]any
		if json.Unmarshal(body, &req) == nil {
			ops, _ := req["Operations"].([]any)
			req["Operations"] = ops[:len(ops)/2]
			body, _ = json.Marshal(req)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(httptest.NewRecorder(), r)
		dropped.Add(1)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return true
	})
	res, err := p.Run(t.Context())
	require.NoError(t, err, "every change of a dropped Bulk request is applied again alone")
	requireAccounted(t, res)
	require.Positive(t, dropped.Load())
	f.requireNoDuplicates(t)
	f.requireConverged(t, p)
}

// hang waits until the client gives up on the request (or 5s).
func hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Second):
	}
}

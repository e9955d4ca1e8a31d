package scimsink_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/scimtest"
	"github.com/usersync/usersync/sink/scimsink"
)

// counting returns a Wrap that counts the listings of users by cursor and
// by startIndex.
func counting(byCursor, byIndex *atomic.Int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/Users") && !q.Has("filter") {
				if q.Has("cursor") {
					byCursor.Add(1)
				} else {
					byIndex.Add(1)
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestListPages(t *testing.T) {
	for _, cursor := range []bool{false, true} {
		t.Run(fmt.Sprintf("cursor=%v", cursor), func(t *testing.T) {
			var byCursor, byIndex atomic.Int64
			srv := scimtest.New(t, &scimtest.Options{Cursor: cursor, PageSize: 3, Wrap: counting(&byCursor, &byIndex)})
			s := newSink(t, srv, nil)
			var cs []usersync.Change
			for i := range 10 {
				cs = append(cs, create(fmt.Sprintf("E%02d", i), "name", "Someone"))
			}
			require.Nil(t, s.ApplyBatch(t.Context(), cs))
			require.Len(t, users(t, s), 10)
			if cursor {
				assert.Equal(t, int64(4), byCursor.Load(), "four pages of at most 3")
				assert.Zero(t, byIndex.Load())
			} else {
				assert.Equal(t, int64(4), byIndex.Load())
				assert.Zero(t, byCursor.Load())
			}
		})
	}
}

// A 429's Retry-After is waited out before the request is sent again.
func TestRetryAfter(t *testing.T) {
	var n atomic.Int64
	var refusedAt time.Time
	var wait time.Duration
	srv := scimtest.New(t, &scimtest.Options{Wrap: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch n.Add(1) {
			case 3:
				refusedAt = time.Now()
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			case 4:
				wait = time.Since(refusedAt)
			}
			next.ServeHTTP(w, r)
		})
	}})
	s := newSink(t, srv, &scimsink.Options{RetryWait: time.Millisecond})
	require.NoError(t, s.Apply(t.Context(), create("E1", "name", "Ann")))
	require.GreaterOrEqual(t, wait, time.Second, "the retry came before Retry-After")
	require.Len(t, users(t, s), 1)
}

// A change the server refuses (here a 409: another user holds the
// userName) fails alone; the others of the batch apply.
func TestRefusedChangeAlone(t *testing.T) {
	for _, bulk := range []bool{false, true} {
		t.Run(fmt.Sprintf("bulk=%v", bulk), func(t *testing.T) {
			srv := scimtest.New(t, &scimtest.Options{Bulk: bulk})
			srv.PutUser("someone-else", map[string]any{"userName": "e2", "active": true})
			s := newSink(t, srv, nil)
			require.Equal(t, bulk, s.Bulk())
			errs := s.ApplyBatch(t.Context(), []usersync.Change{create("E1", "name", "Ann"), create("E2", "name", "Bo"), create("E3", "name", "Cy")})
			require.Len(t, errs, 3)
			assert.NoError(t, errs[0])
			var he *scimsink.HTTPError
			require.ErrorAs(t, errs[1], &he)
			assert.Equal(t, http.StatusConflict, he.Status)
			assert.NoError(t, errs[2])
			assert.Len(t, users(t, s), 3)
		})
	}
}

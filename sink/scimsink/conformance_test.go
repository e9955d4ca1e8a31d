package scimsink_test

import (
	"context"
	"testing"

	"github.com/usersync/usersync/internal/scimtest"
	"github.com/usersync/usersync/sink/scimsink"
	"github.com/usersync/usersync/sink/sinktest"
)

func conformance(t *testing.T, srv *scimtest.Options, opts *scimsink.Options) {
	sinktest.RunConformanceTests(t, func(_ context.Context, t *testing.T) (sinktest.Harness, error) {
		return newHarness(t, srv, opts), nil
	})
}

func TestConformance(t *testing.T) {
	conformance(t, &scimtest.Options{ETags: true}, nil)
}

// TestConformanceBulk runs the suite with ApplyBatch through the Bulk
// endpoint, in requests of at most 50 operations.
func TestConformanceBulk(t *testing.T) {
	conformance(t, &scimtest.Options{Bulk: true, MaxOperations: 50, ETags: true}, nil)
}

// TestConformancePut runs the suite against a server without PATCH: users
// and groups are written with PUT, under If-Match.
func TestConformancePut(t *testing.T) {
	conformance(t, &scimtest.Options{NoPatch: true, ETags: true}, nil)
}

// TestConformanceCursor runs the suite against a server that offers cursor
// pagination, in pages of 7.
func TestConformanceCursor(t *testing.T) {
	conformance(t, &scimtest.Options{Cursor: true, PageSize: 7}, nil)
}

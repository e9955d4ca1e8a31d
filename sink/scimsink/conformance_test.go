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

// Package synctest runs small end-to-end syncs over a Source, for the
// network sources' own tests: a source.Picker over the Source, a CSV
// schema of three columns (id, name, email), the default Reconciler and a
// memsink.
package synctest

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source"
)

// CSV returns a file of n users in the Syncer's schema.
func CSV(n int) []byte {
	var b strings.Builder
	b.WriteString("id,name,email\n")
	for i := range n {
		fmt.Fprintf(&b, "e%d,User %d,user%d@example.com\n", i, i, i)
	}
	return []byte(b.String())
}

// A Syncer is a Pipeline reading a Source through a Picker into a memsink.
type Syncer struct {
	P    *usersync.Pipeline
	Sink *memsink.Sink
}

// New returns a Syncer over src with opts. Unless opts say otherwise,
// files are taken at any age (MinAge -1), the Picker's clock is fixed and
// its log discarded.
func New(t testing.TB, src usersync.Source, opts source.PickupOptions) *Syncer {
	t.Helper()
	s := &Syncer{Sink: memsink.New()}
	opts.Now = func() time.Time { return time.Date(2026, 3, 14, 2, 0, 0, 0, time.UTC) }
	opts.Logger = slog.New(slog.DiscardHandler)
	if opts.MinAge == 0 {
		opts.MinAge = -1
	}
	pick, err := source.Pickup(src, &opts)
	require.NoError(t, err)
	m, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Role: csvmap.Key},
		{Name: "name", Required: true},
		{Name: "email", Kind: csvmap.Email, Required: true},
	}}, nil)
	require.NoError(t, err)
	s.P = &usersync.Pipeline{Source: pick, Mapper: m, Reconciler: reconcile.New(nil), Sink: s.Sink}
	return s
}

// Users returns how many users the sink holds.
func (s *Syncer) Users() int {
	u, _ := s.Sink.Snapshot()
	return len(u)
}

// Changes returns the plan's changes, all in memory.
func Changes(t require.TestingT, p *usersync.Plan) []usersync.Change {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	cs, err := p.Changes.Collect()
	require.NoError(t, err, "read the plan's changes")
	return cs
}

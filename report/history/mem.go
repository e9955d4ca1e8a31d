package history

import (
	"context"
	"encoding/json"
	"slices"
	"sync"

	"github.com/usersync/usersync/report"
)

// Mem is a Store in memory, for tests and for hosts that need no history
// across restarts. It keeps entries as JSON, as the other Stores do, so
// that what it returns is what they would. The zero value is ready to use.
type Mem struct {
	mu      sync.Mutex
	entries [][]byte
}

var _ Store = (*Mem)(nil)

// Append keeps the entry of s.
func (m *Mem) Append(ctx context.Context, s *report.Summary) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	e := newEntry(s)
	data, err := json.Marshal(e)
	if err != nil {
		return Entry{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = append(m.entries, data)
	return e, nil
}

// Query returns the entries q selects, newest first.
func (m *Mem) Query(ctx context.Context, q Query) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	all := slices.Clone(m.entries)
	m.mu.Unlock()
	var out []Entry
	for _, data := range all {
		e, err := decode(data)
		if err != nil {
			return nil, err
		}
		if q.matches(e.Summary.Name, e.Summary.Status.String(), e.Summary.Started) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, newest)
	return limit(out, q.Limit), nil
}

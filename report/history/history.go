// Package history keeps an append-only history of usersync runs, so that a
// host can show an "import history" page like Cosafe's admin panel: when
// each run started, how it ended, what it changed, and its full summary.
//
// Each entry is a run's [report.Summary] with an ID. A [Store] appends
// entries and finds them again by time range, status and feed name, newest
// first. This package has three:
//
//   - [File], a JSON-lines file, one run a line, safe against concurrent
//     appends (goroutines and processes) and against a crash in the middle
//     of a line;
//   - [SQL], a table in a database/sql database, such as the one the SQL
//     sink keeps the directory in (SQLite and PostgreSQL);
//   - [Mem], in memory, the fake for tests.
//
// [Reporter] appends the summary of each run to a Store. The package
// historytest is the conformance suite every Store passes.
package history

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
)

// An Entry is one run of the history.
type Entry struct {
	// ID names the entry: the UTC time the run started, to the
	// millisecond, and random digits, such as
	// "20250304T020000.000Z-9f86d081". IDs sort as the runs started.
	ID      string          `json:"id"`
	Summary *report.Summary `json:"summary"`
}

// A Query selects entries. Its zero value selects them all.
type Query struct {
	// Since and Until bound the time the run started: Since included,
	// Until excluded; a zero time does not bound.
	Since, Until time.Time
	// Statuses selects runs that ended so; empty means any.
	Statuses []usersync.Status
	// Name selects the runs of one feed (report.Options.Name); "" means
	// any.
	Name string
	// Limit caps the entries returned, the newest; 0 means no cap.
	Limit int
}

// matches reports whether q selects a run of the feed name, that started
// at started and ended with the status named status.
func (q Query) matches(name, status string, started time.Time) bool {
	return (q.Since.IsZero() || !started.Before(q.Since)) &&
		(q.Until.IsZero() || started.Before(q.Until)) &&
		(len(q.Statuses) == 0 || slices.ContainsFunc(q.Statuses, func(s usersync.Status) bool {
			return s.String() == status
		})) &&
		(q.Name == "" || q.Name == name)
}

// A Store is an append-only history of runs. Its methods are safe for
// concurrent use.
type Store interface {
	// Append adds the run s summarises, and returns its entry.
	Append(ctx context.Context, s *report.Summary) (Entry, error)
	// Query returns the entries q selects, newest first: by the time the
	// run started, then by ID.
	Query(ctx context.Context, q Query) ([]Entry, error)
}

// Reporter returns a Reporter that appends the summary of each run to s,
// when the run finishes. opts names the feed (Options.Name) and tunes the
// summary kept; nil means the defaults.
func Reporter(s Store, opts *report.Options) usersync.Reporter {
	return report.Summarize(func(ctx context.Context, sum *report.Summary) error {
		_, err := s.Append(ctx, sum)
		return err
	}, opts)
}

// newEntry makes the entry of s, with a new ID.
func newEntry(s *report.Summary) Entry {
	var random [4]byte
	_, _ = rand.Read(random[:]) // never fails (crypto/rand)
	return Entry{ID: s.Started.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(random[:]), Summary: s}
}

// newest sorts entries newest first.
func newest(a, b Entry) int {
	if c := b.Summary.Started.Compare(a.Summary.Started); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

// limit keeps the first n entries, or all for n <= 0.
func limit[T any](s []T, n int) []T {
	if n > 0 && len(s) > n {
		return s[:n]
	}
	return s
}

// decode reads an entry's JSON.
func decode(data []byte) (Entry, error) {
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil {
		return Entry{}, err
	}
	if e.Summary == nil {
		e.Summary = &report.Summary{}
	}
	return e, nil
}

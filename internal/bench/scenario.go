// Package bench is the end-to-end sync scenario behind the bench command
// (examples/bench) and the root package's Go benchmark, so both measure the
// same thing: yesterday's directory of N users in the Sink, and today's file
// with 1% of users updated, 0.5% new and 0.5% gone. It also holds what the
// side-by-side bench commands (examples/ftpbench, sftpbench, dropboxbench)
// share: a Comparison of contenders run in turn, their medians and ratio.
package bench

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/internal/gen"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source/dirsource"
)

// Schema is the Cosafe preset the generated files follow: UniqueID, Name,
// Mail, Title, both phone numbers (normalized to E.164), Groups, Skip,
// FirstName and LastName; TimeStamp is ignored, being export metadata.
var Schema = csvmap.Cosafe()

// The day-to-day change of the scenario.
const (
	UpdatedFraction  = 0.01
	TurnoverFraction = 0.005 // new users, and as many gone
	seed             = 20261121
)

// A Scenario is two generated files in a folder: yesterday's, to seed the
// Sink, and today's, in the drop folder the Pipeline reads.
type Scenario struct {
	Users     int
	Yesterday string // path of yesterday's file
	Today     string // path of today's file, the only file in the drop folder
	drop      string
}

// Prepare writes the scenario's files for users users into dir.
func Prepare(dir string, users int) (*Scenario, error) {
	s := &Scenario{
		Users:     users,
		Yesterday: filepath.Join(dir, "yesterday.csv"),
		drop:      filepath.Join(dir, "drop"),
	}
	s.Today = filepath.Join(s.drop, "users.csv")
	turnover := int(float64(users) * TurnoverFraction)
	if err := os.MkdirAll(s.drop, 0o700); err != nil {
		return nil, err
	}
	if err := writeFile(s.Yesterday, gen.Config{Rows: users, Seed: seed, SkipEvery: -1}); err != nil {
		return nil, err
	}
	today := gen.Config{Rows: users, First: turnover, Seed: seed, SkipEvery: -1, Vary: UpdatedFraction, VarySeed: 1}
	if err := writeFile(s.Today, today); err != nil {
		return nil, err
	}
	return s, nil
}

func writeFile(path string, c gen.Config) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := gen.Write(f, c); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Seed returns a Sink holding yesterday's users, as the sync left them.
func (s *Scenario) Seed() (*memsink.Sink, error) {
	m, err := csvmap.New(Schema, nil)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(s.Yesterday)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rr, err := m.NewReader(f, usersync.FileInfo{Name: "yesterday.csv", Size: -1})
	if err != nil {
		return nil, err
	}
	sink := memsink.New()
	for {
		r, err := rr.Read()
		if err == io.EOF {
			return sink, nil
		}
		if err != nil {
			return nil, err
		}
		r.Managed, r.Origin = true, usersync.Position{}
		sink.PutUser(r)
	}
}

// Sync runs the Pipeline on today's file against sink.
func (s *Scenario) Sync(ctx context.Context, sink usersync.Sink) (*usersync.Result, error) {
	src, err := dirsource.New(s.drop, nil)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	m, err := csvmap.New(Schema, nil)
	if err != nil {
		return nil, err
	}
	p := usersync.Pipeline{
		Source: src,
		Mapper: m,
		// A directory of this size sets its own absolute limit; 0.5% gone
		// is well inside the default 10%.
		Reconciler: reconcile.New(&reconcile.Policy{RemoveGuard: reconcile.Guard{Max: -1}}),
		Sink:       sink,
	}
	return p.Run(ctx)
}

// PlainCSV is the baseline: one encoding/csv pass over today's file that
// touches every field and keeps nothing. It returns the number of records.
func (s *Scenario) PlainCSV() (int, error) {
	f, err := os.Open(s.Today)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	n, width := 0, 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
		for _, field := range rec {
			width += len(field)
		}
		n++
	}
	if width == 0 {
		return n, fmt.Errorf("bench: %s holds no data", s.Today)
	}
	return n, nil
}

// Expect returns the counts the scenario's sync must apply, to check a run.
func (s *Scenario) Expect() (created, gone int) {
	t := int(float64(s.Users) * TurnoverFraction)
	return t, t
}

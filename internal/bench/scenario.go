// Package bench is the end-to-end sync scenario behind the bench command
// (examples/bench) and the root package's Go benchmark, so both measure the
// same thing: yesterday's directory of N users in the Sink, and today's file
// with 1% of users updated, 0.5% new and 0.5% gone (2% changed; see
// [PrepareOptions] for another fraction). It also measures a step's peak
// resident memory as the OS counts it (see [StartRSS]). It also holds what the
// side-by-side bench commands (examples/ftpbench, sftpbench, dropboxbench)
// share: a Comparison of contenders run in turn, their medians and ratio.
package bench

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

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

// The day-to-day change of the scenario, by default: 2% of the users
// changed.
const (
	UpdatedFraction  = 0.01
	TurnoverFraction = 0.005 // new users, and as many gone
	seed             = 20261121
)

// A Scenario is two generated files, each alone in its folder: yesterday's,
// to seed the Sink, and today's, in the drop folder the Pipeline reads. Both
// are UTF-8 with commas, which the sqlite3 and psql tools import too.
type Scenario struct {
	Users     int
	Yesterday string // path of yesterday's file, the only file in its folder
	Today     string // path of today's file, the only file in the drop folder
	drop      string
	turnover  int
}

// PrepareOptions changes what [PrepareWith] writes. A nil *PrepareOptions
// gives the defaults.
type PrepareOptions struct {
	// Changed is the fraction of users that changed since yesterday: half
	// of them updated, a quarter new and a quarter gone. 0 means 0.02.
	Changed float64
	// Reuse keeps files an earlier PrepareWith wrote into the same folder
	// with the same users and options, instead of writing them again.
	Reuse bool
}

// Prepare writes the scenario's files for users users into dir, with the
// default 2% changed.
func Prepare(dir string, users int) (*Scenario, error) {
	return PrepareWith(dir, users, nil)
}

// PrepareWith writes the scenario's files for users users into dir, as
// opts says.
func PrepareWith(dir string, users int, opts *PrepareOptions) (*Scenario, error) {
	var o PrepareOptions
	if opts != nil {
		o = *opts
	}
	updated, turnover := UpdatedFraction, TurnoverFraction
	if o.Changed > 0 {
		updated, turnover = o.Changed/2, o.Changed/4
	}
	s := &Scenario{
		Users:     users,
		Yesterday: filepath.Join(dir, "yesterday", "users.csv"),
		drop:      filepath.Join(dir, "drop"),
		turnover:  int(float64(users) * turnover),
	}
	s.Today = filepath.Join(s.drop, "users.csv")
	for _, d := range []string{s.drop, filepath.Dir(s.Yesterday)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	// The stamp names what the files hold; it is written last, so that
	// files half written by an interrupted run are not reused.
	stamp := filepath.Join(dir, "scenario")
	want := "users " + strconv.Itoa(users) + " updated " + strconv.FormatFloat(updated, 'g', -1, 64) +
		" turnover " + strconv.FormatFloat(turnover, 'g', -1, 64) + " seed " + strconv.Itoa(seed) + "\n"
	if o.Reuse {
		if got, err := os.ReadFile(stamp); err == nil && string(got) == want {
			return s, nil
		}
	}
	os.Remove(stamp)
	if err := writeFile(s.Yesterday, gen.Config{Rows: users, Seed: seed, SkipEvery: -1}); err != nil {
		return nil, err
	}
	today := gen.Config{Rows: users, First: s.turnover, Seed: seed, SkipEvery: -1, Vary: updated, VarySeed: 1}
	if err := writeFile(s.Today, today); err != nil {
		return nil, err
	}
	if err := os.WriteFile(stamp, []byte(want), 0o600); err != nil {
		return nil, err
	}
	return s, nil
}

// ManagerFanout is how many users report to each manager in the file
// Managers writes.
const ManagerFanout = 8

// Managers returns a folder that holds yesterday's users alone, in a file
// whose Title column names each user's manager instead of a title (see
// gen.Config.ManagerFanout): for a first load under a policy that resolves
// managers, reconcile.Manager{Attr: "title"}. It writes the file the first
// time, and keeps it for the next runs.
func (s *Scenario) Managers() (string, error) {
	root := filepath.Dir(filepath.Dir(s.Yesterday))
	dir, stamp := filepath.Join(root, "managers"), filepath.Join(root, "managers.stamp")
	want := fmt.Sprintf("users %d seed %d fanout %d\n", s.Users, seed, ManagerFanout)
	if got, err := os.ReadFile(stamp); err == nil && string(got) == want {
		return dir, nil
	}
	os.Remove(stamp)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	c := gen.Config{Rows: s.Users, Seed: seed, SkipEvery: -1, ManagerFanout: ManagerFanout}
	if err := writeFile(filepath.Join(dir, "users.csv"), c); err != nil {
		return "", err
	}
	return dir, os.WriteFile(stamp, []byte(want), 0o600)
}

// DropDir returns the folder that holds today's file alone.
func (s *Scenario) DropDir() string { return s.drop }

// YesterdayDir returns the folder that holds yesterday's file alone.
func (s *Scenario) YesterdayDir() string { return filepath.Dir(s.Yesterday) }

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

// PlainCSV is the baseline: one encoding/csv pass over today's file
// through a 64 KiB bufio.Reader, reading every record and keeping none. It
// returns the number of records, the header's included.
func (s *Scenario) PlainCSV() (int, error) {
	return PlainCSV(s.Today)
}

// PlainCSV reads every record of the CSV file at path with encoding/csv
// through a 64 KiB bufio.Reader, keeping none, and returns how many.
func PlainCSV(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 64<<10))
	r.ReuseRecord = true
	n := 0
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
		n++
	}
	if n < 2 {
		return n, fmt.Errorf("bench: %s holds no data", path)
	}
	return n, nil
}

// Expect returns the counts the scenario's sync must apply, to check a run.
func (s *Scenario) Expect() (created, gone int) {
	return s.turnover, s.turnover
}

// Package testruns makes real usersync runs for the tests of the reporters:
// a Pipeline of memsource, csvmap, reconcile and memsink over a small
// Cosafe-style feed, so that reporters are tested against the events and
// Results a Pipeline really makes.
package testruns

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source/memsource"
)

// Script is a user key that is an HTML script: renderers must show it as
// text.
const Script = "<script>alert(1)</script>"

// Formula is the value of a rejected row that a spreadsheet would run.
const Formula = "=cmd|' /C calc'!A0"

// Nightly is a feed of four users, one with a script for a key, and a row
// rejected for an email address that is a formula.
const Nightly = "UniqueID;Name;Mail;Groups\n" +
	"E1001;Ann Andersson;ann@acme.example;Sales\n" +
	"E1002;Bo Berg;bo@acme.example;Sales\n" +
	Script + ";Carl Carlsson;carl@acme.example;\n" +
	"E1004;Dan Dahl;" + Formula + ";\n" +
	"E1005;Eva Ek;eva@acme.example;Sales\n"

// A Night says how a run goes.
type Night struct {
	// Feed is the users.csv of the night; "" means no file at all.
	Feed string
	// Fail makes the Sink refuse the changes of these keys.
	Fail []string
	// DryRun plans only.
	DryRun bool
}

// Runner runs nights against one directory, with a clock that advances a
// second per reading.
type Runner struct {
	t     testing.TB
	src   *memsource.Source
	sink  *memsink.Sink
	clock time.Time
}

// New returns a Runner whose first run starts at start.
func New(t testing.TB, start time.Time) *Runner {
	return &Runner{t: t, src: memsource.New(), sink: memsink.New(), clock: start}
}

// Now is the Runner's clock.
func (r *Runner) Now() time.Time {
	r.clock = r.clock.Add(time.Second)
	return r.clock
}

// Run runs one night, reporting to rep, and returns its Result.
func (r *Runner) Run(rep usersync.Reporter, n Night) *usersync.Result {
	r.t.Helper()
	_ = r.src.Remove(context.Background(), "users.csv") // last night's file, if still there
	if n.Feed != "" {
		if err := r.src.Put("users.csv", []byte(n.Feed), r.clock); err != nil {
			r.t.Fatal(err)
		}
	}
	r.sink.FailOn = func(c usersync.Change) error {
		for _, k := range n.Fail {
			if c.User.Key == k {
				return errors.New("the directory refused " + k)
			}
		}
		return nil
	}
	p := usersync.Pipeline{
		Source:     r.src,
		Mapper:     mapper(r.t),
		Reconciler: reconcile.New(nil),
		Sink:       r.sink,
		Reporter:   rep,
		DryRun:     n.DryRun,
		Now:        r.Now,
	}
	res, _ := p.Run(context.Background())
	return res
}

// Feed returns a feed of n users E0001..En, all in group Sales.
func Feed(n int) string {
	var b strings.Builder
	b.WriteString("UniqueID;Name;Mail;Groups\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "E%04d;User %d;u%d@acme.example;Sales\n", i, i, i)
	}
	return b.String()
}

func mapper(t testing.TB) usersync.Mapper {
	m, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Header: "UniqueID", Role: csvmap.Key},
		{Name: "name", Header: "Name", Required: true},
		{Name: "mail", Header: "Mail", Kind: csvmap.Email, Required: true},
		{Name: "groups", Header: "Groups", Role: csvmap.Groups},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

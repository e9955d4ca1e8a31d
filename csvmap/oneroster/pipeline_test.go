package oneroster_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap/oneroster"
	"github.com/usersync/usersync/decrypt/unpack"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
	"github.com/usersync/usersync/source/memsource"
)

// putDir puts the files of a testdata folder into src.
func putDir(t testing.TB, src *memsource.Source, dir string) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join("testdata", dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("testdata", dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := src.Put(e.Name(), b, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
}

func users(s usersync.Lister) []string {
	var out []string
	for r, err := range s.Users(context.Background()) {
		if err != nil {
			panic(err)
		}
		slices.Sort(r.Groups)
		line := fmt.Sprintf("%s %s %v", r.Key, r.Attrs.Value("name"), r.Groups)
		if r.Inactive {
			line += " inactive"
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return out
}

func groups(s usersync.Lister) []string {
	var out []string
	for g, err := range s.Groups(context.Background()) {
		if err != nil {
			panic(err)
		}
		out = append(out, fmt.Sprintf("%s=%s<%s", g.ID, g.Name, g.Parent))
	}
	slices.Sort(out)
	return out
}

func check(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\ngot  %s\nwant %s", what, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

// TestPipeline syncs a 1.1 bulk bundle, then a 1.2 bulk bundle of the same
// people, then a 1.1 delta, through the stock Pipeline, into memsink and
// into sqlsink on SQLite.
func TestPipeline(t *testing.T) {
	t.Run("memsink", func(t *testing.T) { testPipeline(t, memsink.New()) })
	t.Run("sqlite", func(t *testing.T) {
		db, err := sqlite.Open(filepath.Join(t.TempDir(), "users.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		s, err := sqlsink.New(context.Background(), db, sqlsink.SQLite, nil)
		if err != nil {
			t.Fatal(err)
		}
		testPipeline(t, s)
	})
}

type listingSink interface {
	usersync.Sink
	usersync.Lister
}

func testPipeline(t *testing.T, sink listingSink) {
	ctx := context.Background()
	run := func(dir string, delta bool) *usersync.Result {
		t.Helper()
		src := memsource.New()
		putDir(t, src, dir)
		m, err := oneroster.New(&oneroster.Options{Delta: delta})
		if err != nil {
			t.Fatal(err)
		}
		policy := &reconcile.Policy{}
		if delta {
			policy.Mode = reconcile.Delta
		}
		p := usersync.Pipeline{Source: src, Mapper: m, Reconciler: reconcile.New(policy), Sink: sink}
		res, err := p.Run(ctx)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		return res
	}
	res := run("bulk-1.1", false)
	if res.Applied.Total() == 0 || len(res.Rejected) != 0 {
		t.Errorf("bulk 1.1: applied %+v, rejected %v", res.Applied, res.Rejected)
	}
	want := []string{
		"u1 Ann Lee [k1 k2 s1]",
		"u2 Ben Ortiz [k1 k2 s1]",
		"u4 Dan Ortiz [s1 s2]",
		"u5 Eva Novak [d1]",
	}
	check(t, "users after 1.1", users(sink), want)
	check(t, "groups", groups(sink), []string{
		"d1=Riverside District<", "k1=Math 4A<s1", "k2=Homeroom 4<s1", "s1=Riverside Elementary<d1", "s2=Riverside High<d1",
	})
	var files []string
	for _, f := range res.Files {
		files = append(files, fmt.Sprintf("%s:%d", f.Name, f.Records))
	}
	check(t, "files in read order, with records", files, []string{
		"manifest.csv:0", "orgs.csv:0", "classes.csv:0", "users.csv:5", "enrollments.csv:5", "academicSessions.csv:0", "courses.csv:0",
	})

	// The same people in 1.2: roles.csv gives Eva a second org.
	run("bulk-1.2", false)
	want[3] = "u5 Eva Novak [d1 s2]"
	check(t, "users after 1.2", users(sink), want)

	// A delta: Ben renamed (his memberships stay), Dan to be deleted
	// (deactivated, by the default policy), Farah new, and the others left
	// alone. Cara, disabled, was never created.
	run("delta-1.1", true)
	want[1] = "u2 Ben Ortiz-Lee [k1 k2 s1]"
	want[2] = "u4 Dan Ortiz [s1 s2] inactive"
	want = append(want, "u6 Farah Kaur []")
	check(t, "users after the delta", users(sink), want)
}

// A bundle whose enrollment names a user users.csv lacks is applied
// without that enrollment, which is a rejected row naming both files.
func TestPipelineRowErrors(t *testing.T) {
	src := memsource.New()
	putDir(t, src, "bulk-1.1")
	enr, _ := os.ReadFile("testdata/bulk-1.1/enrollments.csv")
	enr = append(enr, "e6,,,k1,s1,u99,student,,,\n"...)
	if err := src.Put("enrollments.csv", enr, time.Time{}); err != nil {
		t.Fatal(err)
	}
	m, _ := oneroster.New(nil)
	sink := memsink.New()
	p := usersync.Pipeline{Source: src, Mapper: m, Reconciler: reconcile.New(nil), Sink: sink}
	res, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejected) != 1 || !errors.Is(res.Rejected[0], oneroster.ErrUnknownReference) ||
		res.Rejected[0].Error() != `enrollments.csv:7: column userSourcedId: "u99": unknown reference: no user u99 in users.csv` {
		t.Errorf("rejected %v", res.Rejected)
	}
	if n := len(users(sink)); n != 4 {
		t.Errorf("%d users, want the 4 active ones", n)
	}
}

// A bundle that misses a file its manifest announces applies nothing.
func TestPipelineIncompleteBundle(t *testing.T) {
	src := memsource.New()
	putDir(t, src, "bulk-1.1")
	if err := src.Remove(context.Background(), "enrollments.csv"); err != nil {
		t.Fatal(err)
	}
	m, _ := oneroster.New(nil)
	sink := memsink.New()
	p := usersync.Pipeline{Source: src, Mapper: m, Reconciler: reconcile.New(nil), Sink: sink}
	res, err := p.Run(context.Background())
	if !errors.Is(err, oneroster.ErrManifest) || res.Status != usersync.Failed {
		t.Fatalf("got %v (%v), want ErrManifest", err, res.Status)
	}
	if n := len(users(sink)); n != 0 {
		t.Errorf("%d users applied from an incomplete bundle", n)
	}
}

// A bundle delivered as one zip, its files in an order of its own, is read
// through the Pipeline's Unpacker in the Mapper's order: the same users
// and groups as from the folder.
func TestPipelineZippedBundle(t *testing.T) {
	ents, err := os.ReadDir(filepath.Join("testdata", "bulk-1.1"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(ents) // users.csv before orgs.csv and manifest.csv
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("testdata", "bulk-1.1", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create("export/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	src := memsource.New()
	if err := src.Put("roster.zip", zipped.Bytes(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	m, err := oneroster.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	sink := memsink.New()
	p := usersync.Pipeline{Source: src, Unpacker: unpack.New(nil), Mapper: m, Reconciler: reconcile.New(nil), Sink: sink}
	res, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	check(t, "users", users(sink), []string{
		"u1 Ann Lee [k1 k2 s1]", "u2 Ben Ortiz [k1 k2 s1]", "u4 Dan Ortiz [s1 s2]", "u5 Eva Novak [d1]",
	})
	var files []string
	for _, f := range res.Files[0].Members {
		files = append(files, fmt.Sprintf("%s:%d", f.Name, f.Records))
	}
	check(t, "the zip's files in read order, with records", files, []string{
		"roster.zip/export/manifest.csv:0", "roster.zip/export/orgs.csv:0", "roster.zip/export/classes.csv:0",
		"roster.zip/export/users.csv:5", "roster.zip/export/enrollments.csv:5",
		"roster.zip/export/courses.csv:0", "roster.zip/export/academicSessions.csv:0", // as zipped: they refer to nothing
	})

	// Without an Unpacker, the zip is not a bundle the Mapper can read.
	p.Unpacker = nil
	if _, err := p.Run(context.Background()); !errors.Is(err, oneroster.ErrNotBegun) {
		t.Errorf("without an Unpacker: %v, want ErrNotBegun", err)
	}
}

package report_test

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
)

// benchResult is the Result of a first run that created n users, one of
// them refused, with 1% of the rows rejected.
func benchResult(n int) *usersync.Result {
	r := succeeded()
	cs := changes(usersync.CreateGroup, "", 1)
	for i := range n {
		cs = append(cs, usersync.Change{Kind: usersync.CreateUser,
			User: usersync.Record{Key: fmt.Sprintf("E%07d", i)}, Join: []string{"G1"}})
	}
	r.Plan = plan(0, cs)
	r.Failed = []*usersync.ChangeError{{Change: cs[n/2], Err: fmt.Errorf("locked")}}
	r.Applied = usersync.Counts{GroupsCreated: 1, Created: n - 1}
	r.Rejected = nil
	for i := range n / 100 {
		r.Rejected = append(r.Rejected, &usersync.RowError{File: "users.csv", Line: i*100 + 2, Column: "Mail",
			Value: "x(at)example", Err: fmt.Errorf("not an email address")})
	}
	r.RejectedTotal = len(r.Rejected)
	return r
}

// BenchmarkChangesCSV compares the changes attachment of a run of 100,000
// changes (summary included) with a plain encoding/csv pass over the same
// cells, the baseline: the cost of the summary, the outcomes and the
// formula guard.
func BenchmarkChangesCSV(b *testing.B) {
	r := benchResult(100_000)
	b.Run("baseline", func(b *testing.B) {
		for b.Loop() {
			bw := bufio.NewWriter(io.Discard)
			w := csv.NewWriter(bw)
			w.UseCRLF = true
			_ = w.Write([]string{"kind", "key", "old_key", "label", "attributes", "joins", "leaves", "outcome", "error"})
			for c := range r.Plan.Changes.All() {
				_ = w.Write([]string{c.Kind.String(), c.User.Key, c.OldKey, "", strings.Join(c.Attrs, "; "),
					strings.Join(c.Join, "; "), strings.Join(c.Leave, "; "), "applied", ""})
			}
			w.Flush()
			_ = bw.Flush()
		}
	})
	b.Run("report", func(b *testing.B) {
		for b.Loop() {
			if err := report.WriteChangesCSV(io.Discard, report.NewSummary(r, nil), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRender renders the summary of that run in every form: the lists
// are capped, so the cost is that of one pass over the plan.
func BenchmarkRender(b *testing.B) {
	r := benchResult(100_000)
	b.Run("NewSummary", func(b *testing.B) {
		for b.Loop() {
			report.NewSummary(r, nil)
		}
	})
	s := report.NewSummary(r, nil)
	for _, rd := range []struct {
		name  string
		write func(io.Writer, *report.Summary) error
	}{
		{"text", report.WriteText},
		{"html", report.WriteHTML},
		{"json", report.WriteJSON},
	} {
		b.Run(rd.name, func(b *testing.B) {
			for b.Loop() {
				if err := rd.write(io.Discard, s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package sqlsink_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/sqlbench"
	"github.com/usersync/usersync/sink/sqlsink"
)

// benchUsers is how many users the benchmarks list; examples/sqlbench
// lists a million.
const benchUsers = 100_000

// BenchmarkUsers lists benchUsers users per op (Users), and scans their
// rows with the driver alone (Floor, sqlbench.Floor), on each database:
// users/s is the figure to compare with the target of 500,000, and with
// the floor's rows/s.
func BenchmarkUsers(b *testing.B) {
	for _, db := range dbs {
		b.Run(db.name, func(b *testing.B) {
			tdb := db.open(b)
			opts := tdb.freshOptions(b, sqlsink.Options{})
			s := mustNew(b, tdb, *opts)
			if _, err := sqlbench.Apply(b.Context(), s, sqlbench.Changes(benchUsers), 50_000); err != nil {
				b.Fatal(err)
			}
			prefix := cmpOr(opts.Tables.Prefix, sqlsink.DefaultPrefix)
			if err := sqlbench.Settle(b.Context(), tdb.db, tdb.dialect, prefix); err != nil {
				b.Fatal(err)
			}
			users := prefix + "users"
			b.Run("Users", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					n, _, err := sqlbench.List(b.Context(), s)
					if err != nil || n != benchUsers {
						b.Fatal(n, err)
					}
				}
				b.ReportMetric(float64(benchUsers*b.N)/b.Elapsed().Seconds(), "users/s")
			})
			b.Run("Floor", func(b *testing.B) {
				for b.Loop() {
					n, _, err := sqlbench.Floor(b.Context(), tdb.db, users)
					if err != nil || n != benchUsers {
						b.Fatal(n, err)
					}
				}
				b.ReportMetric(float64(benchUsers*b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		})
	}
}

// BenchmarkCreate applies batches of 1,000 new users (two groups each).
func BenchmarkCreate(b *testing.B) {
	for _, db := range dbs {
		b.Run(db.name, func(b *testing.B) {
			tdb := db.open(b)
			s := mustNew(b, tdb, sqlsink.Options{})
			const batch = 1000
			cs := sqlbench.Changes(batch * 200)
			if _, err := sqlbench.Apply(b.Context(), s, cs[:sqlbench.Groups], batch); err != nil {
				b.Fatal(err)
			}
			users := cs[sqlbench.Groups:]
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i*batch >= len(users) {
					b.Skip("out of users; run with a smaller -benchtime")
				}
				if _, err := sqlbench.Apply(b.Context(), s, users[i*batch:(i+1)*batch], batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "users/s")
		})
	}
}

// BenchmarkUpdate applies, per op, a batch of 1,000 updates to a
// directory of benchUsers users, each of which changes a title and moves
// the user from one group to another, as a nightly sync's updates do:
// ops alternate between two states, so each writes the same amount.
func BenchmarkUpdate(b *testing.B) {
	for _, db := range dbs {
		b.Run(db.name, func(b *testing.B) {
			tdb := db.open(b)
			s := mustNew(b, tdb, sqlsink.Options{})
			if _, err := sqlbench.Apply(b.Context(), s, sqlbench.Changes(benchUsers), 5000); err != nil {
				b.Fatal(err)
			}
			const batch = 1000
			l := usersync.NewLayout("title")
			ways := [2][]usersync.Change{}
			for i := range batch {
				key := fmt.Sprintf("E%07d", i*(benchUsers/batch))
				for w, title := range []string{"Midwife", "Nurse"} {
					from, to := "g"+strconv.Itoa(40+w), "g"+strconv.Itoa(41-w)
					u := usersync.Record{Key: key, Attrs: l.Make([]string{title})}
					ways[w] = append(ways[w], usersync.Change{Kind: usersync.UpdateUser, User: u, Attrs: []string{"title"}, Join: []string{to}, Leave: []string{from}})
				}
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := sqlbench.Apply(b.Context(), s, ways[i%2], batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "updates/s")
		})
	}
}

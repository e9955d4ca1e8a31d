package sqlsink_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/sqlbench"
	"github.com/usersync/usersync/sink/sqlsink"
)

// benchSize is how many users BenchmarkDigests lists and BenchmarkBulkCreate
// loads: go test -bench 'Digests|BulkCreate' -args -sqlsink.users=1000000.
var benchSize = flag.Int("sqlsink.users", 100_000, "users for BenchmarkDigests and BenchmarkBulkCreate")

// BenchmarkDigests lists the digests of every user per op (Digests), and
// scans the key column with the driver alone in the same run (KeyScan):
// users/s against rows/s.
func BenchmarkDigests(b *testing.B) {
	for _, db := range dbs {
		b.Run(db.name, func(b *testing.B) {
			tdb := db.open(b)
			opts := tdb.freshOptions(b, sqlsink.Options{})
			s := mustNew(b, tdb, *opts)
			n := *benchSize
			if _, err := sqlbench.Apply(b.Context(), s, sqlbench.Changes(n), 10_000); err != nil {
				b.Fatal(err)
			}
			prefix := cmpOr(opts.Tables.Prefix, sqlsink.DefaultPrefix)
			if err := sqlbench.Settle(b.Context(), tdb.db, tdb.dialect, prefix); err != nil {
				b.Fatal(err)
			}
			b.Run("Digests", func(b *testing.B) {
				b.ReportAllocs()
				c := cpuTime()
				for b.Loop() {
					got := 0
					for _, err := range s.Digests(b.Context()) {
						if err != nil {
							b.Fatal(err)
						}
						got++
					}
					if got != n {
						b.Fatal(got, n)
					}
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "users/s")
				b.ReportMetric(float64(cpuTime()-c)/float64(b.N), "cpu-ns/op")
			})
			b.Run("KeyScan", func(b *testing.B) {
				b.ReportAllocs()
				c := cpuTime()
				for b.Loop() {
					got, err := sqlbench.RawScan(b.Context(), tdb.db, `SELECT key FROM "`+prefix+`users"`)
					if err != nil || got != n {
						b.Fatal(got, err)
					}
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
				b.ReportMetric(float64(cpuTime()-c)/float64(b.N), "cpu-ns/op")
			})
		})
	}
}

// BenchmarkBulkCreate loads benchSize new users (two groups each) into an
// empty database per op: through ApplyBatch in batches of
// usersync.DefaultBatchSize and of 5,000 (Sink/500, Sink/5000), and, on
// SQLite, as the floor, with a plain prepared INSERT loop in one
// transaction into tables of the same columns without indexes, as the
// sqlite3 tool's .import would (Floor).
func BenchmarkBulkCreate(b *testing.B) {
	for _, db := range dbs {
		b.Run(db.name, func(b *testing.B) {
			n := *benchSize
			cs := sqlbench.Changes(n)
			for _, size := range []int{usersync.DefaultBatchSize, 5000} {
				b.Run(fmt.Sprintf("Sink/%d", size), func(b *testing.B) {
					var cpu time.Duration
					for i := 0; i < b.N; i++ {
						b.StopTimer()
						tdb := db.open(b)
						s := mustNew(b, tdb, sqlsink.Options{})
						if _, err := sqlbench.Apply(b.Context(), s, cs[:sqlbench.Groups], size); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
						c := cpuTime()
						if _, err := sqlbench.Apply(b.Context(), s, cs[sqlbench.Groups:], size); err != nil {
							b.Fatal(err)
						}
						cpu += cpuTime() - c
					}
					b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "users/s")
					b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
				})
			}
			if db.name != "SQLite" {
				return
			}
			b.Run("Floor", func(b *testing.B) {
				var cpu time.Duration
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					tdb := db.open(b)
					b.StartTimer()
					c := cpuTime()
					if err := insertFloor(b.Context(), tdb.db, cs[sqlbench.Groups:]); err != nil {
						b.Fatal(err)
					}
					cpu += cpuTime() - c
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "users/s")
				b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
			})
		})
	}
}

// insertFloor inserts the users of cs and their memberships with prepared
// statements in one transaction, into tables without indexes.
func insertFloor(ctx context.Context, db *sql.DB, cs []usersync.Change) error {
	for _, q := range []string{
		`CREATE TABLE floor_users (id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, key TEXT NOT NULL, attrs TEXT NOT NULL,
inactive BOOLEAN NOT NULL, managed BOOLEAN NOT NULL)`,
		`CREATE TABLE floor_members (user_id BIGINT NOT NULL, group_id BIGINT NOT NULL)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	users, err := tx.PrepareContext(ctx, `INSERT INTO floor_users (id, tenant, key, attrs, inactive, managed) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	members, err := tx.PrepareContext(ctx, `INSERT INTO floor_members (user_id, group_id) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	for i, c := range cs {
		attrs, err := json.Marshal(c.User.Attrs)
		if err != nil {
			return err
		}
		if _, err := users.ExecContext(ctx, i+1, "", c.User.Key, string(attrs), false, true); err != nil {
			return err
		}
		for g := range c.Join {
			if _, err := members.ExecContext(ctx, i+1, g+1); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

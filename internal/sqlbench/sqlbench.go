// Package sqlbench is the workload behind examples/sqlbench and sqlsink's
// Go benchmarks, so both measure the same thing: creating users with
// Cosafe's attributes and two groups each, against psql's \copy of the same
// rows; and listing them back, against the driver's bare scan of the
// users table.
package sqlbench

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/sink/sqlsink"
)

// Groups is how many groups the users are spread over.
const Groups = 50

// Changes returns the changes that create the groups and then n users,
// each in two groups.
func Changes(n int) []usersync.Change {
	cs := make([]usersync.Change, 0, Groups+n)
	for g := range Groups {
		cs = append(cs, usersync.Change{Kind: usersync.CreateGroup, Group: usersync.Group{ID: groupID(g), Name: fmt.Sprintf("Group %d", g)}})
	}
	l := usersync.NewLayout("uniqueid", "name", "email", "title", "phone", "phone2", "firstname", "lastname")
	for i := range n {
		key := fmt.Sprintf("E%07d", i)
		groups := []string{groupID(i % Groups), groupID((i + 7) % Groups)}
		if groups[1] < groups[0] {
			groups[0], groups[1] = groups[1], groups[0]
		}
		r := usersync.Record{
			Key: key,
			Attrs: l.Make([]string{key, "Person Number " + key, "person." + key + "@example.com", "Nurse",
				"+46 70 123 45 67", "", "Person", "Number " + key}),
			Groups: groups,
		}
		cs = append(cs, usersync.Change{Kind: usersync.CreateUser, User: r, Join: groups})
	}
	return cs
}

func groupID(g int) string { return "g" + strconv.Itoa(g) }

// Apply applies cs in batches of size and returns how long it took.
func Apply(ctx context.Context, s *sqlsink.Sink, cs []usersync.Change, size int) (time.Duration, error) {
	start := time.Now()
	for len(cs) > 0 {
		n := min(size, len(cs))
		for i, err := range s.ApplyBatch(ctx, cs[:n]) {
			if err != nil {
				return 0, fmt.Errorf("%v: %w", cs[i], err)
			}
		}
		cs = cs[n:]
	}
	return time.Since(start), nil
}

// Settle readies freshly loaded tables with the given prefix for
// listing as a server would have them by the next run: on PostgreSQL,
// VACUUM ANALYZE sets the visibility map that index-only scans need and
// the statistics the planner joins by; SQLite needs nothing.
func Settle(ctx context.Context, db *sql.DB, d sqlsink.Dialect, prefix string) error {
	if d != sqlsink.PostgreSQL {
		return nil
	}
	for _, t := range []string{"users", "groups", "memberships"} {
		if _, err := db.ExecContext(ctx, `VACUUM ANALYZE "`+prefix+t+`"`); err != nil {
			return err
		}
	}
	return nil
}

// List lists every user of s and returns how many and how long it took.
// A listing that took less than the Floor of the same table in the same
// run would be suspect; one that took far more spends its time in the
// Sink.
func List(ctx context.Context, s *sqlsink.Sink) (int, time.Duration, error) {
	start := time.Now()
	n := 0
	for _, err := range s.Users(ctx) {
		if err != nil {
			return n, 0, err
		}
		n++
	}
	return n, time.Since(start), nil
}

// CopyBaseline loads the users and memberships of cs with psql's \copy
// into empty tables created with the Sink's own schema under prefix, as
// rows with the IDs the tables would give them, and returns how long psql
// took. The groups go in first, untimed. psql's session says its writes
// are the library's own, new rows only (usersync.writes and usersync.fresh),
// as a first load's batches do, so that the drift triggers and the
// memberships' checks leave them alone: the floor is the rows' load, not
// what a write by hand sets off.
func CopyBaseline(ctx context.Context, db *sql.DB, psql, dsn, prefix string, cs []usersync.Change, dir string) (time.Duration, error) {
	if _, err := sqlsink.New(ctx, db, sqlsink.PostgreSQL, &sqlsink.Options{Tables: sqlsink.Tables{Prefix: prefix}}); err != nil {
		return 0, err
	}
	groupIDs := map[string]int{}
	for _, c := range cs {
		if c.Kind == usersync.CreateGroup {
			var id int
			err := db.QueryRowContext(ctx, `INSERT INTO "`+prefix+`groups" (tenant, ext_id, name) VALUES ('', $1, $2) RETURNING id`, c.Group.ID, c.Group.Name).Scan(&id)
			if err != nil {
				return 0, err
			}
			groupIDs[c.Group.ID] = id
		}
	}
	users, members := filepath.Join(dir, "users.csv"), filepath.Join(dir, "memberships.csv")
	if err := writeCSVs(cs, groupIDs, users, members); err != nil {
		return 0, err
	}
	script := fmt.Sprintf(`SET usersync.writes = 'on';
SET usersync.fresh = 'on';
\copy "%susers" (id, tenant, key, attrs, inactive, managed, missing_runs, missing_since) FROM '%s' WITH (FORMAT csv, FORCE_NOT_NULL (tenant))
\copy "%smemberships" (user_id, group_id) FROM '%s' WITH (FORMAT csv)
`, prefix, users, prefix, members)
	cmd := exec.CommandContext(ctx, psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("psql: %w: %s", err, out)
	}
	return d, nil
}

// writeCSVs writes the rows psql loads: each user with the JSON object the
// Sink would write, and each membership.
func writeCSVs(cs []usersync.Change, groupIDs map[string]int, users, members string) error {
	uf, err := os.Create(users)
	if err != nil {
		return err
	}
	defer uf.Close()
	mf, err := os.Create(members)
	if err != nil {
		return err
	}
	defer mf.Close()
	uw, mw := csv.NewWriter(uf), csv.NewWriter(mf)
	id := 0
	for _, c := range cs {
		if c.Kind != usersync.CreateUser {
			continue
		}
		id++
		attrs, err := c.User.Attrs.MarshalJSON()
		if err != nil {
			return err
		}
		uw.Write([]string{strconv.Itoa(id), "", c.User.Key, string(attrs), "false", "true", "0", "0"})
		for _, g := range c.Join {
			mw.Write([]string{strconv.Itoa(id), strconv.Itoa(groupIDs[g])})
		}
	}
	for _, w := range []*csv.Writer{uw, mw} {
		if w.Flush(); w.Error() != nil {
			return w.Error()
		}
	}
	if err := uf.Close(); err != nil {
		return err
	}
	return mf.Close()
}

// Floor scans the key and attributes of every row of the users table, as
// SQL with no condition and no order, through the driver the Sink lists
// with and the way it does (pgx's rows in text on PostgreSQL,
// database/sql/driver rows on SQLite), doing nothing with them: what
// listing costs at the least. It returns how many rows and how long it
// took.
func Floor(ctx context.Context, db *sql.DB, users string) (int, time.Duration, error) {
	start := time.Now()
	n, err := RawScan(ctx, db, `SELECT key, attrs FROM "`+users+`"`)
	return n, time.Since(start), err
}

// RawScan runs query through the driver alone, as Floor describes, and
// counts its rows.
func RawScan(ctx context.Context, db *sql.DB, query string) (int, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	n := 0
	err = conn.Raw(func(dc any) error {
		switch c := dc.(type) {
		case *stdlib.Conn:
			rows, err := c.Conn().Query(ctx, query, pgx.QueryResultFormats{pgx.TextFormatCode})
			if err != nil {
				return err
			}
			for ; rows.Next(); n++ {
				rows.RawValues()
			}
			return rows.Err()
		case driver.QueryerContext:
			rows, err := c.QueryContext(ctx, query, nil)
			if err != nil {
				return err
			}
			defer rows.Close()
			dest := make([]driver.Value, len(rows.Columns()))
			for ; ; n++ {
				if err := rows.Next(dest); err != nil {
					if err == io.EOF {
						return nil
					}
					return err
				}
			}
		}
		return fmt.Errorf("sqlbench: no raw scan over a connection of %T", dc)
	})
	return n, err
}

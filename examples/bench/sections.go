package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/internal/bench"
	"github.com/usersync/usersync/internal/gen"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/dirsource"
)

// pipeline returns the stock Pipeline a host builds: csvmap's Cosafe
// preset and the default Reconciler, but for the absolute cap of the
// remove guard (500 users), which a directory of this size raises: the
// 0.5% gone is well within the guard's default 10%.
func (b *benchmark) pipeline(src usersync.Source, sink usersync.Sink) (*usersync.Pipeline, error) {
	m, err := csvmap.New(bench.Schema, nil)
	if err != nil {
		return nil, err
	}
	p := &usersync.Pipeline{
		Source:     src,
		Mapper:     m,
		Reconciler: reconcile.New(&reconcile.Policy{RemoveGuard: b.removeGuard()}),
		Sink:       sink,
	}
	if b.c.memProfile != "" {
		p.Reporter = bench.HeapProfiler(b.c.memProfile)
	}
	if b.c.phases {
		p.Reporter = bench.PhaseTimer(os.Stderr, p.Reporter)
	}
	return p, nil
}

// removeGuard is the default remove guard without its absolute cap; off
// when -changed has more of the users leave (a quarter of those changed,
// see bench.PrepareOptions) than its 10% allow, as a host
// approving such a night would have it, so that the night is measured
// rather than held.
func (b *benchmark) removeGuard() reconcile.Guard {
	if b.c.changed/4 > reconcile.DefaultGuardPercent/100.0 {
		return reconcile.Guard{Disabled: true}
	}
	return reconcile.Guard{Max: -1}
}

// syncFolder runs the Pipeline on the files of dir into sink; with a
// store, the folder is read through source.Pickup, which remembers the
// content applied in store, as a host's nightly job does.
func (b *benchmark) syncFolder(ctx context.Context, dir string, sink usersync.Sink, store usersync.Store, dec usersync.Decryptor) (*usersync.Result, error) {
	ds, err := dirsource.New(dir, nil)
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	var src usersync.Source = ds
	if store != nil {
		if src, err = source.Pickup(ds, &source.PickupOptions{MinAge: -1, Store: store, Logger: b.log}); err != nil {
			return nil, err
		}
	}
	p, err := b.pipeline(src, sink)
	if err != nil {
		return nil, err
	}
	p.Decryptor = dec
	return p.Run(ctx)
}

// firstLoad syncs yesterday's file into an empty sink.
func (b *benchmark) firstLoad(ctx context.Context, sink usersync.Sink) error {
	return b.firstLoadOf(ctx, b.s.YesterdayDir(), sink, nil)
}

// firstLoadOf syncs the file in dir into an empty sink, under policy if
// not nil; every user must be created, and every manager reference
// resolved.
func (b *benchmark) firstLoadOf(ctx context.Context, dir string, sink usersync.Sink, policy *reconcile.Policy) error {
	ds, err := dirsource.New(dir, nil)
	if err != nil {
		return err
	}
	defer ds.Close()
	p, err := b.pipeline(ds, sink)
	if err != nil {
		return err
	}
	if policy != nil {
		p.Reconciler = reconcile.New(policy)
	}
	res, err := p.Run(ctx)
	if err != nil {
		return err
	}
	if res.Status != usersync.Succeeded || res.Applied.Created != b.c.users || res.Plan.WarningsTotal > 0 {
		return fmt.Errorf("first load: %s, applied %+v, %d warnings, want %d created", res.Status, res.Applied, res.Plan.WarningsTotal, b.c.users)
	}
	return nil
}

// firstLoadManagers measures a first load into SQLite under a policy that
// resolves managers, of a file whose every user reports to a manager in
// it (bench.Scenario.Managers), against the same first load of yesterday's
// file without the policy, alternated: what resolving the references and
// listing the creates level by level cost.
func (b *benchmark) firstLoadManagers(ctx context.Context, t *sqliteTarget) error {
	dir, err := b.s.Managers()
	if err != nil {
		return err
	}
	return b.firstLoadUnder(ctx, t, policyLoad{
		id:     "firstload-managers-sqlite",
		what:   "managers resolved",
		title:  fmt.Sprintf("a manager policy (%d reports each)", bench.ManagerFanout),
		dir:    dir,
		policy: &reconcile.Policy{RemoveGuard: reconcile.Guard{Max: -1}, Manager: reconcile.Manager{Attr: "title"}},
	})
}

// firstLoadAccounts measures a first load of yesterday's file into SQLite
// under a policy that makes its file an account's, against the same first
// load without it, alternated: what the account's membership costs.
func (b *benchmark) firstLoadAccounts(ctx context.Context, t *sqliteTarget) error {
	return b.firstLoadUnder(ctx, t, policyLoad{
		id:    "firstload-accounts-sqlite",
		what:  "one account",
		title: "an account policy (the file's users in one account)",
		dir:   b.s.YesterdayDir(),
		policy: &reconcile.Policy{RemoveGuard: reconcile.Guard{Max: -1},
			Accounts: []reconcile.Account{{File: "*.csv", Group: "account", Name: "The account"}}},
	})
}

// A policyLoad is a first load under a policy, of the file in dir.
type policyLoad struct {
	id, what, title, dir string
	policy               *reconcile.Policy
}

// firstLoadUnder measures the first load l into SQLite against the first
// load of yesterday's file without a policy, alternated.
func (b *benchmark) firstLoadUnder(ctx context.Context, t *sqliteTarget, l policyLoad) error {
	paths := []string{filepath.Join(t.dir, "policy.db"), filepath.Join(t.dir, "plain.db")}
	dbs := make([]*sql.DB, len(paths))
	sinks := make([]*sqlsink.Sink, len(paths))
	c := &comparison{
		title:  fmt.Sprintf("first load of %d users into SQLite, with and without %s", b.c.users, l.title),
		rounds: b.c.loadRuns,
		setup: func(ctx context.Context, _ int) (err error) {
			for i, p := range paths {
				bench.RemoveSQLite(p)
				if dbs[i], sinks[i], err = openSQLite(ctx, p); err != nil {
					return err
				}
			}
			return nil
		},
		teardown: func(context.Context, int) error {
			var errs []error
			for i, p := range paths {
				errs = append(errs, dbs[i].Close())
				bench.RemoveSQLite(p)
			}
			return errors.Join(errs...)
		},
		sides: []side{
			{name: "sync SQLite, " + l.what, measured: true, steps: []step{{"sync", func(ctx context.Context) error {
				return b.firstLoadOf(ctx, l.dir, sinks[0], l.policy)
			}}}},
			{name: "sync SQLite, no policy", steps: []step{{"sync", func(ctx context.Context) error {
				return b.firstLoad(ctx, sinks[1])
			}}}},
		},
	}
	res, err := c.run(ctx, b.out)
	if err != nil {
		return err
	}
	b.add(row{id: l.id, what: fmt.Sprintf("first load, %s users, SQLite, %s", count(b.c.users), l.what), sync: res[0], floors: res[1:],
		floorNote: "the first load without a policy", target: "-", cpu: true})
	return nil
}

// nightlySync syncs today's file into a sink holding yesterday's users.
func (b *benchmark) nightlySync(ctx context.Context, sink usersync.Sink, store usersync.Store) error {
	res, err := b.syncFolder(ctx, b.s.DropDir(), sink, store, nil)
	if err != nil {
		return err
	}
	created, gone := b.s.Expect()
	return checkNightly(res, created, gone)
}

// checkNightly checks that a nightly sync created and deactivated the users
// the scenario expects, and updated some.
func checkNightly(res *usersync.Result, created, gone int) error {
	c := res.Applied
	if res.Status != usersync.Succeeded || c.Created != created || c.Deactivated != gone || c.Updated == 0 {
		return fmt.Errorf("unexpected outcome: %s, applied %+v, want %d created and %d deactivated", res.Status, c, created, gone)
	}
	return nil
}

// csvPass is floor (a): encoding/csv over today's file.
func (b *benchmark) csvPass(path string, want int) step {
	return step{"csv pass", func(context.Context) error {
		n, err := bench.PlainCSV(path)
		if err == nil && n != want {
			err = fmt.Errorf("read %d records, want %d", n, want)
		}
		return err
	}}
}

// nightly measures the nightly sync into t against its floor.
func (b *benchmark) nightly(ctx context.Context, t target) error {
	var sink usersync.Sink
	var store usersync.Store
	measured := side{name: "sync " + t.name(), measured: true}
	if lite, ok := t.(*sqliteTarget); ok {
		// In a process of its own, as deployed: see the command's doc.
		created, gone := b.s.Expect()
		sync, peaks := b.childSync(lite.roundPath(), b.s.DropDir(), fmt.Sprintf("created=%d,gone=%d", created, gone), b.c.profile, true)
		measured.steps, measured.child = []step{sync}, peaks
	} else {
		measured.steps = []step{{"sync", func(ctx context.Context) error { return b.nightlySync(ctx, sink, store) }}}
	}
	floor := side{name: "floor", repeat: 3, steps: []step{b.csvPass(b.s.Today, b.c.users+1)}}
	if scan := t.keyScan(); scan != nil {
		floor.steps = append(floor.steps, step{"key scan", func(ctx context.Context) error {
			n, err := scan(ctx)
			if err == nil && n < b.c.users-b.c.users/10 {
				err = fmt.Errorf("scanned %d keys, want about %d", n, b.c.users)
			}
			return err
		}})
	}
	sides := []side{measured, floor}
	check := func(context.Context) error { return nil }
	if lite, ok := t.(*sqliteTarget); ok {
		var applied side
		applied, check = applyFloor(lite)
		sides = append(sides, applied)
	}
	c := &comparison{
		title:  fmt.Sprintf("nightly sync into %s: today's file, %.3g%% changed, onto yesterday's %d users", t.name(), b.c.changed*100, b.c.users),
		rounds: b.c.rounds,
		setup: func(ctx context.Context, _ int) (err error) {
			sink, store, err = t.fresh(ctx)
			return err
		},
		teardown: func(ctx context.Context, round int) error {
			var err error
			if round == 0 {
				err = check(ctx)
			}
			sink, store = nil, nil
			return errors.Join(err, t.closeRound())
		},
		sides: sides,
	}
	res, err := c.run(ctx, b.out)
	if err != nil {
		return err
	}
	target := "≤ 3× floor, RSS ≤ 256 MiB"
	floorNote := "csv pass + key scan"
	switch t.name() {
	case "PostgreSQL":
		target = "≤ 3× floor"
	case "memsink":
		target = "-"
		floorNote = "csv pass (no database); RSS holds the sink's users"
	}
	b.add(row{id: "nightly-" + strings.ToLower(t.name()), what: fmt.Sprintf("nightly, %s users, %.3g%% changed, %s", count(b.c.users), b.c.changed*100, t.name()),
		sync: res[0], floors: res[1:], floorNote: floorNote, target: target, cpu: t.name() != "PostgreSQL"})
	return nil
}

// applyFloor returns the side that makes the changes the nightly sync made
// to a copy of the seeded SQLite database through modernc's plain
// statements (statementApply), and the check, for the first round's
// teardown, that they leave the copy as the sync left its own. The first
// round's sync, which runs before it, tells what the changes are.
func applyFloor(t *sqliteTarget) (side, func(context.Context) error) {
	var diff *rowDiff
	path := filepath.Join(t.dir, floorDB)
	s := side{name: "modernc statements making the same changes", prepare: func(ctx context.Context) (err error) {
		if diff == nil {
			if diff, err = diffDatabases(ctx, t.seedPath, t.roundPath()); err != nil {
				return err
			}
		}
		_, err = t.copySeed(floorDB)
		return err
	}, steps: []step{{"apply", func(ctx context.Context) error { return statementApply(ctx, diff, path) }}}}
	check := func(ctx context.Context) error {
		d, err := diffDatabases(ctx, path, t.roundPath())
		if err == nil && !d.empty() {
			err = fmt.Errorf("the statements left %s otherwise than the sync left %s: %d rows inserted, %d updated, %d deleted, %d memberships added, %d removed",
				floorDB, roundDB, d.inserted.len(), d.updated.len(), len(d.deleted), d.added.len(), d.removed.len())
		}
		return err
	}
	return s, check
}

// firstLoadSQLite measures yesterday's file synced into an empty SQLite
// database against the sqlite3 tool's .import of the same file into a
// table of its columns, in a database of its own. Beside it, the tool
// copies the rows a sync wrote into an empty database of the sync's
// schema, in one transaction and without its triggers: what the schema's
// tables and indexes cost the C engine alone, which no sync into that
// schema can beat; and statementCopy writes the same rows through
// modernc's statements, as the sync writes them: what they cost the engine
// the sync writes through.
func (b *benchmark) firstLoadSQLite(ctx context.Context, t *sqliteTarget) error {
	const what = "first load into SQLite"
	tool, err := exec.LookPath("sqlite3")
	if err != nil {
		b.skip(what, "sqlite3 not installed, skipped")
		return nil
	}
	path, imported := filepath.Join(t.dir, "load.db"), filepath.Join(t.dir, "import.db")
	// The first round's load is kept as the copy's source for the rounds
	// after it; in the first round the sync runs before the copy.
	loaded, copied := filepath.Join(t.dir, "loaded.db"), filepath.Join(t.dir, "copy.db")
	written := filepath.Join(t.dir, "written.db")
	bench.RemoveSQLite(loaded)
	defer bench.RemoveSQLite(loaded)
	from := path
	var db *sql.DB
	var sink *sqlsink.Sink
	load := step{"sync", func(ctx context.Context) error { return b.firstLoad(ctx, sink) }}
	if b.c.loadProfile != "" {
		load = profiled(b.c.loadProfile, load)
	}
	script := createTable("users") + ";\n.import --csv --skip 1 " + quoteDot(b.s.Yesterday) + " users\n"
	c := &comparison{
		title:  fmt.Sprintf("first load of %d users into an empty SQLite database", b.c.users),
		rounds: b.c.loadRuns,
		setup: func(ctx context.Context, round int) (err error) {
			bench.RemoveSQLite(path)
			bench.RemoveSQLite(imported)
			bench.RemoveSQLite(copied)
			bench.RemoveSQLite(written)
			if round > 0 {
				from = loaded
			}
			db, sink, err = openSQLite(ctx, path)
			return err
		},
		teardown: func(ctx context.Context, round int) error {
			err := db.Close()
			if round == 0 && err == nil {
				err = checkCount(ctx, imported, "users", b.c.users)
			}
			if round == 0 && err == nil {
				err = checkCount(ctx, copied, "usersync_users", b.c.users)
			}
			if round == 0 && err == nil {
				err = checkCount(ctx, written, "usersync_users", b.c.users)
			}
			if round == 0 && err == nil {
				var n int
				if n, err = countRows(ctx, path, "usersync_memberships"); err == nil {
					err = checkCount(ctx, written, "usersync_memberships", n)
				}
			}
			if round == 0 && err == nil {
				err = os.Rename(path, loaded) // closed, so whole without its WAL
			}
			bench.RemoveSQLite(path)
			bench.RemoveSQLite(imported)
			bench.RemoveSQLite(copied)
			bench.RemoveSQLite(written)
			return err
		},
		sides: []side{
			{name: "sync SQLite", measured: true, steps: []step{load}},
			{name: "sqlite3 .import", steps: []step{{".import", func(ctx context.Context) error {
				return runTool(ctx, script, tool, "-bail", imported)
			}}}},
			{name: "sqlite3 copy into the sync's schema", steps: []step{{"copy", func(ctx context.Context) error {
				script, err := copyScript(ctx, from)
				if err != nil {
					return err
				}
				return runTool(ctx, script, tool, "-bail", copied)
			}}}},
			{name: "modernc statements into the sync's schema", steps: []step{{"write", func(ctx context.Context) error {
				return statementCopy(ctx, from, written)
			}}}},
		},
	}
	res, err := c.run(ctx, b.out)
	if err != nil {
		return err
	}
	b.add(row{id: "firstload-sqlite", what: fmt.Sprintf("first load, %s users, SQLite", count(b.c.users)), sync: res[0], floors: res[1:],
		floorNote: "sqlite3 .import", target: "≤ 5× .import, RSS ≤ 512 MiB", cpu: true})
	return nil
}

// firstLoadPostgres measures yesterday's file synced into an empty
// PostgreSQL database against psql's \copy of the same file into a table
// of its columns, in the same database.
func (b *benchmark) firstLoadPostgres(ctx context.Context, t *pgTarget) error {
	const what = "first load into PostgreSQL"
	tool, err := exec.LookPath("psql")
	if err != nil {
		b.skip(what, "psql not installed, skipped")
		return nil
	}
	conn, env := psqlConn(withDatabase(t.dsn, t.loadDB))
	script := `\copy bench_import FROM ` + quoteSQL(b.s.Yesterday) + ` WITH (FORMAT csv, HEADER true)` + "\n"
	var db *sql.DB
	var sink *sqlsink.Sink
	load := step{"sync", func(ctx context.Context) error { return b.firstLoad(ctx, sink) }}
	if b.c.loadProfile != "" {
		load = profiled(b.c.loadProfile+".postgres", load)
	}
	c := &comparison{
		title:  fmt.Sprintf("first load of %d users into an empty PostgreSQL database", b.c.users),
		rounds: b.c.loadRuns,
		setup: func(ctx context.Context, _ int) (err error) {
			if err := t.recreate(ctx, t.loadDB, ""); err != nil {
				return err
			}
			if db, sink, err = t.open(ctx, t.loadDB); err != nil {
				return err
			}
			_, err = db.ExecContext(ctx, createTable("bench_import"))
			return err
		},
		teardown: func(ctx context.Context, round int) error {
			var n int
			err := db.QueryRowContext(ctx, `SELECT count(*) FROM bench_import`).Scan(&n)
			if err == nil && n != b.c.users {
				err = fmt.Errorf("psql imported %d rows, want %d", n, b.c.users)
			}
			return errors.Join(err, db.Close(), t.drop(ctx, t.loadDB))
		},
		sides: []side{
			{name: "sync PostgreSQL", measured: true, steps: []step{load}},
			{name: `psql \copy`, steps: []step{{`\copy`, func(ctx context.Context) error {
				cmd := exec.CommandContext(ctx, tool, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conn, "-f", "-")
				cmd.Env = append(os.Environ(), env...)
				cmd.Stdin = strings.NewReader(script)
				if out, err := cmd.CombinedOutput(); err != nil {
					return fmt.Errorf("psql: %w: %s", err, out)
				}
				return nil
			}}}},
		},
	}
	res, err := c.run(ctx, b.out)
	if err != nil {
		return err
	}
	b.add(row{id: "firstload-postgresql", what: fmt.Sprintf("first load, %s users, PostgreSQL", count(b.c.users)), sync: res[0], floors: res[1:],
		floorNote: `psql \copy`, target: "≤ 1.5× \\copy, RSS ≤ 512 MiB"})
	return nil
}

// sameFileAgain measures a second sync of today's file, once applied, in a
// child process (see againChild), against hashing the file.
func (b *benchmark) sameFileAgain(ctx context.Context, t *sqliteTarget) error {
	path, err := t.copySeed("again.db")
	if err != nil {
		return err
	}
	defer bench.RemoveSQLite(path)
	db, sink, err := openSQLite(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := b.nightlySync(ctx, sink, sink.Store()); err != nil {
		return fmt.Errorf("applying today's file: %w", err)
	}
	db.Close() // the child process opens it
	// Against sha256sum, a process too: the child's whole time counts.
	again, peaks := b.childSync(path, b.s.DropDir(), "applied", "", false)
	sides := []side{
		{name: "sync SQLite, file applied", measured: true, steps: []step{again}, child: peaks},
		{name: "sha256 in-process", repeat: 3, steps: []step{{"sha256", func(context.Context) error { return hashFile(b.s.Today) }}}},
	}
	tool, err := exec.LookPath("sha256sum")
	if err == nil {
		sides = append(sides, side{name: "sha256sum", repeat: 3, steps: []step{{"sha256sum", func(ctx context.Context) error {
			return runTool(ctx, "", tool, b.s.Today)
		}}}})
	} else {
		fmt.Fprintln(b.out, "sha256sum not installed: the floor is crypto/sha256 in this process alone")
	}
	c := &comparison{title: "the same file again, into SQLite", rounds: b.c.rounds, sides: sides}
	res, err := c.run(ctx, b.out)
	if err != nil {
		return err
	}
	floors, note := res[1:], "sha256 in-process"
	if len(res) == 3 {
		floors, note = []*sideResult{res[2], res[1]}, "sha256sum (and crypto/sha256 in-process)"
	}
	b.add(row{id: "again-sqlite", what: fmt.Sprintf("same file again, %s users, SQLite", count(b.c.users)), sync: res[0], floors: floors,
		floorNote: note, target: "≤ 1.5× sha256sum, RSS ≤ 64 MiB", cpu: true})
	return nil
}

// hashFile is crypto/sha256 over the file with a 64 KiB buffer.
func hashFile(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	h.Sum(nil)
	return nil
}

// runTool runs a program with stdin, failing with its output.
func runTool(ctx context.Context, stdin, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out strings.Builder
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", filepath.Base(name), err, out.String())
	}
	if out.Len() > 0 {
		return fmt.Errorf("%s: %s", filepath.Base(name), out.String())
	}
	return nil
}

// copyScript returns a sqlite3 script that copies the database at from
// into an empty one, with the settings of sqlite.DSN that bear on writing
// (WAL, synchronous=FULL, temp_store=MEMORY): its tables and indexes, then
// every row in one transaction, then its triggers, so that none fires.
func copyScript(ctx context.Context, from string) (string, error) {
	db, err := openReadOnly(from)
	if err != nil {
		return "", err
	}
	defer db.Close()
	s, err := readSchema(ctx, db)
	if err != nil {
		return "", fmt.Errorf("%s: %w", from, err)
	}
	inserts := make([]string, len(s.tables))
	for i, t := range s.tables {
		inserts[i] = `INSERT INTO main."` + t + `" SELECT * FROM src."` + t + `"`
	}
	lines := func(stmts []string) string { return strings.Join(stmts, ";\n") + ";" }
	return strings.Join([]string{
		"PRAGMA journal_mode=WAL;", "PRAGMA synchronous=FULL;", "PRAGMA temp_store=MEMORY;",
		lines(s.ddl),
		"ATTACH " + quoteSQL(from) + " AS src;",
		"BEGIN;", lines(inserts), lines(s.triggers), "COMMIT;",
	}, "\n") + "\n", nil
}

// createTable returns the statement that creates a table of the generated
// files' columns, all text.
func createTable(name string) string {
	cols := gen.Columns()
	for i, c := range cols {
		cols[i] = `"` + c + `" TEXT`
	}
	return `CREATE TABLE "` + name + `" (` + strings.Join(cols, ", ") + `)`
}

// checkCount checks that a floor wrote want rows to table.
func checkCount(ctx context.Context, path, table string, want int) error {
	n, err := countRows(ctx, path, table)
	if err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("%s: %d rows in %s, want %d", filepath.Base(path), n, table, want)
	}
	return nil
}

// countRows counts the rows of a table of the SQLite database at path.
func countRows(ctx context.Context, path, table string) (int, error) {
	db, err := openReadOnly(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM "`+table+`"`).Scan(&n)
	return n, err
}

// openReadOnly opens the SQLite database at path for reading only.
func openReadOnly(path string) (*sql.DB, error) {
	return sql.Open("sqlite", "file:"+path+"?mode=ro")
}

// quoteDot quotes a file name for a sqlite3 dot-command.
func quoteDot(p string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(p, `\`, `\\`), `"`, `\"`) + `"`
}

// quoteSQL quotes a string literal for SQL.
func quoteSQL(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// psqlConn returns a connection string for psql without the password, and
// the environment that gives it, so that it does not show in the process
// list.
func psqlConn(dsn string) (conn string, env []string) {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn, nil
	}
	if pw, ok := u.User.Password(); ok {
		env = append(env, "PGPASSWORD="+pw)
		u.User = url.User(u.User.Username())
	}
	return u.String(), env
}

// profiled writes a CPU profile of st's first run to path.
func profiled(path string, st step) step {
	done := false
	return step{st.name, func(ctx context.Context) error {
		if done {
			return st.run(ctx)
		}
		done = true
		stop, err := startCPUProfile(path)
		if err != nil {
			return err
		}
		defer stop()
		return st.run(ctx)
	}}
}

// startCPUProfile starts a CPU profile written to path, and returns the
// func that ends it.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// count writes a number of users as the issue does: 1M, 5M, 20k.
func count(n int) string {
	switch {
	case n >= 1_000_000 && n%100_000 == 0:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/1e6), ".0") + "M"
	case n >= 1000 && n%100 == 0:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/1e3), ".0") + "k"
	}
	return fmt.Sprint(n)
}

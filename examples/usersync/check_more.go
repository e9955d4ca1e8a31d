package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/sink/sqlsink"
)

// checkSink checks the directory's database: that it answers, that its
// tables are usersync's (or not there yet), and how many users the tenant
// has. It creates nothing: an SQLite file that does not exist yet is left
// for the first run to create.
func (a *app) checkSink(ctx context.Context, cs *checks) {
	name := "database"
	if s := a.cfg.Sink.SQLite; s != nil {
		name = "SQLite " + string(s.Path)
		if _, err := os.Stat(string(s.Path)); errors.Is(err, os.ErrNotExist) {
			dir := filepath.Dir(string(s.Path))
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				cs.add("sink", usersync.CheckResult{Name: name, Err: fmt.Errorf("the folder %s does not exist", dir)})
				return
			}
			cs.add("sink", usersync.CheckResult{Name: name, Detail: "does not exist yet: the first run creates it"})
			return
		}
	} else {
		name = "PostgreSQL"
	}
	db, d, err := a.openDB(ctx)
	if err != nil {
		cs.add("sink", usersync.CheckResult{Name: name, Err: err})
		return
	}
	defer db.Close()
	sink, err := sqlsink.New(ctx, db, d, a.sinkOptions(true))
	if err != nil {
		prefix := a.cfg.Sink.TablePrefix
		if prefix == "" {
			prefix = sqlsink.DefaultPrefix
		}
		if exists, qerr := tableExists(ctx, db, d, prefix+"migrations"); qerr == nil && !exists {
			cs.add("sink", usersync.CheckResult{Name: name, Detail: "answers; no usersync tables yet: the first run creates them"})
			return
		}
		cs.add("sink", usersync.CheckResult{Name: name, Err: err})
		return
	}
	cs.add("sink", usersync.CheckResult{Name: name, Detail: "answers; " + countUsers(ctx, sink)})
	st := sink.Store()
	if _, err := st.Get(ctx, "applied/.check"); err != nil && !errors.Is(err, usersync.ErrNotFound) {
		cs.add("sink", usersync.CheckResult{Name: "state store", Err: err})
	}
}

// tableExists reports whether the database has the table.
func tableExists(ctx context.Context, db *sql.DB, d sqlsink.Dialect, table string) (bool, error) {
	var n int
	var err error
	if d == sqlsink.SQLite {
		err = db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", table).Scan(&n)
	} else {
		err = db.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_name = $1", table).Scan(&n)
	}
	return n > 0, err
}

// countUsers says how many users the tenant has, so that a wrong tenant
// (no users at all) shows.
func countUsers(ctx context.Context, sink *sqlsink.Sink) string {
	users, managed, inactive := 0, 0, 0
	for u, err := range sink.Users(ctx) {
		if err != nil {
			return "listing the users failed: " + err.Error()
		}
		users++
		if u.Managed {
			managed++
		}
		if u.Inactive {
			inactive++
		}
	}
	tenant := sink.Tenant()
	if tenant == "" {
		tenant = `""`
	}
	return fmt.Sprintf("tenant %s: %d users (%d managed by the sync, %d inactive)", tenant, users, managed, inactive)
}

// checkEmail checks the SMTP server without sending anything.
func (a *app) checkEmail(ctx context.Context, cs *checks) {
	m, err := a.mailer()
	switch {
	case err != nil:
		cs.add("email", usersync.CheckResult{Name: "SMTP", Err: err})
	case m != nil:
		cs.add("email", m.Check(ctx)...)
	}
}

// checkSchedule shows when watch would run next.
func (a *app) checkSchedule(cs *checks) {
	if a.cfg.Schedule == nil {
		return
	}
	detail, err := describeSchedule(a.cfg.Schedule, time.Now())
	cs.add("schedule", usersync.CheckResult{Name: "watch", Detail: detail, Err: err})
}

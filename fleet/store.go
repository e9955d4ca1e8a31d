package fleet

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// statusTable holds a row per tenant: its last run, the settings version
// its pending job was scheduled from, and the triggers that came while it
// ran. Times are Unix microseconds, so that one schema and one set of
// statements serve PostgreSQL and SQLite.
const statusTable = "usersync_fleet_tenant"

const createStatusTable = `CREATE TABLE IF NOT EXISTS ` + statusTable + ` (
	tenant_id   TEXT PRIMARY KEY,
	version     TEXT NOT NULL DEFAULT '',
	status      TEXT NOT NULL DEFAULT '',
	class       TEXT NOT NULL DEFAULT '',
	reason      TEXT NOT NULL DEFAULT '',
	error       TEXT NOT NULL DEFAULT '',
	started_us  BIGINT NOT NULL DEFAULT 0,
	finished_us BIGINT NOT NULL DEFAULT 0,
	applied     INTEGER NOT NULL DEFAULT 0,
	failed      INTEGER NOT NULL DEFAULT 0,
	rejected    INTEGER NOT NULL DEFAULT 0,
	retry       INTEGER NOT NULL DEFAULT 0,
	runs        BIGINT NOT NULL DEFAULT 0,
	worker      TEXT NOT NULL DEFAULT '',
	triggered   INTEGER NOT NULL DEFAULT 0
)`

// Statements, with $n placeholders, which both databases read.
const (
	sqlRecord = `INSERT INTO ` + statusTable + ` (tenant_id, status, class, reason, error, started_us, finished_us,
	applied, failed, rejected, retry, worker, runs)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1)
ON CONFLICT (tenant_id) DO UPDATE SET status = excluded.status, class = excluded.class, reason = excluded.reason,
	error = excluded.error, started_us = excluded.started_us, finished_us = excluded.finished_us,
	applied = excluded.applied, failed = excluded.failed, rejected = excluded.rejected, retry = excluded.retry,
	worker = excluded.worker, runs = ` + statusTable + `.runs + 1
RETURNING triggered`
	sqlServed  = `UPDATE ` + statusTable + ` SET triggered = triggered - $2 WHERE tenant_id = $1`
	sqlTrigger = `INSERT INTO ` + statusTable + ` (tenant_id, triggered) VALUES ($1, 1)
ON CONFLICT (tenant_id) DO UPDATE SET triggered = ` + statusTable + `.triggered + 1`
	sqlVersions = `SELECT tenant_id, version FROM ` + statusTable
	sqlForget   = `DELETE FROM ` + statusTable + ` WHERE tenant_id = $1`
	sqlStatuses = `SELECT tenant_id, status, class, reason, error, started_us, finished_us, applied, failed, rejected,
	retry, runs, worker, triggered FROM ` + statusTable
)

// record is what a run leaves in the status table.
type record struct {
	tenant, status, class, reason, err string
	started, finished                  time.Time
	applied, failed, rejected, retry   int
	worker                             string
}

func (r *record) args() []any {
	return []any{r.tenant, r.status, r.class, r.reason, r.err, micros(r.started), micros(r.finished),
		r.applied, r.failed, r.rejected, r.retry, r.worker}
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us)
}

// versions returns the settings version each tenant's pending job was
// scheduled from.
func versions(ctx context.Context, db *sql.DB) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, sqlVersions)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, v string
		if err := rows.Scan(&id, &v); err != nil {
			return nil, err
		}
		out[id] = v
	}
	return out, rows.Err()
}

func unmarshalArgs(data []byte, args *SyncArgs) error { return json.Unmarshal(data, args) }

// recordVersions records the settings version of each tenant, 500 a
// statement.
func recordVersions(ctx context.Context, db *sql.DB, ts []Tenant) error {
	for len(ts) > 0 {
		batch := ts[:min(len(ts), 500)]
		ts = ts[len(batch):]
		var q strings.Builder
		q.WriteString("INSERT INTO " + statusTable + " (tenant_id, version) VALUES ")
		args := make([]any, 0, 2*len(batch))
		for i, t := range batch {
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "($%d, $%d)", 2*i+1, 2*i+2)
			args = append(args, t.ID, t.Version)
		}
		q.WriteString(" ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version")
		if _, err := db.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

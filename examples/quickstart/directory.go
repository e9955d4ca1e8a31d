package main

// The product's side, outside the sync: its administrators add users by
// hand, and its pages read the directory with plain SQL. The tables are
// sqlsink's defaults; sqlsink.Tables maps them onto a host's own instead.

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
)

// addConsultantByHand inserts a user as an administrator would in the
// product's admin pages: managed is false, so the sync never changes,
// deactivates or deletes her.
func addConsultantByHand(ctx context.Context, db *sql.DB) error {
	_, err := db.ExecContext(ctx, `INSERT INTO usersync_users (tenant, key, attrs, managed)
VALUES ('acme', 'consultant-ines', json_object('name', 'Ines Vidal (added by hand)', 'email', 'ines@consulting.example'), FALSE)`)
	return err
}

// printDirectory lists Acme's users, their state and groups, straight from
// the tables.
func printDirectory(ctx context.Context, out io.Writer, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT u.key, json_extract(u.attrs, '$.name'), coalesce(json_extract(u.attrs, '$.title'), ''),
  u.inactive, u.managed,
  coalesce((SELECT group_concat(g.name, '; ' ORDER BY g.name) FROM usersync_memberships m
    JOIN usersync_groups g ON g.id = m.group_id WHERE m.user_id = u.id), '')
FROM usersync_users u WHERE u.tenant = 'acme' ORDER BY u.key`)
	if err != nil {
		return err
	}
	defer rows.Close()
	fmt.Fprintf(out, "\nAcme's users in the product's database now (table usersync_users):\n")
	for rows.Next() {
		var key, name, title, groups string
		var inactive, managed bool
		if err := rows.Scan(&key, &name, &title, &inactive, &managed, &groups); err != nil {
			return err
		}
		state, owner := "active", "sync"
		if inactive {
			state = "inactive"
		}
		if !managed {
			owner = "by hand"
		}
		line := fmt.Sprintf("  %-16s %-28s %-15s %-8s %-7s %s", key, name, title, state, owner, groups)
		fmt.Fprintln(out, strings.TrimRight(line, " "))
	}
	return rows.Err()
}

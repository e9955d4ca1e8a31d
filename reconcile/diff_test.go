package reconcile_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/reconcile"
)

func TestWriteDiffShowsEveryKindOfChange(t *testing.T) {
	pos := usersync.Position{File: "users.csv", Line: 5}
	inactive := row("e6", "Fay", "fay@x", 6)
	inactive.Inactive = true
	plan := &usersync.Plan{
		Time:        now,
		Files:       []usersync.PlanFile{{Name: "users.csv", Size: 1234, SHA256: "ab12", Records: 5, Rejected: 1}},
		Fingerprint: usersync.Fingerprint{0xab},
		Hold:        &usersync.GuardError{Guard: "deactivations and deletions", Count: 3, Population: 10, Limit: "1"},
		Unchanged:   4, Manual: 1,
		Changes: usersync.NewChangeList([]usersync.Change{
			{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "nurses", Name: "Nurses"}},
			{Kind: usersync.RenameGroup, Group: usersync.Group{ID: "ward-3", Name: "Ward three"}},
			{Kind: usersync.RestoreUser, User: usersync.Record{Key: "e2", Origin: pos}},
			{Kind: usersync.MarkMissing, User: usersync.Record{Key: "e3", MissingRuns: 2, MissingSince: now.Unix()}},
			{Kind: usersync.MarkMissing, User: usersync.Record{Key: "e4"}},
			{Kind: usersync.DeactivateUser, User: inactive},
			{Kind: usersync.DeleteUser, User: usersync.Record{Key: "bad\nkey\x1b[31m"}},
		}...),
		Warnings:      []*usersync.RowError{{File: "users.csv", Line: 9, Column: "manager", Value: "boss@x", Err: reconcile.ErrManagerNotFound}},
		WarningsTotal: 3,
		Rejected:      []*usersync.RowError{{File: "users.csv", Line: 4, Err: errors.New("two\nlines")}},
	}
	var b strings.Builder
	require.NoError(t, reconcile.WriteDiff(&b, plan))
	assert.Equal(t, `Plan of 2026-11-21 02:00:00 UTC
File: "users.csv", 1234 bytes, 5 records, 1 rejected, sha256 ab12
Sink fingerprint: ab000000000000000000000000000000
HELD: safety guard tripped: plan has 3 deactivations and deletions of 10 managed users, over the limit of 1; approve the plan to apply it
Changes: create-group 1, rename-group 1, restore 1, mark-missing 2, deactivate 1, delete 1; unchanged 4, left alone (created by hand) 1
+ create-group nurses "Nurses"
~ rename-group ward-3 "Ward three"
~ restore e2 (users.csv:5)
! mark-missing e3: missing for 2 runs, since 2026-11-21 02:00:00 UTC
! mark-missing e4: back in the files, no longer missing
- deactivate e6 (users.csv:6): inactive in the file
- delete "bad\nkey\x1b[31m": missing from the files

Warnings (3, the first 1):
  users.csv:9: column manager: "boss@x": manager not found: the reference is not saved

Rejected rows (1):
  users.csv:4: two\nlines
`, b.String())
}

func TestWriteDiffReportsWriteErrors(t *testing.T) {
	p := plan(t, nil, []usersync.Record{row("e1", "Ann", "ann@x", 2)}, &state{})
	assert.ErrorIs(t, reconcile.WriteDiff(failingWriter{}, p), errFull)
}

var errFull = errors.New("disk full")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errFull }

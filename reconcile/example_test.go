package reconcile_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/reconcile"
)

func ExampleNew() {
	feed := &usersync.Feed{Records: []usersync.Record{
		{Key: "e1", Attrs: usersync.NewAttrs("name", "Ann Berg"), Groups: []string{"nurses"}},
		{Key: "e3", Attrs: usersync.NewAttrs("name", "Cy Dahl")},
	}}
	current := &state{users: []usersync.Record{
		{Key: "e1", Attrs: usersync.NewAttrs("name", "Ann"), Managed: true},
		{Key: "e2", Attrs: usersync.NewAttrs("name", "Bo"), Managed: true},
		{Key: "m1", Attrs: usersync.NewAttrs("name", "Temp, by hand")},
	}}
	plan, err := reconcile.New(&reconcile.Policy{Absent: reconcile.Deactivate}).Reconcile(context.Background(), feed, current)
	if err != nil {
		panic(err)
	}
	for c, err := range plan.Changes.All() {
		if err != nil {
			panic(err)
		}
		fmt.Println(c, c.Attrs, c.Join)
	}
	// Output:
	// create-group nurses [] []
	// create e3 [] []
	// update e1 [name] [nurses]
	// deactivate e2 [] []
}

// A policy for Cosafe's setup: one file per account, email invitations sent
// by an administrator, a secondary phone number that users may keep when
// the file has none, and leavers deactivated after three nights, deleted
// after thirty days.
func ExamplePolicy() {
	policy := &reconcile.Policy{
		Accounts: []reconcile.Account{
			{File: "scranton.csv", Group: "scranton", Name: "Scranton branch"},
			{File: "akron.csv", Group: "akron", Name: "Akron Branch"},
		},
		Attrs:  map[string]reconcile.AttrRule{"phone2": {KeepEmpty: true}},
		Absent: reconcile.Delete,
		Grace:  reconcile.Grace{Runs: 3, For: 30 * 24 * time.Hour},
		Invite: usersync.InviteManual,
	}
	fmt.Println(policy.Validate())
	// Output:
	// <nil>
}

func ExampleWriteDiff() {
	l := usersync.NewLayout("name", "email", "title")
	feed := &usersync.Feed{
		Time: time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC),
		Records: []usersync.Record{
			{Key: "E1001", Attrs: l.Make([]string{"Ann Berg", "ann@example.com", "Head nurse"}), Groups: []string{"nurses"},
				Origin: usersync.Position{File: "users.csv", Line: 2}},
			{Key: "E1005", Attrs: l.Make([]string{"Ed Falk", "ed@example.com", "Porter"}), Groups: []string{},
				Origin: usersync.Position{File: "users.csv", Line: 3}},
			{Key: "E1006", Attrs: l.Make([]string{"Fay Gil", "fay@example.com", ""}), Groups: []string{"nurses"},
				Origin: usersync.Position{File: "users.csv", Line: 4}},
		},
	}
	current := &state{
		users: []usersync.Record{
			{Key: "E1001", Attrs: usersync.NewAttrs("name", "Ann Berg", "email", "ann@example.com", "title", "Nurse"),
				Groups: []string{"nurses", "ward-3"}, Managed: true},
			{Key: "E1004", Attrs: usersync.NewAttrs("name", "Di Eng", "email", "di@example.com"), Managed: true},
			{Key: "m-17", Attrs: usersync.NewAttrs("name", "Fay", "email", "fay@example.com")},
		},
		groups: []usersync.Group{{ID: "nurses", Name: "Nurses"}, {ID: "ward-3", Name: "Ward 3"}},
	}
	plan, err := reconcile.New(&reconcile.Policy{Invite: usersync.InviteAuto}).Reconcile(context.Background(), feed, current)
	if err != nil {
		panic(err)
	}
	if err := reconcile.WriteDiff(os.Stdout, plan); err != nil {
		panic(err)
	}
	// Output:
	// Plan of 2026-11-21 02:00:00 UTC
	// Changes: create 1, adopt 1, update 1, deactivate 1; unchanged 0
	// ~ adopt E1006, was m-17 (users.csv:4, invite auto)
	//       name    "Fay" -> "Fay Gil"
	//       email   "fay@example.com"
	//       title   ""
	//       groups  +nurses
	// + create E1005 (users.csv:3, invite auto)
	//       name    "Ed Falk"
	//       email   "ed@example.com"
	//       title   "Porter"
	// ~ update E1001 (users.csv:2)
	//       title   "Nurse" -> "Head nurse"
	//       groups  -ward-3
	// - deactivate E1004: missing from the files
}

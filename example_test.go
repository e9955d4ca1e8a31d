package usersync_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source/memsource"
)

// A pipeline in a few lines: a folder of CSV files, a schema, the default
// reconciler and the product's directory.
func ExamplePipeline() {
	drop := memsource.New() // in production: dirsource, sftpsource, ftpsource
	drop.Put("users.csv", []byte("UniqueID,Name,Mail,Groups\n"+
		"E1001,Ann Berg,ann@example.com,Nurses\n"+
		"E1002,Bo Ek,bo(at)example.com,\n"), time.Now())

	mapper, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Header: "UniqueID", Role: csvmap.Key},
		{Name: "name", Header: "Name", Required: true},
		{Name: "email", Header: "Mail", Kind: csvmap.Email, Required: true},
		{Name: "groups", Header: "Groups", Role: csvmap.Groups},
	}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	directory := memsink.New() // in production: your user service, or sqlsink

	p := usersync.Pipeline{
		Source:     drop,
		Mapper:     mapper,
		Reconciler: reconcile.New(nil),
		Sink:       directory,
	}
	res, err := p.Run(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.Applied.Created, "created")
	for _, re := range res.Rejected {
		fmt.Println("rejected:", re)
	}
	// Output:
	// succeeded 1 created
	// rejected: users.csv:3: column Mail: "bo(at)example.com": invalid email address
}

// A directory delivered as three related files: users, groups with their
// display names and parents, and memberships. The memberships file's rows
// are fragments: they add groups to the users of the users file, and a
// row naming a user or a group that no file holds is rejected.
func ExamplePipeline_relatedFiles() {
	users, _ := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Role: csvmap.Key},
		{Name: "name", Required: true},
	}}, nil)
	groups, _ := csvmap.New(csvmap.Schema{File: csvmap.GroupsFile, Columns: []csvmap.Column{
		{Name: "id", Role: csvmap.Key},
		{Name: csvmap.GroupName},
		{Name: csvmap.GroupParent},
	}}, nil)
	members, _ := csvmap.New(csvmap.Schema{File: csvmap.MembershipsFile, Columns: []csvmap.Column{
		{Name: "user", Role: csvmap.Key},
		{Name: "group", Role: csvmap.Groups},
	}}, nil)
	mapper, err := csvmap.NewByName(
		csvmap.Route{Pattern: "users.csv", Mapper: users},
		csvmap.Route{Pattern: "groups.csv", Mapper: groups},
		csvmap.Route{Pattern: "memberships.csv", Mapper: members},
	)
	if err != nil {
		log.Fatal(err)
	}
	src := memsource.New()
	now := time.Now()
	src.Put("users.csv", []byte("id,name\ne1,Ann Berg\ne2,Bo Ek\n"), now)
	src.Put("groups.csv", []byte("id,name,parent\nstaff,All staff,\nnurses,Nurses,staff\n"), now)
	src.Put("memberships.csv", []byte("user,group\ne1,nurses\ne2,nurses\ne2,staff\ne3,staff\n"), now)

	sink := memsink.New()
	p := usersync.Pipeline{Source: src, Mapper: mapper, Reconciler: reconcile.New(nil), Sink: sink}
	res, err := p.Run(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, re := range res.Rejected {
		fmt.Println("rejected:", re)
	}
	us, gs := sink.Snapshot()
	for _, u := range us {
		fmt.Println(u.Key, u.Attrs.Value("name"), u.Groups)
	}
	for _, g := range gs {
		fmt.Printf("%s %q parent=%q\n", g.ID, g.Name, g.Parent)
	}
	// Output:
	// rejected: memberships.csv:5: user "e3" is not in the users file users.csv
	// e1 Ann Berg [nurses]
	// e2 Bo Ek [nurses staff]
	// nurses "Nurses" parent="staff"
	// staff "All staff" parent=""
}

// A plan saved for review and read back for approval: WriteJSON streams it
// out a change at a time, and ReadPlan reads it back within the Pipeline's
// memory budget, the changes past it kept in a temporary file.
func ExampleReadPlan() {
	drop := memsource.New()
	drop.Put("users.csv", []byte("UniqueID,Name,Mail\nE1001,Ann Berg,ann@example.com\nE1002,Bo Ek,bo@example.com\n"), time.Now())
	mapper, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Header: "UniqueID", Role: csvmap.Key},
		{Name: "name", Header: "Name"},
		{Name: "email", Header: "Mail", Kind: csvmap.Email},
	}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	p := usersync.Pipeline{Source: drop, Mapper: mapper, Reconciler: reconcile.New(nil), Sink: memsink.New(), DryRun: true}
	res, err := p.Run(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	var saved bytes.Buffer // in production: a file an administrator reviews
	if err := res.Plan.WriteJSON(&saved); err != nil {
		log.Fatal(err)
	}

	plan, err := usersync.ReadPlan(&saved, p.ChangeWriter())
	if err != nil {
		log.Fatal(err)
	}
	for c, err := range plan.Changes.All() {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(c)
	}
	// Output:
	// create E1001
	// create E1002
}

// A Reconciler of your own that plans updates in whatever order it meets
// its users lists them in key order, within a memory limit: past it, the
// sorter packs sorted runs into temporary files and merges them at the
// end. (Feed.ChangeSorters gives sorters that share a run's budget.)
func ExampleChangeSorter() {
	updates := usersync.NewChangeSorter("", 64<<20)
	for _, key := range []string{"E1003", "E1001", "E1002"} {
		c := usersync.Change{Kind: usersync.UpdateUser, User: usersync.Record{Key: key}, Attrs: []string{"title"}}
		if err := updates.Add(&c); err != nil {
			log.Fatal(err)
		}
	}
	w := usersync.NewChangeWriter("", 64<<20)
	if err := w.WriteSorted(updates); err != nil {
		log.Fatal(err)
	}
	list, err := w.List()
	if err != nil {
		log.Fatal(err)
	}
	for c, err := range list.All() {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(c)
	}
	// Output:
	// update E1001
	// update E1002
	// update E1003
}

package usersync_test

import (
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

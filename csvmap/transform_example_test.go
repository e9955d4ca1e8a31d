package csvmap_test

import (
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
)

// An HR export: names written "Last, First", status words of its own, and
// contractors who are not to be synced at all.
func ExampleTransform() {
	m, err := csvmap.New(csvmap.Schema{
		Columns: []csvmap.Column{
			{Name: "email", Header: "Work Email", Role: csvmap.Key, Kind: csvmap.Email, Fold: true},
			{Name: "username", Transforms: []csvmap.Transform{{Template: "{email}"}, {EmailLocal: true}}},
			{Name: "name", Header: "Employee", Transforms: []csvmap.Transform{{LastFirst: true}, {Case: csvmap.Title}}},
			{Name: "start", Header: "Hire Date", Transforms: []csvmap.Transform{{Date: []string{"1/2/2006"}}}},
			{Name: "status", Header: "Employment Status", Role: csvmap.Status, Transforms: []csvmap.Transform{{
				Rule: "hr-status", Reject: true,
				Map: map[string]string{"Active": "active", "On leave": "inactive", "Terminated": "inactive", "T": "inactive"},
			}}},
			{Name: "type", Header: "Worker Type", Role: csvmap.Ignore},
		},
		Filters: []csvmap.Filter{{Name: "contractors", Mode: csvmap.Exclude, Column: "type", Values: []string{"Contractor"}}},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	const file = "Work Email,Employee,Hire Date,Employment Status,Worker Type\n" +
		"Ann.Lee@example.com,\"LEE, ANN\",3/7/2019,Active,Employee\n" +
		"bob@example.com,\"Berg, Bob\",11/20/2021,On leave,Employee\n" +
		"cy@example.com,\"Ek, Cy\",1/2/2024,Active,Contractor\n" +
		"dan@example.com,\"Ek, Dan\",5/5/2015,Retired,Employee\n"
	rr, err := m.NewReader(strings.NewReader(file), usersync.FileInfo{Name: "hr.csv"})
	if err != nil {
		log.Fatal(err)
	}
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println("rejected:", err)
			continue
		}
		fmt.Println(rec.Key, rec.Attrs, "inactive:", rec.Inactive)
	}
	fmt.Println("out of scope:", rr.(usersync.FormatReader).Format().OutOfScope, rr.(usersync.ScopeReader).OutOfScope())
	// Output:
	// ann.lee@example.com {username="ann.lee" name="Ann Lee" start="2019-03-07"} inactive: false
	// bob@example.com {username="bob" name="Bob Berg" start="2021-11-20"} inactive: true
	// rejected: hr.csv:5: column Employment Status: "Retired": rule hr-status: value not in the map
	// out of scope: 1 [{cy@example.com contractors}]
}

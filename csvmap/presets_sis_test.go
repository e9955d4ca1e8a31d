package csvmap_test

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

// The SIS pair: each file starts from its preset's template, and a run
// reads both as one snapshot.
func ExampleSIS() {
	src := memsource.New()
	for _, f := range []struct {
		name   string
		schema csvmap.Schema
	}{{"staff.csv", csvmap.SISStaff()}, {"students.csv", csvmap.SISStudents()}} {
		name := f.name
		m, err := csvmap.New(f.schema, nil)
		if err != nil {
			log.Fatal(err)
		}
		var b bytes.Buffer
		if err := m.WriteTemplate(&b); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s", name, bytes.SplitAfter(b.Bytes(), []byte("\n"))[0])
		if err := src.Put(name, b.Bytes(), time.Time{}); err != nil {
			log.Fatal(err)
		}
	}
	m, err := csvmap.SIS(nil)
	if err != nil {
		log.Fatal(err)
	}
	sink := memsink.New()
	p := usersync.Pipeline{Source: src, Mapper: m, Reconciler: reconcile.New(nil), Sink: sink}
	if _, err := p.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
	users, _ := sink.Snapshot()
	for _, u := range users {
		fmt.Println(u.Key, u.Attrs.Value("name"), u.Attrs.Value("grade"), u.Attrs.Value("role"), u.Groups)
	}
	// Output:
	// staff.csv: Staff ID,First Name,Last Name,Name,Email,Title,Role,School IDs,Status
	// students.csv: Student ID,First Name,Last Name,Name,Email,Grade,Homeroom,School IDs,Status
	// S100234 Ben Ortiz 4  [RE]
	// T1001 Ann Lee  Teacher [RE]
}

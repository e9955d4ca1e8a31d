package oneroster_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap/oneroster"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source/memsource"
)

// A OneRoster 1.1 bulk bundle synced into memsink: the school and the class
// become groups, the teacher and the student members of both, and the
// guardian is out of scope.
func Example() {
	bundle := map[string]string{
		"manifest.csv": "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n" +
			"file.orgs,bulk\nfile.classes,bulk\nfile.users,bulk\nfile.enrollments,bulk\nfile.courses,absent\n",
		"orgs.csv": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n" +
			"s1,,,Riverside Elementary,school,RE,\n",
		"classes.csv": "sourcedId,status,dateLastModified,title,classType,schoolSourcedId,courseSourcedId,termSourcedIds\n" +
			"k1,,,Math 4A,scheduled,s1,c1,t1\n",
		"users.csv": "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,givenName,familyName,email\n" +
			"u1,,,true,s1,teacher,alee,Ann,Lee,ann.lee@riverside.example\n" +
			"u2,,,true,s1,student,bortiz,Ben,Ortiz,\n" +
			"u3,,,true,s1,guardian,dortiz,Dan,Ortiz,\n",
		"enrollments.csv": "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role\n" +
			"e1,,,k1,s1,u1,teacher\n" +
			"e2,,,k1,s1,u2,student\n",
	}
	src := memsource.New()
	for name, data := range bundle {
		if err := src.Put(name, []byte(data), time.Time{}); err != nil {
			log.Fatal(err)
		}
	}
	m, err := oneroster.New(&oneroster.Options{
		Roles: append(oneroster.StaffRoles(), oneroster.StudentRoles()...),
		Attrs: []string{"name", "email", "role"},
	})
	if err != nil {
		log.Fatal(err)
	}
	sink := memsink.New()
	p := usersync.Pipeline{Source: src, Mapper: m, Reconciler: reconcile.New(nil), Sink: sink}
	res, err := p.Run(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range res.Files {
		fmt.Printf("%s: %d records, %d skipped\n", f.Name, f.Records, f.Format.Skipped)
	}
	users, groups := sink.Snapshot()
	for _, g := range groups {
		fmt.Printf("group %s %q, parent %q\n", g.ID, g.Name, g.Parent)
	}
	for _, u := range users {
		fmt.Println(u.Key, u.Attrs, u.Groups)
	}
	// Output:
	// manifest.csv: 0 records, 0 skipped
	// orgs.csv: 0 records, 0 skipped
	// classes.csv: 0 records, 0 skipped
	// users.csv: 2 records, 1 skipped
	// enrollments.csv: 2 records, 0 skipped
	// group k1 "Math 4A", parent "s1"
	// group s1 "Riverside Elementary", parent ""
	// u1 {email="ann.lee@riverside.example" name="Ann Lee" role="teacher"} [k1 s1]
	// u2 {email="" name="Ben Ortiz" role="student"} [k1 s1]
}

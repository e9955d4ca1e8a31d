package sqlsink_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/sink/sqlsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
)

// A Sink in an embedded SQLite database: apply a batch, list it back, and
// take the tenant's sync lock.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sqlsink-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(filepath.Join(dir, "users.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	sink, err := sqlsink.New(ctx, db, sqlsink.SQLite, &sqlsink.Options{Tenant: "acme", Holder: "nightly sync"})
	if err != nil {
		log.Fatal(err)
	}

	lock, err := sink.Lock(ctx)
	if err != nil {
		log.Fatal(err)
	}
	ann := usersync.Record{Key: "E1001", Attrs: usersync.NewAttrs("name", "Ann Berg", "email", "ann@example.com"), Groups: []string{"nurses"}}
	errs := sink.ApplyBatch(ctx, []usersync.Change{
		{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "nurses", Name: "Nurses"}},
		{Kind: usersync.CreateUser, User: ann, Join: ann.Groups},
		{Kind: usersync.UpdateUser, User: usersync.Record{Key: "E404"}}, // fails alone
	})
	fmt.Println(errs[2])
	for u, err := range sink.Users(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(u.Key, u.Attrs, u.Groups, u.Managed)
	}

	// A second sync of the same tenant is turned away while the first runs.
	again, err := sqlsink.New(ctx, db, sqlsink.SQLite, &sqlsink.Options{Tenant: "acme"})
	if err != nil {
		log.Fatal(err)
	}
	_, err = again.Lock(ctx)
	var le *sqlsink.LockError
	fmt.Println(errors.As(err, &le), le.Holder)
	if err := lock.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// sqlsink: user "E404": not found
	// E1001 {name="Ann Berg" email="ann@example.com"} [nurses] true
	// true nightly sync
}

// Digests lists each user's key and digests in key order, without decoding
// them; a user changed by hand, behind the library's back, is listed as
// not Known until a sync writes it again.
func ExampleSink_Digests() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sqlsink-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(filepath.Join(dir, "users.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	sink, err := sqlsink.New(ctx, db, sqlsink.SQLite, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, key := range []string{"b", "B", "a"} {
		r := usersync.Record{Key: key, Attrs: usersync.NewAttrs("title", "Nurse")}
		if err := sink.Apply(ctx, usersync.Change{Kind: usersync.CreateUser, User: r}); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `UPDATE usersync_users SET attrs = '{"title":"Surgeon"}' WHERE key = 'a'`); err != nil {
		log.Fatal(err)
	}
	for d, err := range sink.Digests(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(d.Key, d.Known)
	}
	// Output:
	// B true
	// a false
	// b true
}

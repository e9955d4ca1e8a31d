package memsink_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/sink/memsink"
)

func Example() {
	ctx := context.Background()
	s := memsink.New()
	// An administrator created a user by hand before the first sync.
	s.PutUser(usersync.Record{Key: "admin", Attrs: usersync.NewAttrs("name", "Site Admin")})

	ann := usersync.Record{Key: "E1001", Attrs: usersync.NewAttrs("name", "Ann Berg", "title", "Nurse"), Groups: []string{"nurses"}}
	plan := []usersync.Change{
		{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "nurses", Name: "Nurses"}},
		{Kind: usersync.CreateUser, User: ann, Join: ann.Groups},
		{Kind: usersync.UpdateUser, User: usersync.Record{Key: "E1001", Attrs: usersync.NewAttrs("title", "Head nurse")}, Attrs: []string{"title"}},
	}
	if errs := s.ApplyBatch(ctx, plan); errs != nil {
		log.Fatal(errors.Join(errs...))
	}

	users, groups := s.Snapshot()
	for _, r := range users {
		fmt.Println(r.Key, r.Attrs, r.Groups, "managed:", r.Managed)
	}
	for _, g := range groups {
		fmt.Println(g.ID, g.Name)
	}
	// Output:
	// E1001 {name="Ann Berg" title="Head nurse"} [nurses] managed: true
	// admin {name="Site Admin"} [] managed: false
	// nurses Nurses
}

// A FailOn function makes chosen changes fail, to test how the caller
// reports them.
func ExampleSink_FailOn() {
	ctx := context.Background()
	s := memsink.New()
	s.FailOn = func(c usersync.Change) error {
		if c.Kind == usersync.DeleteUser {
			return errors.New("deletes are disabled")
		}
		return nil
	}
	err := s.Apply(ctx, usersync.Change{Kind: usersync.DeleteUser, User: usersync.Record{Key: "E1001"}})
	fmt.Println(err)

	// Updating a user the Sink does not hold fails too.
	err = s.Apply(ctx, usersync.Change{Kind: usersync.UpdateUser, User: usersync.Record{Key: "E1002"}})
	fmt.Println(errors.Is(err, usersync.ErrNotFound), err)
	// Output:
	// deletes are disabled
	// true memsink: user "E1002": not found
}

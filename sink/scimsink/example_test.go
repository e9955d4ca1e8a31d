package scimsink_test

import (
	"context"
	"fmt"
	"log"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/scimtest"
	"github.com/usersync/usersync/sink/scimsink"
)

// The Sink creates a group and a user in it on a SCIM server (here one in
// process), and lists the user back as the reconciler sees it.
func Example() {
	ctx := context.Background()
	srv, err := scimtest.Start(&scimtest.Options{Bulk: true, ETags: true, Token: "s3cret"})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	sink, err := scimsink.New(ctx, srv.URL, &scimsink.Options{Token: "s3cret", Attributes: scimsink.CosafeAttributes()})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("bulk:", sink.Bulk(), "extension:", sink.Extension())

	ann := usersync.Record{
		Key:    "EMP0001001",
		Attrs:  usersync.NewAttrs("name", "Ann Lee", "email", "ann.lee@example.com", "title", "Nurse", "phone2", "+46 8 123 456 78", "skill", "ICU"),
		Groups: []string{"ward-3"},
	}
	errs := sink.ApplyBatch(ctx, []usersync.Change{
		{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "ward-3", Name: "Ward 3"}},
		{Kind: usersync.CreateUser, User: ann, Join: ann.Groups},
	})
	fmt.Println("errors:", errs)

	for u, err := range sink.Users(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(u.Key, u.Attrs, u.Groups, "managed:", u.Managed)
	}
	// The server holds her in SCIM's own attributes, and the attribute no
	// mapping places in usersync's extension.
	res := srv.Users()[0]
	fmt.Println(res.ExternalID, res.Attrs["userName"], res.Attrs["displayName"], res.Attrs["title"])
	fmt.Println(res.Attrs["phoneNumbers"])
	fmt.Println(res.Attrs[scimsink.SyncSchema].(map[string]any)["attributes"])
	// Output:
	// bulk: true extension: true
	// errors: []
	// EMP0001001 {name="Ann Lee" email="ann.lee@example.com" title="Nurse" phone2="+46 8 123 456 78" skill="ICU"} [ward-3] managed: true
	// EMP0001001 EMP0001001 Ann Lee Nurse
	// [map[primary:true type:other value:+46 8 123 456 78]]
	// [map[name:skill value:ICU]]
}

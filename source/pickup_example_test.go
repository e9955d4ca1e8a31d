package source_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/memsource"
)

// A customer uploads users.csv, then users.csv.done when the upload is
// complete. The Picker takes the file only then, archives it after the
// sync, and recognizes the same content delivered again.
func ExamplePickup() {
	ctx := context.Background()
	drop := memsource.New() // an SFTP folder in production
	now := time.Date(2026, 3, 14, 2, 0, 0, 0, time.UTC)

	picker, err := source.Pickup(drop, &source.PickupOptions{
		Pattern:      "users.csv",
		DoneMarker:   ".done",
		AfterSuccess: source.Archive,
		Store:        &usersync.MemStore{}, // a usersync.FileStore or the host's own Store in production
		Now:          func() time.Time { return now },
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	mapper, _ := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Role: csvmap.Key}, {Name: "email", Kind: csvmap.Email},
	}}, nil)
	p := usersync.Pipeline{Source: picker, Mapper: mapper, Reconciler: reconcile.New(nil), Sink: memsink.New()}

	const users = "id,email\ne1,ann@example.com\n"
	drop.Put("users.csv", []byte(users), now)
	res, _ := p.Run(ctx)
	fmt.Println("upload in progress:", res.Status)

	drop.Put("users.csv.done", nil, now)
	res, _ = p.Run(ctx)
	fmt.Println("upload complete:", res.Status, res.Applied.Created, "created")
	archived, _ := drop.Open(ctx, "archive/20260314T020000Z-users.csv")
	fmt.Println("archived:", archived != nil)

	drop.Put("users.csv", []byte(users), now)
	drop.Put("users.csv.done", nil, now)
	res, _ = p.Run(ctx)
	fmt.Println("same file again:", res.Status, res.Files[0].AlreadyApplied)
	// Output:
	// upload in progress: nothing to do
	// upload complete: succeeded 1 created
	// archived: true
	// same file again: nothing to do true
}

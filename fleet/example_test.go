package fleet_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/fleet"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
	"github.com/usersync/usersync/source/memsource"
)

// hostTenants is the host's own registry of tenants: here one, in memory.
type hostTenants struct {
	drop      *memsource.Source
	directory *memsink.Sink
}

// List returns every tenant, with its schedule in its time zone.
func (h hostTenants) List(context.Context) ([]fleet.Tenant, error) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		return nil, err
	}
	return []fleet.Tenant{{ID: "acme", Schedule: usersync.Daily(0, 15, chicago), Version: "v1"}}, nil
}

// Open builds the tenant's Pipeline from its current settings.
func (h hostTenants) Open(_ context.Context, id string) (*fleet.Sync, error) {
	if id != "acme" {
		return nil, fmt.Errorf("tenant %q: %w", id, fleet.ErrUnknownTenant)
	}
	mapper, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Header: "UniqueID", Role: csvmap.Key},
		{Name: "email", Header: "Mail", Kind: csvmap.Email, Required: true},
	}}, nil)
	if err != nil {
		return nil, err
	}
	return &fleet.Sync{Pipeline: &usersync.Pipeline{
		Source: h.drop, Mapper: mapper, Reconciler: reconcile.New(nil), Sink: h.directory,
	}}, nil
}

// A fleet of one process on SQLite: each tenant syncs at 00:15 in its time
// zone, and Trigger runs one now ("sync now", an upload).
func ExampleNewSQLite() {
	dir, err := os.MkdirTemp("", "fleet-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(filepath.Join(dir, "fleet.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	tenants := hostTenants{drop: memsource.New(), directory: memsink.New()}
	tenants.drop.Put("users.csv", []byte("UniqueID,Mail\nE1,ann@example.com\nE2,bo@example.com\n"), time.Now())

	done := make(chan struct{})
	ctx, stop := context.WithCancel(context.Background())
	f, err := fleet.NewSQLite(ctx, db, tenants, &fleet.Options{
		OnResult: func(tenant string, res *usersync.Result, err error) {
			fmt.Println(tenant, res.Status, res.Applied.Created, "created", err)
			close(done)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	stopped := make(chan error)
	go func() { stopped <- f.Run(ctx) }()

	if err := f.Trigger(ctx, "acme", fleet.ReasonTriggered); err != nil {
		log.Fatal(err)
	}
	<-done
	stop()
	if err := <-stopped; err != nil {
		log.Fatal(err)
	}
	// Output:
	// acme succeeded 2 created <nil>
}

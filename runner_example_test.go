package usersync_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	cron "github.com/netresearch/go-cron"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source/memsource"
)

// examplePipeline is a small pipeline over in-memory parts, with a file
// waiting.
func examplePipeline() *usersync.Pipeline {
	drop := memsource.New() // in production: dirsource, sftpsource, wrapped in source.Pickup
	drop.Put("users.csv", []byte("UniqueID,Name,Mail\n"+
		"E1001,Ann Berg,ann@example.com\n"+
		"E1002,Bo Ek,bo@example.com\n"), time.Now().Add(-time.Hour))
	mapper, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Header: "UniqueID", Role: csvmap.Key},
		{Name: "name", Header: "Name", Required: true},
		{Name: "email", Header: "Mail", Kind: csvmap.Email, Required: true},
	}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	return &usersync.Pipeline{Source: drop, Mapper: mapper, Reconciler: reconcile.New(nil), Sink: memsink.New()}
}

// A nightly sync at 00:15 US Central time, give or take five minutes, that
// also syncs once at start. A service runs it until it is told to stop, as
// with signal.NotifyContext; this example stops after the first run.
func ExampleRunner() {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	r := &usersync.Runner{
		Pipeline: examplePipeline(),
		Schedule: usersync.Daily(0, 15, chicago),
		Jitter:   5 * time.Minute,
		OnResult: func(res *usersync.Result, err error) {
			fmt.Println(res.Status, res.Applied.Created, "created", err)
			stop()
		},
	}
	r.Trigger() // sync at once too, then on the schedule
	if err := r.Run(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// succeeded 2 created <nil>
}

// A Runner that syncs when a file arrives in the folder it watches, and when
// the host's own upload handler says so.
func ExampleRunner_watch() {
	p := examplePipeline()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	r := &usersync.Runner{
		Pipeline:   p,
		Watch:      p.Source, // the file waiting counts as new: the first run starts at once
		WatchEvery: 30 * time.Second,
		OnResult: func(res *usersync.Result, err error) {
			fmt.Println(res.Status, len(res.Files), "file")
			stop()
		},
	}
	// An embedded SFTP server, say, calls Trigger when an upload completes:
	//	server.OnUpload = func(name string) { r.Trigger() }
	if err := r.Run(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// succeeded 1 file
}

// Daily keeps the wall-clock time across daylight saving changes: 00:15 in
// Chicago is 06:15 UTC in winter and 05:15 UTC in summer, once a day.
func ExampleDaily() {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		log.Fatal(err)
	}
	s := usersync.Daily(0, 15, chicago)
	t := time.Date(2026, 3, 6, 12, 0, 0, 0, chicago)
	for range 4 {
		t = s.Next(t)
		fmt.Println(t.Format("Mon Jan 2 15:04 MST"), "=", t.UTC().Format("15:04 MST"))
	}
	// Output:
	// Sat Mar 7 00:15 CST = 06:15 UTC
	// Sun Mar 8 00:15 CST = 06:15 UTC
	// Mon Mar 9 00:15 CDT = 05:15 UTC
	// Tue Mar 10 00:15 CDT = 05:15 UTC
}

// A cron expression parsed by github.com/netresearch/go-cron is a Schedule:
// here, weekdays at 06:30 in Berlin.
func ExampleSchedule_cron() {
	s, err := cron.ParseStandard("CRON_TZ=Europe/Berlin 30 6 * * 1-5")
	if err != nil {
		log.Fatal(err)
	}
	r := &usersync.Runner{Pipeline: examplePipeline(), Schedule: s}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		log.Fatal(err)
	}
	t := time.Date(2026, 3, 27, 12, 0, 0, 0, berlin) // a Friday
	for range 3 {
		t = r.Schedule.Next(t)
		fmt.Println(t.Format("Mon Jan 2 15:04 MST"))
	}
	// Output:
	// Mon Mar 30 06:30 CEST
	// Tue Mar 31 06:30 CEST
	// Wed Apr 1 06:30 CEST
}

// Summer holidays: no sync from the first day of the holidays until the day
// school starts again.
func ExampleBetween() {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		log.Fatal(err)
	}
	summer := usersync.Between(time.Date(2026, 7, 9, 0, 0, 0, 0, berlin), time.Date(2026, 8, 22, 0, 0, 0, 0, berlin))
	r := &usersync.Runner{
		Pipeline: examplePipeline(),
		Schedule: usersync.Daily(1, 0, berlin),
		Pause:    summer,
	}
	for _, day := range []time.Time{
		time.Date(2026, 7, 8, 1, 0, 0, 0, berlin),
		time.Date(2026, 7, 9, 1, 0, 0, 0, berlin),
		time.Date(2026, 8, 21, 1, 0, 0, 0, berlin),
		time.Date(2026, 8, 22, 1, 0, 0, 0, berlin),
	} {
		fmt.Println(day.Format("Jan 2"), "paused:", r.Pause(day))
	}
	// Output:
	// Jul 8 paused: false
	// Jul 9 paused: true
	// Aug 21 paused: true
	// Aug 22 paused: false
}

// Two processes on one machine that must not sync at once share a lock file.
func ExampleFileLock() {
	dir, err := os.MkdirTemp("", "usersync-lock-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	lock := usersync.FileLock(filepath.Join(dir, "acme.lock"))

	unlock, err := lock.Lock(ctx)
	if err != nil {
		log.Fatal(err)
	}
	_, err = lock.Lock(ctx) // as another process would
	fmt.Println(errors.Is(err, usersync.ErrLocked))
	if err := unlock(ctx); err != nil {
		log.Fatal(err)
	}
	unlock, err = lock.Lock(ctx)
	fmt.Println(err)
	unlock(ctx)
	// Output:
	// true
	// <nil>
}

// Command watchfolder is a reference integration: it watches a local
// folder and syncs each export that lands there into the product's own
// user service, through a Sink of the host's own making.
//
//	go run ./examples/watchfolder -dir /srv/sftp/acme/incoming
//
// The folder is where the customer's files arrive: the product's SFTP
// server writes uploads there, or a network share, or a script. Whenever a
// new users*.csv is complete (left unchanged for -min-age, or renamed into
// place from a hidden name, as upload tools do), it is synced: users are
// created, updated, deactivated when they leave; teams are created and
// memberships kept; users created in the app are never touched; a plan that
// would deactivate too many users at once is held. The file is then
// archived, or moved to "failed" if it cannot be read.
//
// Three files, one idea each:
//
//   - userservice.go is the host's user directory, which knows nothing of
//     usersync (here in memory; in a product, in front of its database);
//   - sink.go plugs it into usersync: a Sink that applies each change, and a
//     Lister that shows who is there;
//   - main.go (this file) watches the folder and runs the sync.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/dirsource"
)

// config is what the flags set.
type config struct {
	dir    string        // the folder to watch
	every  time.Duration // how often to look at it
	minAge time.Duration // how long a file must be left unchanged
}

func main() {
	var cfg config
	flag.StringVar(&cfg.dir, "dir", "", "the folder the customer's files arrive in (required)")
	flag.DurationVar(&cfg.every, "every", 10*time.Second, "how often to look at the folder")
	flag.DurationVar(&cfg.minAge, "min-age", source.DefaultMinAge,
		"how long a file must have been left unchanged before it is taken; negative takes files at once (for uploads renamed into place)")
	flag.Parse()
	if cfg.dir == "" {
		fmt.Fprintln(os.Stderr, "watchfolder: -dir is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := watch(ctx, cfg, NewUserService(), os.Stdout, logger); err != nil {
		fmt.Fprintln(os.Stderr, "watchfolder:", err)
		os.Exit(1)
	}
}

// watch syncs the files that arrive in cfg.dir into svc until ctx is done,
// printing each run's summary and the directory after it to out.
func watch(ctx context.Context, cfg config, svc *UserService, out io.Writer, logger *slog.Logger) error {
	folder, err := dirsource.New(cfg.dir, nil)
	if err != nil {
		return err
	}
	defer folder.Close()
	// Pickup adds the rules of a drop folder to any Source: which files,
	// when they are complete, what to do with them after the run. It also
	// remembers the content it applied (in memory here; give it a Store to
	// remember across restarts), so a file saved again unchanged is not
	// applied again.
	files, err := source.Pickup(folder, &source.PickupOptions{
		Pattern:      "users*.csv",
		MinAge:       cfg.minAge,
		MaxFiles:     1, // each file is the whole directory: never merge two
		AfterSuccess: source.Archive,
		ErrorFolder:  "failed",
		Logger:       logger,
	})
	if err != nil {
		return err
	}
	mapper, err := csvmap.New(schema(), nil)
	if err != nil {
		return err
	}

	runner := &usersync.Runner{
		Pipeline: &usersync.Pipeline{
			Source:     files,
			Mapper:     mapper,
			Reconciler: reconcile.New(nil), // deactivate leavers; hold mass removals
			Sink:       &directorySink{svc: svc},
			Reporter:   report.Text(out),
		},
		// The Runner lists the folder every cfg.every and runs a sync when
		// a ready file is new or changed. It never runs two at once, and on
		// ctx's end lets a run that is applying finish.
		Watch:      files,
		WatchEvery: cfg.every,
		// Two watchers of one folder (a second replica, a copy started by
		// hand) take turns instead of syncing the same file at once. The
		// lock file is hidden, so the folder's listing leaves it out.
		Lock:     usersync.FileLock(filepath.Join(cfg.dir, ".usersync.lock")),
		OnResult: func(*usersync.Result, error) { printDirectory(context.WithoutCancel(ctx), out, svc) },
		Logger:   logger,
	}
	return runner.Run(ctx)
}

// schema maps the HR system's export to the product's profile fields and
// teams.
func schema() csvmap.Schema {
	return csvmap.Schema{Columns: []csvmap.Column{
		{Name: "employee_id", Header: "EmployeeID", Role: csvmap.Key},
		{Name: "name", Header: "Name", Required: true},
		{Name: "email", Header: "Email", Kind: csvmap.Email, Required: true},
		{Name: "department", Header: "Department"},
		{Name: "teams", Header: "Teams", Role: csvmap.Groups, Separator: "|"},
	}}
}

// printDirectory shows the product's users, as its admin page would.
func printDirectory(ctx context.Context, out io.Writer, svc *UserService) {
	users, err := svc.ListUsers(ctx, 0, 1000)
	if err != nil {
		fmt.Fprintln(out, "listing users:", err)
		return
	}
	fmt.Fprintln(out, "\nThe product's users now:")
	for _, u := range users {
		state, owner := "active", "sync"
		if !u.Active {
			state = "inactive"
		}
		if !u.Synced {
			owner = "app"
		}
		line := fmt.Sprintf("  %-12s %-22s %-12s %-8s %-4s %s", u.ExternalID, u.Profile["name"], u.Profile["department"],
			state, owner, strings.Join(u.Teams, ", "))
		fmt.Fprintln(out, strings.TrimRight(line, " "))
	}
	fmt.Fprintln(out)
}

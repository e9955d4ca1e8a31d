package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/examples/usersync/internal/config"
	"github.com/usersync/usersync/fleet"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/sink/sqlsink/sqlite"
)

// fleetDB is the SQLite database of a fleet without --database-url, in
// the tenants' folder (hidden, so it is not taken for a tenant).
const fleetDB = ".usersync-fleet.db"

// fleetOptions are the parsed options of the fleet command, whatever
// parses them.
type fleetOptions struct {
	// Dir is the folder of tenant config files, one per tenant: the
	// tenant's ID is the file's name without .yaml or .yml.
	Dir string
	// DatabaseURL is a PostgreSQL URL (without its password, which comes
	// from $PGPASSWORD or ~/.pgpass) that several workers share; "" means
	// SQLite in Dir, for one process.
	DatabaseURL string
	// Workers bounds the syncs this process runs at once; 0 means
	// fleet.DefaultMaxWorkers.
	Workers int
	// RunTimeout bounds each sync; 0 means fleet.DefaultRunTimeout.
	RunTimeout time.Duration
	// Status prints the tenants' status and returns, instead of working.
	Status bool
	// Trigger asks for a sync of that tenant now and returns.
	Trigger string
}

// fleetCommand is "usersync fleet": a worker over a folder of tenant
// config files, or the tenants' status, or a trigger.
func fleetCommand(a *app) *cobra.Command {
	var o fleetOptions
	c := a.do(&cobra.Command{
		Use:   "fleet [--database-url URL] [--workers N] [--status] [--trigger ID] DIR",
		Short: "Sync every tenant of a folder of config files, as jobs workers share",
		Long: `fleet syncs every tenant of a folder of config files (acme.yaml is tenant acme)
on its own schedule, as River jobs that several workers share through
PostgreSQL (--database-url, or $USERSYNC_FLEET_DATABASE_URL; the password in
$PGPASSWORD or ~/.pgpass), or in one process on SQLite in DIR. Edits to the
folder are picked up within a minute. --status prints each tenant's last and
next run; --trigger syncs one tenant now, on whichever worker is free.`,
		Example: `  usersync fleet /etc/usersync/tenants
  usersync fleet --database-url postgres://fleet@db.internal/usersync --workers 8 /etc/usersync/tenants
  usersync fleet --status /etc/usersync/tenants
  usersync fleet --trigger acme /etc/usersync/tenants`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef(errors.New("give the folder of tenant config files: usersync fleet [flags] DIR"))
			}
			return nil
		},
	}, func(ctx context.Context, args []string) int {
		o.Dir = args[0]
		if o.DatabaseURL == "" {
			o.DatabaseURL, _ = a.lookupEnv("USERSYNC_FLEET_DATABASE_URL")
		}
		return runFleet(ctx, a, o)
	})
	f := c.Flags()
	f.StringVar(&o.DatabaseURL, "database-url", "", "PostgreSQL URL shared by the workers (no password in it)")
	f.IntVar(&o.Workers, "workers", 0, "syncs this process runs at once")
	f.DurationVar(&o.RunTimeout, "run-timeout", 0, "bound on each sync")
	f.BoolVar(&o.Status, "status", false, "print the tenants' status")
	f.StringVar(&o.Trigger, "trigger", "", "sync this tenant now")
	return c
}

// runFleet runs the fleet command: a worker over o.Dir's tenants until ctx
// is done, or the status, or a trigger.
func runFleet(ctx context.Context, a *app, o fleetOptions) int {
	a.cmd = "fleet"
	level := slog.LevelInfo
	switch {
	case a.quiet:
		level = slog.LevelError
	case o.Status || o.Trigger != "":
		level = slog.LevelWarn
	}
	a.log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	tenants := &fleet.Folder{Dir: o.Dir, Logger: a.log,
		Load: func(ctx context.Context, id string, data []byte) (*fleet.FolderTenant, error) {
			return a.loadTenant(ctx, o.Dir, id, data)
		}}
	opts := &fleet.Options{MaxWorkers: o.Workers, RunTimeout: o.RunTimeout, Logger: a.log}
	f, closeDB, err := a.openFleet(ctx, o, tenants, opts)
	if err != nil {
		return a.fail(err)
	}
	defer closeDB()
	switch {
	case o.Status:
		return a.printFleetStatus(ctx, f)
	case o.Trigger != "":
		if err := f.Trigger(ctx, o.Trigger, fleet.ReasonTriggered); err != nil {
			return a.fail(err)
		}
		if !a.quiet {
			fmt.Fprintf(a.stdout, "a sync of %s is queued\n", o.Trigger)
		}
		return exitOK
	}
	if err := f.Run(ctx); err != nil {
		return a.fail(err)
	}
	return exitOK
}

// openFleet opens the fleet's database, PostgreSQL or SQLite, and the
// fleet over it.
func (a *app) openFleet(ctx context.Context, o fleetOptions, tenants fleet.Tenants, opts *fleet.Options) (*fleet.Fleet, func(), error) {
	if o.DatabaseURL == "" {
		db, err := sqlite.Open(filepath.Join(o.Dir, fleetDB))
		if err != nil {
			return nil, nil, err
		}
		db.SetMaxOpenConns(1) // as River's SQLite driver advises
		f, err := fleet.NewSQLite(ctx, db, tenants, opts)
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		return f, func() { db.Close() }, nil
	}
	if u, err := url.Parse(o.DatabaseURL); err == nil && u.User != nil {
		if _, set := u.User.Password(); set {
			return nil, nil, usagef(errors.New("--database-url must not hold a password: give it in $PGPASSWORD or ~/.pgpass"))
		}
	}
	cfg, err := pgxpool.ParseConfig(o.DatabaseURL)
	if err != nil {
		return nil, nil, usagef(fmt.Errorf("--database-url: %w", err))
	}
	cfg.MaxConns = int32(cmp.Or(o.Workers, fleet.DefaultMaxWorkers) + 5)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	f, err := fleet.NewPostgres(ctx, pool, tenants, opts)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return f, pool.Close, nil
}

// loadTenant reads one tenant's config file, for fleet.Folder: its
// schedule and pauses, and how to open its sync, which is the sync of the
// run command (its history, its emails, a held plan saved for approval).
func (a *app) loadTenant(_ context.Context, dir, id string, data []byte) (*fleet.FolderTenant, error) {
	path := filepath.Join(dir, id+".yaml")
	if _, err := os.Stat(path); err != nil {
		path = filepath.Join(dir, id+".yml")
	}
	cfg, err := config.Parse(path, data, &config.LoadOptions{LookupEnv: a.lookupEnv})
	if err != nil {
		return nil, err
	}
	ta := &app{stdout: a.stdout, stderr: a.stderr, lookupEnv: a.lookupEnv, configPath: path,
		quiet: true, cmd: "fleet", cfg: cfg, secrets: cfg.Secrets()}
	ta.log = slog.New(report.RedactSecrets(a.log.Handler(), ta.secrets...)).With("tenant", id)
	t := &fleet.FolderTenant{Open: ta.openTenant}
	if sc := cfg.Schedule; sc != nil {
		if t.Schedule, err = schedule(sc); err != nil {
			return nil, fmt.Errorf("schedule: %w", err)
		}
		if len(sc.Pause) > 0 {
			t.Pause = pause(sc)
		}
	}
	return t, nil
}

// openTenant opens the parts of one tenant's sync.
func (a *app) openTenant(ctx context.Context) (*fleet.Sync, error) {
	s, err := a.openSession(ctx, syncing)
	if err != nil {
		return nil, err
	}
	p := s.p
	p.Reporter = report.Multi(p.Reporter, usersync.ReporterFunc(func(_ context.Context, e usersync.Event) error {
		if e.Kind == usersync.RunFinished && e.Result.Status == usersync.Held && e.Result.Plan != nil {
			file, err := a.saveHeld(e.Result.Plan)
			if err != nil {
				return err
			}
			a.log.Warn("usersync: a guard held the plan; review it with apply -n, approve it with apply", "plan_file", file)
		}
		return nil
	}))
	return &fleet.Sync{Pipeline: &p, Close: func() error { s.close(); return nil }}, nil
}

// printFleetStatus prints every tenant's last and next run.
func (a *app) printFleetStatus(ctx context.Context, f *fleet.Fleet) int {
	st, err := f.Status(ctx)
	if err != nil {
		return a.fail(err)
	}
	if a.json {
		b, err := json.MarshalIndent(struct {
			Command string               `json:"command"`
			Tenants []fleet.TenantStatus `json:"tenants"`
		}{"fleet", st}, "", "  ")
		if err != nil {
			return a.fail(err)
		}
		fmt.Fprintf(a.stdout, "%s\n", b)
		return exitOK
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TENANT\tLAST RUN\tSTATUS\tAPPLIED\tNEXT RUN\tNOW")
	var errs []string
	for _, s := range st {
		last, status := "never", "-"
		if !s.Last.Finished.IsZero() {
			last = s.Last.Finished.Local().Format("2006-01-02 15:04")
		}
		if s.Last.Status != "" {
			status = s.Last.Status
			if s.Last.Class != "" {
				status += " (" + s.Last.Class + ")"
			}
		}
		next := "-"
		if !s.Next.IsZero() {
			next = s.Next.Local().Format("2006-01-02 15:04") + " " + s.NextReason
		}
		var now []string
		if s.Running {
			now = append(now, "running on "+s.Worker)
		}
		if s.Triggered > 0 {
			now = append(now, "triggered")
		}
		if !s.Listed {
			now = append(now, "removed")
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", s.ID, last, status, s.Last.Applied, next, strings.Join(now, ", "))
		if s.Last.Err != "" {
			errs = append(errs, s.ID+": "+oneLine(s.Last.Err))
		}
	}
	if err := w.Flush(); err != nil {
		return a.fail(err)
	}
	if len(errs) > 0 && !a.quiet {
		fmt.Fprintf(a.stdout, "\nwhy the last runs failed:\n  %s\n", strings.Join(errs, "\n  "))
	}
	return exitOK
}

// Package fleet runs the syncs of thousands of tenants as jobs of River
// (github.com/riverqueue/river), on PostgreSQL across several worker
// processes and machines (NewPostgres), or on SQLite in one process
// (NewSQLite).
//
// The host implements Tenants over its own store: List returns each
// tenant's ID, usersync.Schedule (time zone included), pause windows and a
// settings version; Open builds a tenant's usersync.Pipeline when its run
// is due. Folder is Tenants over a folder of settings files, as the
// usersync command's "fleet" uses. Then:
//
//	f, err := fleet.NewPostgres(ctx, pool, tenants, &fleet.Options{MaxWorkers: 20})
//	...
//	err = f.Run(ctx) // until ctx is done; on every machine
//
// # Scheduling
//
// Each tenant has at most one job that is not finished (River's unique
// jobs, by tenant): its next run, scheduled at its Schedule's next time
// plus a random Jitter, or the run in progress. When a run ends, the same
// transaction completes its job, records the run's outcome and inserts the
// next job, so that no tenant is ever left without its next run, nor given
// two. A tenant whose time passed while no worker ran (downtime) runs
// once, not once per missed time, and is then scheduled from its Schedule
// again. Run lists the Tenants every Options.Refresh: a new tenant is
// scheduled, a tenant whose Version changed has its waiting run moved to
// its new schedule, a removed tenant's waiting job finds it gone and is
// canceled.
//
// # Failures
//
// A failed run is classified (Classify, or Options.Classify). A transient
// failure (a connection refused, a timeout, a server's temporary error)
// is retried after Options.Backoff, up to Options.MaxRetries times; a
// permanent one (a guard that held the plan, a file that does not verify,
// a refused login or host key) is not: the tenant waits for its next run,
// a new file or an approval, and TenantStatus says why.
//
// # Triggers
//
// Trigger asks for a run now, from any process: the tenant's waiting job
// runs now, or, during a run, one more run follows it (any number of
// triggers during a run bring one). TriggerTx does it in the host's own
// transaction on the fleet's database; OnUpload adapts it to
// sftpserver.Options.OnUpload.
//
// # Faults
//
// Options.MaxWorkers bounds the runs a process does at once, and
// Options.RunTimeout each run. Shutting down (Run's ctx done) follows
// usersync.Runner's rules: a run still planning is canceled, having
// applied nothing, and its job is made available at once to another
// worker; a run applying its plan finishes. A worker killed outright
// (kill -9, a machine lost) leaves its jobs running: River rescues them
// after Options.RescueAfter and another worker runs them again. A rerun is
// safe: a Pipeline applies nothing before its plan is complete, and every
// change is idempotent, so a plan applied in part is completed by the
// next run.
//
// # The database
//
// NewPostgres and NewSQLite migrate River's tables (rivermigrate) and the
// fleet's own status table, usersync_fleet_tenant, unless
// Options.NoMigrate is set; MigratePostgres and MigrateSQLite do it alone,
// before starting several workers at once. Status reads both, for a host's
// admin page: each tenant's last run, next run, whether it runs now and
// where, and the triggers waiting.
package fleet

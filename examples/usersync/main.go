// Command usersync keeps a product's users in sync with a customer's
// directory, delivered as CSV files in a local folder or on an SFTP or FTP(S)
// server, optionally PGP-encrypted, into an SQLite or PostgreSQL directory.
// It is the usersync library driven by a YAML config file, for operations
// people who would rather not write Go.
//
// Install it with
//
//	go install github.com/usersync/usersync/examples/usersync@latest
//
// or, from a checkout, go install ./examples/usersync. The first build
// compiles the dependencies (SQLite, SSH, OpenPGP): a minute or more on a
// fresh machine.
//
// Usage:
//
//	usersync [-c usersync.yaml] [--json] [-q] [-v] <command> [arguments]
//
// The commands (usersync help COMMAND, or COMMAND --help, shows each with
// examples):
//
//	check                    check the setup step by step, each step pass, warn or
//	                         fail: the connection, the host key, the login, the
//	                         folder, the file waiting (or, after a good night,
//	                         when one was last applied), the decryption key, the
//	                         mapping of its header line and first row, the user
//	                         database and the SMTP server; a server is logged in
//	                         to once
//	plan [-o FILE]           compute what a sync would change, change nothing, and
//	                         show it as a diff; -o writes the plan, for apply
//	                         (- for stdout)
//	apply [-n] FILE          apply a plan that plan wrote or that a held run
//	                         saved, exactly as it is, and only if neither the
//	                         files nor the database changed since; -n
//	                         (--dry-run) checks that and shows the plan
//	run                      sync once
//	watch [--now] [--metrics-addr ADDR]
//	                         sync on the schedule of the config file until
//	                         stopped (SIGINT or SIGTERM: a run still planning is
//	                         canceled, one that is applying finishes first);
//	                         --now syncs at start too; --metrics-addr serves
//	                         Prometheus /metrics and /healthz
//	history [-n N] [--status S] [ID]
//	                         list the last runs, or show one; each says how it
//	                         ended (succeeded, nothing_to_do, partly_failed,
//	                         held, failed, stale) and its exit code
//	fleet [--database-url URL] [--workers N] [--status] [--trigger ID] DIR
//	                         sync every tenant of a folder of config files (one
//	                         a tenant, named ID.yaml) on its schedule, as jobs
//	                         of package fleet: several workers share them
//	                         through PostgreSQL (the URL without its password,
//	                         which comes from $PGPASSWORD or ~/.pgpass; or
//	                         $USERSYNC_FLEET_DATABASE_URL), one works them
//	                         alone from SQLite in DIR; --status prints each
//	                         tenant's last and next run; --trigger ID syncs a
//	                         tenant now
//	version                  the version, commit and Go version it was built from
//	                         (also --version)
//	completion SHELL         the shell completion script: bash, zsh, fish or
//	                         powershell
//
// The flags, before or after the command:
//
//	-c, --config FILE   the config file: $USERSYNC_CONFIG, or ./usersync.yaml
//	--json              print one JSON document on stdout, for scripts; watch
//	                    prints one per run, each on a line of its own
//	-q, --quiet         print nothing but errors
//	-v, --verbose       log what happens to stderr
//
// usersync.example.yaml documents the config file. Secrets (passwords,
// passphrases, a database DSN with a password) are never read from it, nor
// from the command line: the config names the environment variable
// (password_env) or the file (password_file) that holds each one.
//
// The exit code says how it went, so that a scheduler can tell a run that
// needs someone from one that does not:
//
//	0  success: the sync applied every change, found nothing to do, or planned
//	1  failed: nothing was applied (a file, the connection or the plan failed)
//	2  usage: the command line or the config file is wrong
//	3  held: a safety guard held the plan; nothing was applied, the plan was saved for approval
//	4  partial: some changes failed, the others were applied
//	5  check: check found a problem
//	6  stale: the plan to apply no longer matches the files or the directory; plan again
//	7  busy: another sync of the same database is running; try again later
//	8  rejected: the sync applied every change, but rows of the file were
//	   rejected (the output lists them); those people wait for a fixed file
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // time zones by name work on machines without a zoneinfo database
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}

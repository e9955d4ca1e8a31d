package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"golang.org/x/term"

	"github.com/usersync/usersync/examples/usersync/internal/config"
	"github.com/usersync/usersync/report"
)

// defaultConfig is the config file when neither -c nor $USERSYNC_CONFIG
// names one.
const defaultConfig = "usersync.yaml"

const usage = `usersync keeps a product's users in sync with a customer's directory file.

Usage:
  usersync [-c FILE] [--json] [-q] [-v] <command> [arguments]

Commands:
  check              check the connection, credentials, host key, file, decryption
                     key, header mapping, database and SMTP server, step by step
  plan [-o FILE]     show what a sync would change, changing nothing; -o writes
                     the plan for apply (- for stdout)
  apply [-n] FILE    apply a plan from plan, or one a guard held, if nothing changed
                     since; -n only checks that and shows the plan
  run                sync once
  watch [--now]      sync on the config's schedule until stopped (SIGINT, SIGTERM);
                     --now syncs once at start too
  history [-n N] [--status S] [ID]
                     list the last runs, or show one
  fleet [--database-url URL] [--workers N] [--status] [--trigger ID] DIR
                     sync every tenant of a folder of config files on its schedule,
                     as jobs that several workers share through PostgreSQL (SQLite
                     in DIR without --database-url); --status prints each tenant's
                     last and next run; --trigger syncs a tenant now

Flags (before or after the command):
  -c FILE   the config file (default $USERSYNC_CONFIG, or ./usersync.yaml)
  --json    print one JSON document on stdout, for scripts (watch: one a run, a line each)
  -q        print nothing but errors
  -v        log what happens to stderr

Secrets are never given on the command line: the config file names the
environment variable (password_env) or file (password_file) holding each one.

`

// app is one invocation of the command: its streams, flags and config.
type app struct {
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)

	configPath string
	json       bool
	quiet      bool
	verbose    bool
	cmd        string

	cfg     *config.Config
	secrets []string
	log     *slog.Logger
}

// A command is a subcommand: its name and what runs it with the arguments
// after its name.
type command struct {
	name string
	run  func(ctx context.Context, a *app, args []string) int
}

var commands = []command{
	{"check", cmdCheck},
	{"plan", cmdPlan},
	{"apply", cmdApply},
	{"run", cmdRun},
	{"watch", cmdWatch},
	{"history", cmdHistory},
	{"fleet", cmdFleet},
}

// run runs the command line args and returns the exit code. The streams and
// the environment are given, so that tests run it as main does.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	a := &app{stdout: stdout, stderr: stderr, lookupEnv: lookupEnv}
	if p, ok := lookupEnv("USERSYNC_CONFIG"); ok && p != "" {
		a.configPath = p
	} else {
		a.configPath = defaultConfig
	}
	fs := a.flagSet("usersync")
	if err := fs.Parse(args); err != nil {
		return a.flagError(err)
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, usage+exitCodes)
		return exitUsage
	}
	name := fs.Arg(0)
	if name == "help" {
		fmt.Fprint(stdout, usage+exitCodes)
		return exitOK
	}
	for _, c := range commands {
		if c.name == name {
			a.cmd = name
			return c.run(ctx, a, fs.Args()[1:])
		}
	}
	a.cmd = "usersync"
	return a.fail(usagef(fmt.Errorf("unknown command %q; the commands are check, plan, apply, run, watch, history and fleet", name)))
}

// flagSet returns a FlagSet with the global flags, which every command
// takes too, so that they may come before or after its name.
func (a *app) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.configPath, "c", a.configPath, "the config `file`")
	fs.StringVar(&a.configPath, "config", a.configPath, "the config `file`")
	fs.BoolVar(&a.json, "json", a.json, "print one JSON document on stdout")
	fs.BoolVar(&a.quiet, "q", a.quiet, "print nothing but errors")
	fs.BoolVar(&a.verbose, "v", a.verbose, "log what happens to stderr")
	return fs
}

// parse parses a command's arguments, flags and positional arguments in
// any order ("apply plan.json --json" as "apply --json plan.json"), and
// returns the positional ones.
func (a *app) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		rest := fs.Args()
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional, args = append(positional, rest[0]), rest[1:]
	}
}

// setUp does what a command that takes no arguments does first: parse its
// flags and load the config. When the command cannot go on, or -h asked
// for the usage, it returns false and the exit code.
func (a *app) setUp(fs *flag.FlagSet, args []string) (code int, ok bool) {
	rest, err := a.parse(fs, args)
	if err != nil {
		return a.flagError(err), false
	}
	if len(rest) > 0 {
		return a.fail(usagef(errUnexpected(rest))), false
	}
	if err := a.load(); err != nil {
		return a.fail(err), false
	}
	return exitOK, true
}

// flagError reports a flag that did not parse, or prints the usage for -h.
func (a *app) flagError(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(a.stdout, usage+exitCodes)
		return exitOK
	}
	return a.fail(usagef(err))
}

// load reads the config file and sets up logging, redacting its secrets.
func (a *app) load() error {
	cfg, err := config.Load(a.configPath, &config.LoadOptions{LookupEnv: a.lookupEnv})
	if err != nil {
		if _, ok := err.(*os.PathError); ok { // the file itself, not one it names
			err = fmt.Errorf("%w (give the config file with -c or $USERSYNC_CONFIG; usersync.example.yaml documents it)", err)
		}
		return usagef(err)
	}
	a.cfg, a.secrets = cfg, cfg.Secrets()
	level := slog.LevelWarn
	if a.verbose || (a.cmd == "watch" && !a.quiet) { // a service logs what it does
		level = slog.LevelInfo
	}
	h := slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level})
	a.log = slog.New(report.RedactSecrets(h, a.secrets...))
	if !a.quiet {
		for _, w := range cfg.Warnings {
			fmt.Fprintln(a.stderr, "usersync: warning:", a.redact(w))
		}
	}
	return nil
}

// redact removes the config's secrets from text the command prints.
func (a *app) redact(s string) string { return report.Redact(s, a.secrets...) }

// terminal reports whether w is a terminal, where a progress bar may be
// drawn.
func terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// showProgress reports whether to draw a progress bar on stderr.
func (a *app) showProgress() bool {
	return !a.json && !a.quiet && terminal(a.stderr)
}

// errUnexpected reports arguments a command does not take.
func errUnexpected(args []string) error {
	return fmt.Errorf("unexpected argument %q", args[0])
}

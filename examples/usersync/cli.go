package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/usersync/usersync/examples/usersync/internal/config"
	"github.com/usersync/usersync/report"
)

// defaultConfig is the config file when neither -c nor $USERSYNC_CONFIG
// names one.
const defaultConfig = "usersync.yaml"

// app is one invocation of the command: its streams, flags and config.
type app struct {
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)

	configPath string
	json       bool
	quiet      bool
	verbose    bool
	cmd        string // the subcommand's name, for messages
	code       int    // the exit code the subcommand returned

	cfg     *config.Config
	secrets []string
	log     *slog.Logger
}

// commands are the subcommands, each made by its constructor from the
// app it runs in. Adding a subcommand is adding its constructor here.
var commands = []func(a *app) *cobra.Command{
	checkCommand,
	planCommand,
	applyCommand,
	runCommand,
	watchCommand,
	historyCommand,
	fleetCommand,
	versionCommand,
}

// run runs the command line args and returns the exit code. The streams and
// the environment are given, so that tests run it as main does.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	a := &app{stdout: stdout, stderr: stderr, lookupEnv: lookupEnv}
	root := a.rootCommand()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil {
		// Only the command line can fail here: each subcommand reports
		// its own errors and returns its exit code.
		if cmd != nil && cmd != root {
			a.cmd = cmd.Name()
		}
		hint := "usersync --help"
		if a.cmd != "" {
			hint = "usersync " + a.cmd + " --help"
		}
		if long := singleDashLong(cmd, args); long != "" {
			return a.fail(usagef(fmt.Errorf("%w; did you mean -%s? (%s shows the usage)", err, long, hint)))
		}
		return a.fail(usagef(fmt.Errorf("%w (%s shows the usage)", err, hint)))
	}
	return a.code
}

// singleDashLong returns the first of args that names a long flag of cmd
// with one dash, as Go's flag package allows ("-version" for "--version"),
// or "".
func singleDashLong(cmd *cobra.Command, args []string) string {
	if cmd == nil {
		return ""
	}
	for _, arg := range args {
		if arg == "--" {
			break
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(arg, "-"), "=")
		if strings.HasPrefix(arg, "-") && !strings.HasPrefix(arg, "--") && len(name) > 1 && cmd.Flags().Lookup(name) != nil {
			return "-" + name
		}
	}
	return ""
}

// rootCommand returns the command line: the global flags, which may come
// before or after a subcommand's name, and the subcommands.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "usersync",
		Short: "Keep a product's users in sync with a customer's directory file",
		Long: `usersync keeps a product's users in sync with a customer's directory, delivered
as CSV files in a folder or on an SFTP or FTP(S) server, optionally
PGP-encrypted, into an SQLite or PostgreSQL user database.

Secrets are never given on the command line: the config file names the
environment variable (password_env) or file (password_file) holding each one.
usersync.example.yaml documents the config file.

` + exitCodes,
		Example: `  usersync -c acme.yaml check
  usersync -c acme.yaml plan -o plan.json
  usersync -c acme.yaml apply plan.json
  usersync -c acme.yaml watch`,
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
		// With no subcommand: the usage, on stderr, exit code 2.
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(a.stderr)
			a.code = exitUsage
			return cmd.Help()
		},
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetVersionTemplate("usersync {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usagef(err) })
	f := root.PersistentFlags()
	f.StringVarP(&a.configPath, "config", "c", "", "the config `file` (default $USERSYNC_CONFIG, or ./usersync.yaml)")
	f.BoolVar(&a.json, "json", false, "print one JSON document on stdout, for scripts (watch: one a run, a line each)")
	f.BoolVarP(&a.quiet, "quiet", "q", false, "print nothing but errors")
	f.BoolVarP(&a.verbose, "verbose", "v", false, "log what happens to stderr")
	root.PersistentPreRun = func(cmd *cobra.Command, _ []string) { a.cmd = cmd.Name() }
	for _, c := range commands {
		root.AddCommand(c(a))
	}
	return root
}

// do sets c's RunE to run, whose int is the exit code, and returns c.
func (a *app) do(c *cobra.Command, run func(ctx context.Context, args []string) int) *cobra.Command {
	c.RunE = func(cmd *cobra.Command, args []string) error {
		a.code = run(cmd.Context(), args)
		return nil
	}
	return c
}

// noArgs is the Args of a command that takes no arguments.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef(errUnexpected(args))
	}
	return nil
}

// load reads the config file and sets up logging, redacting its secrets.
func (a *app) load() error {
	if a.configPath == "" {
		a.configPath = defaultConfig
		if p, ok := a.lookupEnv("USERSYNC_CONFIG"); ok && p != "" {
			a.configPath = p
		}
	}
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

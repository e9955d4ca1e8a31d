package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// versionCommand prints the version, as --version does.
func versionCommand(a *app) *cobra.Command {
	return a.do(&cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit and the Go version it was built from",
		Long: `version prints the module version the command was built from (v1.2.3 when
installed with go install ...@v1.2.3, "(devel)" from a checkout), the commit
and its time when the build knew them, and the Go version.`,
		Example: `  usersync version
  usersync --version
  usersync version --json`,
		Args: noArgs,
	}, func(_ context.Context, _ []string) int {
		if a.json {
			a.emit(&output{ExitCode: exitOK, Version: version()})
			return exitOK
		}
		fmt.Fprintf(a.stdout, "usersync %s\n", version())
		return exitOK
	})
}

// version says what the command was built from, read from the build
// information the Go toolchain embeds: the module's version, the VCS
// commit and time, whether the work tree had changes, and the Go version.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown: built without module information)"
	}
	return describeBuild(bi)
}

// describeBuild is version's text for bi.
func describeBuild(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, at string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	var details []string
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		c := "commit " + rev
		if at != "" {
			c += " of " + at
		}
		if modified {
			c += ", with local changes"
		}
		details = append(details, c)
	}
	if bi.GoVersion != "" {
		details = append(details, "built with "+bi.GoVersion)
	}
	if len(details) == 0 {
		return v
	}
	return v + " (" + strings.Join(details, ", ") + ")"
}

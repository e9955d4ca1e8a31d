package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/examples/usersync/internal/config"
	"github.com/usersync/usersync/report"
)

// output is the one JSON document a command prints with --json. Its field
// names are stable; summary is report.Summary's documented JSON form.
type output struct {
	Command string `json:"command"`
	// Status is the run's status ("succeeded", "held", ...), "passed" or
	// "failed" for check; empty when the command failed before.
	Status   string `json:"status,omitempty"`
	ExitCode int    `json:"exit_code"`
	Error    string `json:"error,omitempty"`
	// Errors lists each problem of a config file that did not load.
	Errors []configError `json:"errors,omitempty"`
	// PlanFile is where plan wrote the plan, or run saved a held one.
	PlanFile string          `json:"plan_file,omitempty"`
	Summary  *report.Summary `json:"summary,omitempty"`
	Checks   []checkOutput   `json:"checks,omitempty"`
	Entries  []entryOutput   `json:"entries,omitempty"`
	Warnings []string        `json:"warnings,omitempty"`
	// Version is what version prints.
	Version string `json:"version,omitempty"`
}

// configError is one problem of a config file, in JSON.
type configError struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Key     string `json:"key,omitempty"`
	Message string `json:"message"`
}

// checkOutput is one step of check, in JSON.
type checkOutput struct {
	Part    string `json:"part"`
	Name    string `json:"name"`
	Result  string `json:"result"` // "pass", "warn", "fail" or "skip"
	Detail  string `json:"detail,omitempty"`
	Warning string `json:"warning,omitempty"` // what to fix, on a step that passed
	Error   string `json:"error,omitempty"`
	// Preview holds the first records of a file as mapped, for the step
	// of its first row.
	Preview *preview `json:"preview,omitempty"`
}

// emit prints the JSON document, with the config's warnings.
func (a *app) emit(o *output) {
	o.Command = a.cmd
	if a.cfg != nil {
		for _, w := range a.cfg.Warnings {
			o.Warnings = append(o.Warnings, a.redact(w))
		}
	}
	if o.Error != "" {
		o.Error = a.redact(o.Error)
	}
	b, err := json.MarshalIndent(o, "", "  ")
	if err != nil { // a Summary always encodes; this would be a bug
		panic(err)
	}
	fmt.Fprintf(a.stdout, "%s\n", b)
}

// fail reports the error that ended the command, and returns its exit code.
func (a *app) fail(err error) int {
	code := errorCode(err)
	msg := a.redact(err.Error())
	prefix := "usersync: "
	if a.cmd != "" {
		prefix = "usersync " + a.cmd + ": "
	}
	var lines []string
	for _, l := range strings.Split(msg, "\n") {
		lines = append(lines, prefix+l)
	}
	fmt.Fprintln(a.stderr, strings.Join(lines, "\n"))
	if a.json {
		o := &output{ExitCode: code, Error: msg}
		var ce config.Errors
		if errors.As(err, &ce) {
			for _, e := range ce {
				o.Errors = append(o.Errors, configError{File: e.File, Line: e.Line, Key: e.Key, Message: a.redact(e.Err.Error())})
			}
		}
		a.emit(o)
	}
	return code
}

// printf prints to stdout unless -q or --json.
func (a *app) printf(format string, args ...any) {
	if !a.quiet && !a.json {
		fmt.Fprintf(a.stdout, format, args...)
	}
}

// statusName returns the status as JSON names it.
func statusName(s usersync.Status) string {
	b, err := s.MarshalText()
	if err != nil {
		return ""
	}
	return string(b)
}

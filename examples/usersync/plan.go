package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/report"
)

// cmdPlan computes what a sync would change, changes nothing, and shows
// the plan as a diff; -o writes it for apply.
func cmdPlan(ctx context.Context, a *app, args []string) int {
	fs := a.flagSet("plan")
	out := fs.String("o", "", "write the plan to `file`, for apply (- for stdout)")
	if code, ok := a.setUp(fs, args); !ok {
		return code
	}
	s, err := a.openSession(ctx, dryRun)
	if err != nil {
		return a.fail(err)
	}
	defer s.close()
	res, _, err := s.sync(ctx, nil)
	if res == nil {
		return a.fail(err)
	}
	code := statusCode(res.Status, err)
	planFile := ""
	if *out != "" && res.Plan != nil {
		if *out == "-" {
			return a.printPlan(res.Plan, code)
		}
		if werr := writePlan(*out, res.Plan); werr != nil {
			return a.fail(werr)
		}
		planFile = *out
	}
	if a.json || a.quiet || res.Plan == nil {
		return a.finish(s, res, planFile, err)
	}
	var next string
	switch {
	case planFile != "":
		next = fmt.Sprintf("The plan was written to %s. Apply it with: usersync -c %s apply %s", planFile, a.configPath, planFile)
	case len(res.Plan.Changes) > 0:
		next = "Nothing was changed. Write the plan with -o FILE to apply it as it is, or sync with run."
	}
	a.showPlan(res.Plan, s.summary(res), next)
	return code
}

// printPlan writes the plan's JSON to stdout, for plan -o -.
func (a *app) printPlan(plan *usersync.Plan, code int) int {
	b, err := json.Marshal(plan)
	if err != nil {
		return a.fail(err)
	}
	fmt.Fprintf(a.stdout, "%s\n", b)
	return code
}

// showPlan prints the plan as a person reviews it, how the files were read,
// and what to do next.
func (a *app) showPlan(plan *usersync.Plan, sum *report.Summary, next string) {
	var b strings.Builder
	_ = reconcile.WriteDiff(&b, plan)
	for _, f := range sum.Files {
		if f.Encoding != "" {
			fmt.Fprintf(&b, "\nRead %s: %s, %q-separated, %d records, %d rejected, %d skipped\n",
				f.Name, f.Encoding, f.Delimiter, f.Records, f.Rejected, f.Skipped)
		}
	}
	for _, w := range sum.Warnings.Items {
		fmt.Fprintf(&b, "Warning: %s\n", w)
	}
	if next != "" {
		fmt.Fprintf(&b, "\n%s\n", next)
	}
	fmt.Fprint(a.stdout, b.String())
}

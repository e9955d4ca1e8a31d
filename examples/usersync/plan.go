package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/report"
)

// cmdPlan computes what a sync would change, changes nothing, and shows
// the plan as a diff; -o writes it for apply.
func planCommand(a *app) *cobra.Command {
	var out string
	c := a.do(&cobra.Command{
		Use:   "plan [-o FILE]",
		Short: "Show what a sync would change, changing nothing",
		Long: `plan reads the files and the user database, computes what a sync would change,
changes nothing, and shows the plan as a diff. With -o it writes the plan, for
apply to apply exactly as it is (- writes it to stdout).`,
		Example: `  usersync -c acme.yaml plan
  usersync -c acme.yaml plan -o plan.json
  usersync -c acme.yaml apply plan.json`,
		Args: noArgs,
	}, func(ctx context.Context, _ []string) int {
		if err := a.load(); err != nil {
			return a.fail(err)
		}
		return a.plan(ctx, out)
	})
	c.Flags().StringVarP(&out, "output", "o", "", "write the plan to `file`, for apply (- for stdout)")
	return c
}

// plan runs plan, writing the plan to out unless it is "".
func (a *app) plan(ctx context.Context, out string) int {
	s, err := a.openSession(ctx, dryRun)
	if err != nil {
		return a.fail(err)
	}
	defer s.close()
	res, _, err := s.sync(ctx, nil)
	if res == nil {
		return a.fail(err)
	}
	code := resultCode(res, err)
	planFile := ""
	if out != "" && res.Plan != nil {
		if out == "-" {
			return a.printPlan(res.Plan, code)
		}
		if werr := writePlan(out, res.Plan); werr != nil {
			return a.fail(werr)
		}
		planFile = out
	}
	if a.json || a.quiet || res.Plan == nil {
		return a.finish(s, res, planFile, err)
	}
	var next string
	switch {
	case planFile != "":
		next = fmt.Sprintf("The plan was written to %s. Apply it with: usersync -c %s apply %s", planFile, a.configPath, planFile)
	case res.Plan.Changes.Len() > 0:
		next = "Nothing was changed. Write the plan with -o FILE to apply it as it is, or sync with run."
	}
	a.showPlan(res.Plan, s.summary(res), next)
	return code
}

// printPlan writes the plan's JSON to stdout, for plan -o -.
func (a *app) printPlan(plan *usersync.Plan, code int) int {
	if err := plan.WriteJSON(a.stdout); err != nil {
		return a.fail(err)
	}
	fmt.Fprintln(a.stdout)
	return code
}

// showPlan prints the plan as a person reviews it, how the files were read,
// and what to do next.
func (a *app) showPlan(plan *usersync.Plan, sum *report.Summary, next string) {
	var b strings.Builder
	_ = reconcile.WriteDiff(&b, plan)
	for _, f := range sum.Files {
		if f.Encoding != "" {
			scope := ""
			if f.OutOfScope > 0 {
				scope = fmt.Sprintf(", %d out of scope", f.OutOfScope)
			}
			fmt.Fprintf(&b, "\nRead %s: %s, %q-separated, %d records, %d rejected, %d skipped%s\n",
				f.Name, f.Encoding, f.Delimiter, f.Records, f.Rejected, f.Skipped, scope)
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

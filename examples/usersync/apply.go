package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/usersync/usersync"
)

// cmdApply applies a plan that plan wrote or that a held run saved,
// exactly as it is, if neither the files nor the directory changed since.
// With -n it only checks that, and shows the plan.
func applyCommand(a *app) *cobra.Command {
	var check bool
	c := a.do(&cobra.Command{
		Use:   "apply [-n] FILE",
		Short: "Apply a plan that plan wrote or a held run saved",
		Long: `apply applies a plan that "plan -o FILE" wrote, or that a run saved when a safety
guard held it, exactly as it is, and only if neither the files nor the user
database changed since: otherwise it applies nothing and exits with code 6
(plan again). With -n it only checks that, and shows the plan.`,
		Example: `  usersync -c acme.yaml plan -o plan.json
  usersync -c acme.yaml apply -n plan.json   # still applies? show it
  usersync -c acme.yaml apply plan.json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef(errors.New("give the plan file to apply: usersync apply plan.json"))
			}
			return nil
		},
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"json"}, cobra.ShellCompDirectiveFilterFileExt
		},
	}, func(ctx context.Context, args []string) int {
		if err := a.load(); err != nil {
			return a.fail(err)
		}
		return a.apply(ctx, args[0], check)
	})
	c.Flags().BoolVarP(&check, "dry-run", "n", false, "check that the plan still applies, and show it; change nothing")
	return c
}

// apply applies the plan in file, or with check only checks it.
func (a *app) apply(ctx context.Context, file string, check bool) int {
	plan, err := a.readPlan(file)
	if err != nil {
		return a.fail(usagef(err))
	}
	m := approval
	if check {
		m = checkApproval
	}
	s, err := a.openSession(ctx, m)
	if err != nil {
		return a.fail(err)
	}
	defer s.close()
	res, _, err := s.sync(ctx, plan)
	if res == nil {
		return a.fail(err)
	}
	var stale *usersync.StalePlanError
	if errors.As(err, &stale) && !a.json {
		fmt.Fprintf(a.stderr, "usersync apply: %s\nNothing was applied. Plan again (usersync -c %s plan -o plan.json), review the new plan, and apply it.\n",
			a.redact(err.Error()), a.configPath)
		return exitStale
	}
	if check && res.Status == usersync.Planned && !a.json && !a.quiet {
		a.showPlan(plan, s.summary(res), fmt.Sprintf(
			"The plan still applies: the files and the directory are as it found them. Apply it with: usersync -c %s apply %s",
			a.configPath, file))
		return exitOK
	}
	return a.finish(s, res, "", err)
}

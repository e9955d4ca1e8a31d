package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/usersync/usersync"
)

// cmdApply applies a plan that plan wrote or that a held run saved,
// exactly as it is, if neither the files nor the directory changed since.
// With -n it only checks that, and shows the plan.
func cmdApply(ctx context.Context, a *app, args []string) int {
	fs := a.flagSet("apply")
	check := fs.Bool("n", false, "check that the plan still applies, and show it; change nothing")
	rest, err := a.parse(fs, args)
	if err != nil {
		return a.flagError(err)
	}
	if len(rest) != 1 {
		return a.fail(usagef(errors.New("give the plan file to apply: usersync apply plan.json")))
	}
	if err := a.load(); err != nil {
		return a.fail(err)
	}
	plan, err := readPlan(rest[0])
	if err != nil {
		return a.fail(usagef(err))
	}
	m := approval
	if *check {
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
	if *check && res.Status == usersync.Planned && !a.json && !a.quiet {
		a.showPlan(plan, s.summary(res), fmt.Sprintf(
			"The plan still applies: the files and the directory are as it found them. Apply it with: usersync -c %s apply %s",
			a.configPath, rest[0]))
		return exitOK
	}
	return a.finish(s, res, "", err)
}

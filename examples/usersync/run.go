package main

import "context"

// cmdRun runs one sync.
func cmdRun(ctx context.Context, a *app, args []string) int {
	fs := a.flagSet("run")
	rest, err := a.parse(fs, args)
	if err != nil {
		return a.flagError(err)
	}
	if len(rest) > 0 {
		return a.fail(usagef(errUnexpected(rest)))
	}
	if err := a.load(); err != nil {
		return a.fail(err)
	}
	s, err := a.openSession(ctx, syncing)
	if err != nil {
		return a.fail(err)
	}
	defer s.close()
	res, planFile, err := s.sync(ctx, nil)
	if res == nil {
		return a.fail(err)
	}
	return a.finish(s, res, planFile, err)
}

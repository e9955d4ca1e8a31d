package main

import "context"

// cmdRun runs one sync.
func cmdRun(ctx context.Context, a *app, args []string) int {
	fs := a.flagSet("run")
	if code, ok := a.setUp(fs, args); !ok {
		return code
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

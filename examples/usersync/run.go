package main

import (
	"context"

	"github.com/spf13/cobra"
)

// runCommand runs one sync.
func runCommand(a *app) *cobra.Command {
	return a.do(&cobra.Command{
		Use:   "run",
		Short: "Sync once",
		Long: `run syncs once: it picks up the files waiting, applies what changed to the user
database, records the run in the history, and sends the report email if the
config asks for one. A plan that a safety guard holds is saved for review and
approval (exit code 3), and nothing is applied.`,
		Example: `  usersync -c acme.yaml run
  usersync -c acme.yaml run --json
  usersync -c acme.yaml run || echo "exit code $?: 3 held, 4 partial, 8 rows rejected"`,
		Args: noArgs,
	}, func(ctx context.Context, _ []string) int {
		if err := a.load(); err != nil {
			return a.fail(err)
		}
		return a.runOnce(ctx)
	})
}

// runOnce runs one sync and prints it.
func (a *app) runOnce(ctx context.Context) int {
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

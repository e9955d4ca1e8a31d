package main

// TEMPORARY: replaced when usersync.Runner and source/ftpsource land.

import (
	"context"
	"errors"
	"time"

	"github.com/usersync/usersync/examples/usersync/internal/config"
)

func cmdWatch(ctx context.Context, a *app, args []string) int {
	return a.fail(errors.New("watch: not wired yet"))
}

func describeSchedule(s *config.Schedule, now time.Time) (string, error) {
	return "", errors.New("not wired yet")
}

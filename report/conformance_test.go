package report_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/report/reporttest"
)

// TestConformance runs the Reporter suite on every Reporter of the package.
func TestConformance(t *testing.T) {
	for name, newReporter := range map[string]func(t *testing.T) usersync.Reporter{
		"Text": func(*testing.T) usersync.Reporter { return report.Text(io.Discard) },
		"Slog": func(*testing.T) usersync.Reporter {
			return report.Slog(slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug})))
		},
		"Multi": func(*testing.T) usersync.Reporter {
			return report.Multi(report.Text(io.Discard), report.Slog(slog.New(slog.DiscardHandler)))
		},
		"Summarize": func(*testing.T) usersync.Reporter {
			return report.Summarize(func(_ context.Context, s *report.Summary) error {
				var b bytes.Buffer
				if err := report.WriteHTML(&b, s); err != nil {
					return err
				}
				return report.WriteJSON(&b, s)
			}, &report.Options{Name: "Acme", Label: "name"})
		},
		"ProgressFunc": func(*testing.T) usersync.Reporter { return report.ProgressFunc(func(report.Progress) {}) },
		"Watch": func(*testing.T) usersync.Reporter {
			return report.NewWatch(&usersync.MemStore{}, report.Text(io.Discard), nil)
		},
	} {
		t.Run(name, func(t *testing.T) { reporttest.Run(t, newReporter) })
	}
}

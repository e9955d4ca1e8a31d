package report_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
)

// recorder is a Reporter that notes its name for each event, and fails with
// err.
func recorder(name string, calls *[]string, err error) usersync.Reporter {
	return usersync.ReporterFunc(func(_ context.Context, e usersync.Event) error {
		*calls = append(*calls, name+" "+e.Kind.String())
		return err
	})
}

func TestMultiCallsAllInOrder(t *testing.T) {
	var calls []string
	errMail, errHistory := errors.New("smtp down"), errors.New("disk full")
	m := report.Multi(
		recorder("mail", &calls, errMail),
		nil,
		recorder("log", &calls, nil),
		recorder("history", &calls, errHistory),
	)
	err := m.Report(context.Background(), usersync.Event{Kind: usersync.RunFinished})
	assert.Equal(t, []string{"mail run-finished", "log run-finished", "history run-finished"}, calls,
		"a failing reporter does not stop the next one")
	require.Error(t, err)
	assert.ErrorIs(t, err, errMail)
	assert.ErrorIs(t, err, errHistory)
	assert.Equal(t, "smtp down\ndisk full", err.Error())
}

func TestMultiNoError(t *testing.T) {
	var calls []string
	m := report.Multi(recorder("a", &calls, nil), recorder("b", &calls, nil))
	assert.NoError(t, m.Report(context.Background(), usersync.Event{Kind: usersync.RunStarted}))
	assert.Len(t, calls, 2)
}

func TestMultiEmpty(t *testing.T) {
	assert.NoError(t, report.Multi().Report(context.Background(), usersync.Event{Kind: usersync.RunStarted}))
	assert.NoError(t, report.Multi(nil, nil).Report(context.Background(), usersync.Event{Kind: usersync.RunStarted}))
}

func TestMultiCopiesItsArguments(t *testing.T) {
	var calls []string
	rs := []usersync.Reporter{recorder("a", &calls, nil)}
	m := report.Multi(rs...)
	rs[0] = recorder("b", &calls, nil)
	require.NoError(t, m.Report(context.Background(), usersync.Event{Kind: usersync.RunStarted}))
	assert.Equal(t, []string{"a run-started"}, calls)
}

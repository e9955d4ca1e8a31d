package report_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/report/internal/testruns"
)

// TestProgressWithPipeline draws the progress of a real run of a file long
// enough for a FileProgress event.
func TestProgressWithPipeline(t *testing.T) {
	const users = usersync.ProgressEvery + 1000
	var got []report.Progress
	res := testruns.New(t, started()).Run(report.ProgressFunc(func(p report.Progress) {
		got = append(got, p)
	}), testruns.Night{Feed: testruns.Feed(users)})
	require.Equal(t, usersync.Succeeded, res.Status, "%v", res.Err)

	require.GreaterOrEqual(t, len(got), 4)
	first := got[0]
	assert.Equal(t, report.Reading, first.Phase)
	assert.Equal(t, "users.csv", first.File)
	assert.Equal(t, res.Files[0].Size, first.Total)
	assert.Positive(t, first.Done)
	assert.Less(t, first.Fraction(), 1.0)
	assert.Equal(t, usersync.ProgressEvery-1, first.Records+first.Rejected, "rows read so far")

	end := got[1]
	assert.Equal(t, report.Reading, end.Phase)
	assert.Equal(t, 1.0, end.Fraction())
	assert.Equal(t, users, end.Records)

	plan := got[2]
	assert.Equal(t, report.Progress{Phase: report.Planned, Total: users + 1}, plan, "the users and their group")

	applying := got[3 : len(got)-1]
	require.Len(t, applying, users+1)
	for i, p := range applying {
		assert.Equal(t, report.Applying, p.Phase)
		if p.Done != int64(i+1) || p.Total != users+1 {
			t.Fatalf("change %d: %+v", i, p)
		}
	}
	assert.Equal(t, report.Progress{Phase: report.Finished, Done: users + 1, Total: users + 1,
		Status: usersync.Succeeded}, got[len(got)-1])
}

func TestProgressFraction(t *testing.T) {
	assert.Equal(t, -1.0, report.Progress{Total: -1}.Fraction(), "unknown size")
	assert.Equal(t, 1.0, report.Progress{}.Fraction(), "nothing to do is done")
	assert.Equal(t, 0.25, report.Progress{Done: 1, Total: 4}.Fraction())
	assert.Equal(t, 1.0, report.Progress{Done: 5, Total: 4}.Fraction())
}

// TestProgressUnknownSize checks that the end of a file of unknown size is
// complete.
func TestProgressUnknownSize(t *testing.T) {
	var got []report.Progress
	r := report.ProgressFunc(func(p report.Progress) { got = append(got, p) })
	f := usersync.FileResult{FileInfo: usersync.FileInfo{Name: "users.csv", Size: -1}, Bytes: 100}
	require.NoError(t, r.Report(t.Context(), usersync.Event{Kind: usersync.FileProgress, File: &f}))
	require.NoError(t, r.Report(t.Context(), usersync.Event{Kind: usersync.FileRead, File: &f}))
	require.NoError(t, r.Report(t.Context(), usersync.Event{Kind: usersync.RowRejected}))
	require.Len(t, got, 2, "a rejected row does not move the bar")
	assert.Equal(t, -1.0, got[0].Fraction())
	assert.Equal(t, 1.0, got[1].Fraction())
}

func TestPhase(t *testing.T) {
	assert.Equal(t, "reading", report.Reading.String())
	assert.Equal(t, "finished", report.Finished.String())
	assert.Equal(t, "Phase(0)", report.Phase(0).String())
}

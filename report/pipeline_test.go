package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
)

// TestWithPipeline runs a real Pipeline, with tiny fakes for its parts, and
// checks the reporters against the events and Result it really makes.
func TestWithPipeline(t *testing.T) {
	var text, logs bytes.Buffer
	clock := started()
	p := usersync.Pipeline{
		Source:     oneFile{"users.csv", "E1;" + pii + "\nE2;" + pii + "\nbad\nE3;" + pii + "\n"},
		Mapper:     lineMapper{},
		Reconciler: createAll{},
		Sink: sinkFunc(func(_ context.Context, c usersync.Change) error {
			if c.User.Key == "E2" {
				return errors.New("user is locked")
			}
			return nil
		}),
		Reporter: report.Multi(
			report.Text(&text),
			report.Slog(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))),
		Now: func() time.Time { clock = clock.Add(100 * time.Millisecond); return clock },
	}
	res, err := p.Run(context.Background())
	require.ErrorIs(t, err, usersync.ErrChangesFailed)
	require.Empty(t, res.ReportErrors)

	assert.Equal(t, "usersync: partly failed — 2 created, 1 failed, 1 rejected", report.NewSummary(res, nil).Headline)
	assert.True(t, strings.HasPrefix(text.String(), report.NewSummary(res, nil).Headline+"\n"))
	assert.Contains(t, text.String(), "\n  users.csv:3: \"bad\": no separator\n")
	assert.Contains(t, text.String(), "\n  create E2: user is locked\n")
	assert.Contains(t, text.String(), "\n  "+pii+" (E2) — failed\n", "people by name (here the name attribute) and key")

	var events []string
	for line := range strings.Lines(logs.String()) {
		var m struct{ Event string }
		require.NoError(t, json.Unmarshal([]byte(line), &m))
		events = append(events, m.Event)
	}
	assert.Equal(t, []string{"run-started", "row-rejected", "file-read", "plan-ready",
		"change-applied", "change-failed", "change-applied", "run-finished"}, events)
	assert.Contains(t, logs.String(), `"change":"create","key":"E2","err":"user is locked"`)
	assert.NotContains(t, logs.String(), pii)
}

// oneFile is a Source of one file.
type oneFile struct{ name, data string }

func (s oneFile) List(context.Context) ([]usersync.FileInfo, error) {
	return []usersync.FileInfo{{Name: s.name, Size: int64(len(s.data))}}, nil
}

func (s oneFile) Open(context.Context, string) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(s.data)), nil
}

func (oneFile) Close() error { return nil }

// lineMapper reads "key;name" lines.
type lineMapper struct{}

func (lineMapper) NewReader(r io.Reader, f usersync.FileInfo) (usersync.RecordReader, error) {
	b, err := io.ReadAll(r)
	return &lineReader{file: f.Name, lines: strings.SplitAfter(string(b), "\n")}, err
}

type lineReader struct {
	file  string
	lines []string
	n     int
}

func (r *lineReader) Read() (usersync.Record, error) {
	for r.n < len(r.lines) {
		line := strings.TrimSuffix(r.lines[r.n], "\n")
		r.n++
		if line == "" {
			continue
		}
		key, name, ok := strings.Cut(line, ";")
		if !ok {
			return usersync.Record{}, &usersync.RowError{File: r.file, Line: r.n, Value: line,
				Err: errors.New("no separator")}
		}
		return usersync.Record{Key: key, Attrs: usersync.NewAttrs("name", name)}, nil
	}
	return usersync.Record{}, io.EOF
}

// createAll plans to create every user of the feed.
type createAll struct{}

func (createAll) Reconcile(ctx context.Context, feed *usersync.Feed, _ usersync.Lister) (*usersync.Plan, error) {
	recs, err := feed.Load(ctx)
	if err != nil {
		return nil, err
	}
	p := &usersync.Plan{}
	for _, rec := range recs {
		p.Changes.Append(usersync.Change{Kind: usersync.CreateUser, User: rec})
	}
	return p, nil
}

// sinkFunc is a Sink made of a function.
type sinkFunc func(ctx context.Context, c usersync.Change) error

func (f sinkFunc) Apply(ctx context.Context, c usersync.Change) error { return f(ctx, c) }

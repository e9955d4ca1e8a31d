package metrics_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report/internal/testruns"
	"github.com/usersync/usersync/report/metrics"
)

var night = time.Date(2026, 3, 14, 2, 0, 0, 0, time.UTC)

// clock is a settable clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// scrape gets /metrics from the server over HTTP and parses it with
// Prometheus's text parser.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", "http://"+addr+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Type"), "text/plain")
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams
}

// value returns the value of the series of family name whose labels
// include want; it fails t if there is none.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	t.Helper()
	f, ok := fams[name]
	require.True(t, ok, "no family %s", name)
series:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i < len(want); i += 2 {
			if have[want[i]] != want[i+1] {
				continue series
			}
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue()
		case dto.MetricType_HISTOGRAM:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("no series of %s with %v", name, want)
	return 0
}

func health(t *testing.T, addr string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/healthz")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestScrapeOverHTTP(t *testing.T) {
	clk := &clock{night}
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, &metrics.Options{StaleAfter: 26 * time.Hour, Now: clk.now})
	require.NoError(t, err)
	srv, err := metrics.Serve(t.Context(), "127.0.0.1:0", m.Handler(reg))
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })

	acme, globex := m.Reporter("acme", "users"), m.Reporter("globex", "users")
	code, body := health(t, srv.Addr())
	assert.Equal(t, http.StatusOK, code, "a feed that just started reporting is not stale yet: %s", body)

	// Acme: a night with a rejected row, then one where the directory
	// refuses a change, then a night without a file.
	runs := testruns.New(t, night)
	res := runs.Run(acme, testruns.Night{Feed: testruns.Nightly})
	require.Equal(t, usersync.Succeeded, res.Status)
	require.Equal(t, 1, res.RejectedTotal)
	succeeded := res.Finished
	fileTime := res.Files[0].ModTime
	res = runs.Run(acme, testruns.Night{Feed: strings.Replace(testruns.Nightly, "Bo Berg", "Bo Bergman", 1) + "E1006;Fia;fia@acme.example;\n", Fail: []string{"E1006"}})
	require.Equal(t, usersync.PartlyFailed, res.Status)
	require.Equal(t, usersync.NothingToDo, runs.Run(acme, testruns.Night{}).Status)
	// Globex: nothing, ever.
	require.Equal(t, usersync.NothingToDo, testruns.New(t, night).Run(globex, testruns.Night{}).Status)

	clk.t = night.Add(3 * time.Hour)
	fams := scrape(t, srv.Addr())
	acmeL := []string{"tenant", "acme", "feed", "users"}
	l := func(kv ...string) []string { return append(append([]string{}, acmeL...), kv...) }
	assert.Equal(t, 1.0, value(t, fams, "usersync_runs_total", l("status", "succeeded")...))
	assert.Equal(t, 1.0, value(t, fams, "usersync_runs_total", l("status", "partly_failed")...))
	assert.Equal(t, 1.0, value(t, fams, "usersync_runs_total", l("status", "nothing_to_do")...))
	assert.Equal(t, 0.0, value(t, fams, "usersync_runs_total", l("status", "failed")...), "every status starts at zero")
	assert.Equal(t, 1.0, value(t, fams, "usersync_runs_total", "tenant", "globex", "status", "nothing_to_do"))
	assert.Equal(t, 4.0, value(t, fams, "usersync_changes_total", l("kind", "create", "outcome", "applied")...))
	assert.Equal(t, 1.0, value(t, fams, "usersync_changes_total", l("kind", "create-group", "outcome", "applied")...))
	assert.Equal(t, 1.0, value(t, fams, "usersync_changes_total", l("kind", "update", "outcome", "applied")...))
	assert.Equal(t, 1.0, value(t, fams, "usersync_changes_total", l("kind", "create", "outcome", "failed")...))
	assert.Equal(t, 2.0, value(t, fams, "usersync_rejected_rows_total", acmeL...), "a rejected row each night with a file")
	assert.Equal(t, 0.0, value(t, fams, "usersync_rejected_rows_total", "tenant", "globex"))
	assert.Equal(t, 3.0, value(t, fams, "usersync_run_duration_seconds", acmeL...), "three runs observed")
	assert.InDelta(t, float64(succeeded.Unix()), value(t, fams, "usersync_last_success_timestamp_seconds", acmeL...), 0.001,
		"the partly failed run and the night without a file leave the last success where it was")
	assert.Greater(t, value(t, fams, "usersync_last_run_timestamp_seconds", acmeL...), float64(succeeded.Unix()))
	assert.GreaterOrEqual(t, value(t, fams, "usersync_last_file_timestamp_seconds", acmeL...), float64(fileTime.Unix()))
	assert.InDelta(t, (3 * time.Hour).Seconds(), value(t, fams, "usersync_file_age_seconds", acmeL...), 60)
	assert.Equal(t, 0.0, value(t, fams, "usersync_feed_stale", acmeL...))
	_, ok := fams["go_goroutines"]
	assert.False(t, ok, "the host's registry holds only what the host and usersync put there")

	code, body = health(t, srv.Addr())
	assert.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, "ok acme/users: last success 2h59m49s ago (limit 26h0m0s)")

	// A day later, nothing succeeded: both feeds are stale.
	clk.t = night.Add(27 * time.Hour)
	code, body = health(t, srv.Addr())
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "stale\n")
	assert.Contains(t, body, "STALE acme/users: last success 26h59m49s ago, at 2026-03-14T02:00:11Z (limit 26h0m0s)")
	assert.Contains(t, body, "STALE globex/users: no successful run in the 27h0m0s since reporting started (limit 26h0m0s)")
	assert.ErrorIs(t, m.Check(), metrics.ErrStale)
	fams = scrape(t, srv.Addr())
	assert.Equal(t, 1.0, value(t, fams, "usersync_feed_stale", acmeL...))

	// A success makes the feed healthy again.
	clk.t = night.Add(27 * time.Hour)
	require.Equal(t, usersync.Succeeded, testruns.New(t, clk.t).Run(globex, testruns.Night{Feed: testruns.Feed(3)}).Status)
	require.Equal(t, usersync.Succeeded, testruns.New(t, clk.t).Run(acme, testruns.Night{Feed: testruns.Feed(3)}).Status)
	code, body = health(t, srv.Addr())
	assert.Equal(t, http.StatusOK, code, body)
	assert.NoError(t, m.Check())
}

// New never uses the global registry; a second Metrics on one registry is
// refused, and one of its own serves the Go and process metrics too.
func TestRegistries(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, err := metrics.New(reg, nil)
	require.NoError(t, err)
	_, err = metrics.New(reg, nil)
	assert.Error(t, err, "usersync's metrics are registered once per registry")

	m, err := metrics.New(nil, nil)
	require.NoError(t, err)
	m.Reporter("", "nightly")
	ctx, cancel := context.WithCancel(t.Context())
	srv, err := metrics.Serve(ctx, "127.0.0.1:0", m.Handler(nil))
	require.NoError(t, err)
	fams := scrape(t, srv.Addr())
	assert.Contains(t, fams, "go_goroutines")
	assert.Contains(t, fams, "usersync_runs_total")
	code, body := health(t, srv.Addr())
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "ok nightly: no successful run yet")

	_, err = metrics.Serve(t.Context(), srv.Addr(), m.Handler(nil))
	assert.Error(t, err, "an address in use fails at once")

	cancel() // the server stops with its context
	m2, srv2, err := metrics.Start(t.Context(), "127.0.0.1:0", nil)
	require.NoError(t, err)
	defer srv2.Close()
	m2.Reporter("acme", "users")
	assert.Contains(t, scrape(t, srv2.Addr()), "usersync_feed_stale", "Start: New and Serve in one")
	assert.Eventually(t, func() bool {
		_, err := http.Get("http://" + srv.Addr() + "/healthz")
		return err != nil
	}, 5*time.Second, 10*time.Millisecond)
}

package metrics_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report/metrics"
)

// A host registers usersync's metrics on its own registry, gives each
// feed's Pipeline a Reporter, and serves /metrics and /healthz.
func Example() {
	now := time.Date(2026, 3, 14, 2, 0, 0, 0, time.UTC)
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, &metrics.Options{StaleAfter: 26 * time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		panic(err)
	}
	rep := m.Reporter("acme", "users") // Pipeline.Reporter, or one of report.Multi's

	// What a Pipeline reports at the end of a run.
	rep.Report(context.Background(), usersync.Event{Kind: usersync.RunFinished, Result: &usersync.Result{
		Status: usersync.Succeeded, Started: now, Finished: now.Add(4 * time.Second), RejectedTotal: 2,
	}})
	fams, _ := reg.Gather()
	for _, f := range fams {
		if f.GetName() == "usersync_rejected_rows_total" {
			fmt.Println(f.GetName(), f.GetMetric()[0].GetCounter().GetValue())
		}
	}

	h := m.Handler(reg) // or: metrics.Serve(ctx, "127.0.0.1:9090", m.Handler(reg))
	now = now.Add(30 * time.Hour)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// usersync_rejected_rows_total 2
	// 503 stale
	// STALE acme/users: last success 29h59m56s ago, at 2026-03-14T02:00:04Z (limit 26h0m0s)
}

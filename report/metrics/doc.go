// Package metrics exports what usersync runs do as Prometheus metrics, and
// serves them with a health check, for Prometheus, Kubernetes probes or an
// uptime check.
//
// A [Metrics] registers its collectors once, on the prometheus.Registerer
// the host gives it (never the global one), and hands out a
// [usersync.Reporter] per feed: [Metrics.Reporter] labels every series of
// that feed with its tenant and feed name, so that one process running the
// syncs of many tenants exports them all on one registry:
//
//	usersync_runs_total{tenant,feed,status}            runs by outcome
//	usersync_changes_total{tenant,feed,kind,outcome}   changes applied or failed, by kind
//	usersync_rejected_rows_total{tenant,feed}          rows the Mapper rejected
//	usersync_run_duration_seconds{tenant,feed}         a histogram of run durations
//	usersync_last_run_timestamp_seconds{tenant,feed}   when the last run finished
//	usersync_last_success_timestamp_seconds{tenant,feed}  when a run last succeeded
//	usersync_last_file_timestamp_seconds{tenant,feed}  modification time of the newest file read
//	usersync_file_age_seconds{tenant,feed}             how old that file is now
//	usersync_feed_stale{tenant,feed}                   1 when the last success is older than the limit
//
// Status values are the [usersync.Status] names with "_" for spaces
// ("succeeded", "partly_failed", "held", "failed", "nothing_to_do",
// "planned"); kinds are the [usersync.ChangeKind] names ("create",
// "update", ...); outcome is "applied" or "failed". A run succeeds when its
// status is Succeeded, rejected rows or not: it applied a file. A night
// without a file ("nothing_to_do") is not a success; it leaves the last
// success where it was, so that a feed that stops coming shows.
//
// [Metrics.Handler] serves /metrics and /healthz, which fails (503) when a
// feed's last success is older than Options.StaleAfter, and [Serve] runs
// it on an address until a context ends:
//
//	m, err := metrics.New(nil, &metrics.Options{StaleAfter: 26 * time.Hour})
//	srv, err := metrics.Serve(ctx, "127.0.0.1:9090", m.Handler(nil))
//
// or, for a command's --metrics-addr flag, [Start], which does both.
//
// # Why client_golang
//
// The metrics are made with github.com/prometheus/client_golang rather
// than OpenTelemetry's metrics SDK with its Prometheus exporter: the job is
// a /metrics page, which client_golang is the reference implementation of,
// with a stable v1 API, a small dependency tree and a Registerer a host
// already has. OpenTelemetry would add its API, SDK and exporter (which
// itself is built on client_golang) and rename series on the way (unit
// suffixes, scope labels). A host that collects with OpenTelemetry can
// still read these metrics: its Prometheus bridge
// (go.opentelemetry.io/contrib/bridges/prometheus) reads any Gatherer.
package metrics

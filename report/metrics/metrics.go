package metrics

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/usersync/usersync"
)

// DefaultStaleAfter is Options.StaleAfter when it is 0: a nightly feed,
// with two hours to spare.
const DefaultStaleAfter = 26 * time.Hour

// DefaultDurationBuckets are the buckets of usersync_run_duration_seconds
// when Options.DurationBuckets is nil: from a second to an hour.
var DefaultDurationBuckets = []float64{1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}

// Options tune a [Metrics]. A nil *Options means the defaults.
type Options struct {
	// StaleAfter is how old a feed's last success may grow before
	// /healthz fails and usersync_feed_stale is 1. Before a feed's first
	// success, its age counts from when its Reporter was made, so that a
	// restart does not fail the check at once. 0 means
	// DefaultStaleAfter.
	StaleAfter time.Duration
	// DurationBuckets are the upper bounds, in seconds, of the run
	// duration histogram; nil means DefaultDurationBuckets.
	DurationBuckets []float64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Metrics holds the collectors of usersync runs, registered on one
// Registerer, and the state of each feed for the health check. Make one
// with [New], then a Reporter per feed with [Metrics.Reporter]. It is safe
// for concurrent use.
type Metrics struct {
	gatherer prometheus.Gatherer // the registry, when it is one
	stale    time.Duration
	now      func() time.Time

	runs        *prometheus.CounterVec
	changes     *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	lastRun     *prometheus.GaugeVec
	lastSuccess *prometheus.GaugeVec
	lastFile    *prometheus.GaugeVec
	fileAge     *prometheus.Desc
	staleDesc   *prometheus.Desc

	mu    sync.Mutex
	feeds map[feedKey]*feedState
}

type feedKey struct{ tenant, feed string }

// String names the feed as "tenant/feed".
func (k feedKey) String() string {
	switch {
	case k.tenant == "":
		return k.feed
	case k.feed == "":
		return k.tenant
	}
	return k.tenant + "/" + k.feed
}

type feedState struct {
	since       time.Time // when its first Reporter was made
	lastSuccess time.Time
	lastFile    time.Time // modification time of the newest file read
}

var labels = []string{"tenant", "feed"}

// New makes the collectors and registers them on reg. A nil reg means a
// registry of New's own, holding the Go runtime and process collectors
// too, which [Metrics.Handler] then serves. New never touches
// prometheus.DefaultRegisterer. It fails if reg already holds usersync's
// metrics: make one Metrics per registry and a Reporter per feed.
func New(reg prometheus.Registerer, opts *Options) (*Metrics, error) {
	if opts == nil {
		opts = &Options{}
	}
	if reg == nil {
		r := prometheus.NewRegistry()
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		reg = r
	}
	m := &Metrics{
		stale: opts.StaleAfter,
		now:   opts.Now,
		feeds: make(map[feedKey]*feedState),
	}
	if m.stale <= 0 {
		m.stale = DefaultStaleAfter
	}
	if m.now == nil {
		m.now = time.Now
	}
	if g, ok := reg.(prometheus.Gatherer); ok {
		m.gatherer = g
	}
	buckets := opts.DurationBuckets
	if buckets == nil {
		buckets = DefaultDurationBuckets
	}
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "usersync_runs_total", Help: "Runs finished, by status.",
	}, append(labels, "status"))
	m.changes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "usersync_changes_total", Help: "Changes the Sink applied or refused, by kind and outcome (applied, failed).",
	}, append(labels, "kind", "outcome"))
	m.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "usersync_rejected_rows_total", Help: "Rows rejected by the Mapper.",
	}, labels)
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "usersync_run_duration_seconds", Help: "How long runs took.", Buckets: buckets,
	}, labels)
	m.lastRun = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "usersync_last_run_timestamp_seconds", Help: "When the last run finished, in Unix seconds.",
	}, labels)
	m.lastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "usersync_last_success_timestamp_seconds", Help: "When a run last succeeded (applied a file), in Unix seconds.",
	}, labels)
	m.lastFile = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "usersync_last_file_timestamp_seconds", Help: "Modification time of the newest file a run read, in Unix seconds.",
	}, labels)
	m.fileAge = prometheus.NewDesc("usersync_file_age_seconds",
		"How old the newest file a run read is now, from its modification time.", labels, nil)
	m.staleDesc = prometheus.NewDesc("usersync_feed_stale",
		"1 when the feed's last success (or, before one, the start of its reporting) is older than the stale limit.", labels, nil)
	for _, c := range []prometheus.Collector{m.runs, m.changes, m.rejected, m.duration, m.lastRun, m.lastSuccess, m.lastFile, (*ages)(m)} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	return m, nil
}

// A Reporter records the runs of one feed. It implements
// [usersync.Reporter]; add it to a Pipeline's Reporters (report.Multi).
type Reporter struct {
	m   *Metrics
	key feedKey
}

var _ usersync.Reporter = (*Reporter)(nil)

// Reporter returns the Reporter of the feed named by tenant and feed, the
// values of the tenant and feed labels (either may be ""). Reporters of
// the same names share their series.
func (m *Metrics) Reporter(tenant, feed string) *Reporter {
	k := feedKey{tenant, feed}
	m.mu.Lock()
	if m.feeds[k] == nil {
		m.feeds[k] = &feedState{since: m.now()}
	}
	m.mu.Unlock()
	// Every status and the rejected rows start at zero, so that rate()
	// and increase() see the first run.
	for _, s := range statuses {
		m.runs.WithLabelValues(tenant, feed, statusLabel(s))
	}
	m.rejected.WithLabelValues(tenant, feed)
	return &Reporter{m: m, key: k}
}

var statuses = []usersync.Status{usersync.Succeeded, usersync.PartlyFailed, usersync.Held, usersync.Failed, usersync.NothingToDo, usersync.Planned}

// statusLabel is the status's name with "_" for spaces.
func statusLabel(s usersync.Status) string { return strings.ReplaceAll(s.String(), " ", "_") }

// Report records e: each applied or failed change, and at the end of a
// run its status, duration, rejected rows, and for a success its time
// and the newest file's. It never fails.
func (r *Reporter) Report(_ context.Context, e usersync.Event) error {
	m, t, f := r.m, r.key.tenant, r.key.feed
	switch e.Kind {
	case usersync.ChangeApplied, usersync.ChangeFailed:
		if e.Change == nil {
			return nil
		}
		outcome := "applied"
		if e.Kind == usersync.ChangeFailed {
			outcome = "failed"
		}
		m.changes.WithLabelValues(t, f, e.Change.Kind.String(), outcome).Inc()
	case usersync.RunFinished:
		if e.Result != nil {
			r.finished(e.Result)
		}
	}
	return nil
}

func (r *Reporter) finished(res *usersync.Result) {
	m, t, f := r.m, r.key.tenant, r.key.feed
	m.runs.WithLabelValues(t, f, statusLabel(res.Status)).Inc()
	m.rejected.WithLabelValues(t, f).Add(float64(res.RejectedTotal))
	if !res.Started.IsZero() && !res.Finished.IsZero() {
		m.duration.WithLabelValues(t, f).Observe(res.Finished.Sub(res.Started).Seconds())
	}
	end := res.Finished
	if end.IsZero() {
		end = m.now()
	}
	m.lastRun.WithLabelValues(t, f).Set(unix(end))
	var newest time.Time
	for i := range res.Files {
		if fr := &res.Files[i]; fr.Err == nil && fr.ModTime.After(newest) {
			newest = fr.ModTime
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.feeds[r.key]
	if !newest.IsZero() && newest.After(st.lastFile) {
		st.lastFile = newest
		m.lastFile.WithLabelValues(t, f).Set(unix(newest))
	}
	if res.Status == usersync.Succeeded {
		st.lastSuccess = end
		m.lastSuccess.WithLabelValues(t, f).Set(unix(end))
	}
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// A FeedHealth is what the health check says of one feed.
type FeedHealth struct {
	Tenant, Feed string
	// LastSuccess is when a run of the feed last succeeded; zero if none
	// did since its Reporter was made.
	LastSuccess time.Time
	// Age is how long ago that was, or, before a success, how long ago
	// the Reporter was made.
	Age time.Duration
	// Stale is set when Age is over Options.StaleAfter.
	Stale bool
}

// Health returns the health of each feed, sorted by tenant and feed.
func (m *Metrics) Health() []FeedHealth {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	hs := make([]FeedHealth, 0, len(m.feeds))
	for k, st := range m.feeds {
		ref := st.lastSuccess
		if ref.IsZero() {
			ref = st.since
		}
		age := max(now.Sub(ref), 0)
		hs = append(hs, FeedHealth{Tenant: k.tenant, Feed: k.feed, LastSuccess: st.lastSuccess, Age: age, Stale: age > m.stale})
	}
	sortHealth(hs)
	return hs
}

// ErrStale is what [Metrics.Check] wraps when a feed is stale.
var ErrStale = errors.New("feed stale")

// Check returns nil when no feed is stale, and otherwise an error
// wrapping ErrStale that names the stale feeds.
func (m *Metrics) Check() error {
	var stale []string
	for _, h := range m.Health() {
		if h.Stale {
			stale = append(stale, describe(h, m.stale))
		}
	}
	if len(stale) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrStale, strings.Join(stale, "; "))
}

// describe says one feed's health in words.
func describe(h FeedHealth, limit time.Duration) string {
	name := feedKey{h.Tenant, h.Feed}.String()
	if name == "" {
		name = "feed"
	}
	age := h.Age.Round(time.Second)
	switch {
	case h.LastSuccess.IsZero() && h.Stale:
		return fmt.Sprintf("%s: no successful run in the %s since reporting started (limit %s)", name, age, limit)
	case h.LastSuccess.IsZero():
		return fmt.Sprintf("%s: no successful run yet, reporting for %s (limit %s)", name, age, limit)
	case h.Stale:
		return fmt.Sprintf("%s: last success %s ago, at %s (limit %s)", name, age, h.LastSuccess.UTC().Format(time.RFC3339), limit)
	}
	return fmt.Sprintf("%s: last success %s ago (limit %s)", name, age, limit)
}

// ages collects the gauges computed at each scrape: file age and
// staleness.
type ages Metrics

func (a *ages) Describe(ch chan<- *prometheus.Desc) {
	ch <- a.fileAge
	ch <- a.staleDesc
}

func (a *ages) Collect(ch chan<- prometheus.Metric) {
	m := (*Metrics)(a)
	now := m.now()
	for _, h := range m.Health() {
		stale := 0.0
		if h.Stale {
			stale = 1
		}
		ch <- prometheus.MustNewConstMetric(m.staleDesc, prometheus.GaugeValue, stale, h.Tenant, h.Feed)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, st := range m.feeds {
		if !st.lastFile.IsZero() {
			ch <- prometheus.MustNewConstMetric(m.fileAge, prometheus.GaugeValue, max(now.Sub(st.lastFile), 0).Seconds(), k.tenant, k.feed)
		}
	}
}

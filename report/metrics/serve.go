package metrics

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func sortHealth(hs []FeedHealth) {
	slices.SortFunc(hs, func(a, b FeedHealth) int {
		if c := strings.Compare(a.Tenant, b.Tenant); c != 0 {
			return c
		}
		return strings.Compare(a.Feed, b.Feed)
	})
}

// Handler serves /metrics, the metrics of g in Prometheus's formats, and
// /healthz (see [Metrics.HealthHandler]). A nil g means the registry given
// to New (or made by it); Handler panics if that is not a
// prometheus.Gatherer, as a bare Registerer is not.
func (m *Metrics) Handler(g prometheus.Gatherer) http.Handler {
	if g == nil {
		g = m.gatherer
	}
	if g == nil {
		panic("metrics: Handler needs a Gatherer: the Registerer given to New is not one")
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.Handle("GET /healthz", m.HealthHandler())
	return mux
}

// HealthHandler answers 200 and a line per feed when no feed is stale,
// and 503 naming the stale feeds when one is: a Kubernetes liveness or
// readiness probe, or an uptime check, fails when a feed's last success is
// older than Options.StaleAfter. The body is plain text.
func (m *Metrics) HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hs := m.Health()
		var b strings.Builder
		code, head := http.StatusOK, "ok"
		for _, h := range hs {
			if h.Stale {
				code, head = http.StatusServiceUnavailable, "stale"
			}
		}
		if len(hs) == 0 {
			head = "ok: no feed reports yet"
		}
		b.WriteString(head + "\n")
		for _, h := range hs {
			mark := "ok"
			if h.Stale {
				mark = "STALE"
			}
			fmt.Fprintf(&b, "%s %s\n", mark, describe(h, m.stale))
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		w.Write([]byte(b.String()))
	})
}

// A Server serves a handler on an address until its context ends or it
// is closed. Make one with [Serve].
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Serve listens on addr (such as "127.0.0.1:9090"; port 0 picks one) and
// serves h there until ctx ends or Close is called. It returns once the
// address is bound, so that an address in use fails at once. Metrics are
// not secret but say what a host syncs: bind a loopback or internal
// address.
func Serve(ctx context.Context, addr string, h http.Handler) (*Server, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	s := &Server{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       time.Minute,
		},
		ln: ln,
	}
	stop := context.AfterFunc(ctx, func() { s.Close() })
	go func() {
		s.srv.Serve(ln) // returns http.ErrServerClosed once closed
		stop()
	}()
	return s, nil
}

// Start is what a command such as "usersync watch --metrics-addr" needs:
// a Metrics on a registry of its own (with the Go and process
// collectors), served on addr until ctx ends. Give each feed's Pipeline
// m.Reporter(tenant, feed).
func Start(ctx context.Context, addr string, opts *Options) (*Metrics, *Server, error) {
	m, err := New(nil, opts)
	if err != nil {
		return nil, nil, err
	}
	srv, err := Serve(ctx, addr, m.Handler(nil))
	if err != nil {
		return nil, nil, err
	}
	return m, srv, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server, letting requests in flight finish for up to
// five seconds.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

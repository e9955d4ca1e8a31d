package ftpsource_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/ftptest"
	"github.com/usersync/usersync/source/ftpsource"
	"github.com/usersync/usersync/source/sourcetest"
)

var quiet = slog.New(slog.DiscardHandler)

// fastOptions fail fast, for tests.
func fastOptions() *ftpsource.Options {
	return &ftpsource.Options{
		ConnectTimeout: 5 * time.Second,
		Timeout:        5 * time.Second,
		RetryWait:      10 * time.Millisecond,
		Logger:         quiet,
	}
}

// config logs in to srv's "in" folder, trusting its certificate as a CA.
func config(srv *ftptest.Server) ftpsource.Config {
	return ftpsource.Config{
		Host:     srv.Addr,
		User:     srv.User(),
		Password: srv.Password(),
		Dir:      "in",
		RootCAs:  srv.CertPool(),
	}
}

func dial(t testing.TB, cfg ftpsource.Config, opts *ftpsource.Options) *ftpsource.Source {
	t.Helper()
	if opts == nil {
		opts = fastOptions()
	}
	s, err := ftpsource.Dial(context.Background(), cfg, opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// harness runs the conformance suite on a Source over an in-process
// server's "in" folder.
type harness struct {
	srv  *ftptest.Server
	cfg  ftpsource.Config
	opts *ftpsource.Options
}

func (h *harness) MakeSource(ctx context.Context) (usersync.Source, error) {
	return ftpsource.Dial(ctx, h.cfg, h.opts)
}

func (h *harness) Put(_ context.Context, name string, data []byte, modTime time.Time) error {
	return h.srv.Put("in/"+name, data, modTime)
}

func (h *harness) Close() {}

func conformance(t *testing.T, srvOpts *ftptest.Options, cfg func(*ftptest.Server) ftpsource.Config, opts *ftpsource.Options) {
	sourcetest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (sourcetest.Harness, error) {
		srv := ftptest.NewServer(t, srvOpts)
		if err := srv.Put("in/.keep", nil, time.Now()); err != nil {
			return nil, err
		}
		return &harness{srv: srv, cfg: cfg(srv), opts: opts}, nil
	})
}

// Explicit TLS, the server's certificate trusted as a CA, MLSD listings,
// session reuse required.
func TestConformance(t *testing.T) {
	conformance(t, nil, config, fastOptions())
}

func TestConformanceImplicit(t *testing.T) {
	conformance(t, &ftptest.Options{Mode: ftptest.Implicit}, func(srv *ftptest.Server) ftpsource.Config {
		cfg := config(srv)
		cfg.TLS = ftpsource.Implicit
		cfg.RootCAs, cfg.CertificateSHA256 = nil, []string{srv.Fingerprint()}
		return cfg
	}, fastOptions())
}

// Plain FTP, chosen; LIST only, as vsftpd lists, so times come from MDTM;
// one connection, so concurrent readers wait their turn.
func TestConformancePlainListOneConnection(t *testing.T) {
	opts := fastOptions()
	opts.MaxConnections = 1
	conformance(t, &ftptest.Options{Mode: ftptest.Plain, NoMLSD: true}, func(srv *ftptest.Server) ftpsource.Config {
		cfg := config(srv)
		cfg.TLS, cfg.RootCAs = ftpsource.Plain, nil
		return cfg
	}, opts)
}

// readAll opens and reads a whole file; an error from Close counts as a
// failed read, as the Source contract says.
func readAll(ctx context.Context, src usersync.Source, name string) ([]byte, error) {
	rc, err := src.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return data, err
}

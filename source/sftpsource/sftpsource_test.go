package sftpsource_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/sftptest"
	"github.com/usersync/usersync/source/sftpsource"
	"github.com/usersync/usersync/source/sourcetest"
)

var quiet = slog.New(slog.DiscardHandler)

// fastOptions fail fast, for tests.
func fastOptions() *sftpsource.Options {
	return &sftpsource.Options{
		ConnectTimeout: 5 * time.Second,
		Timeout:        5 * time.Second,
		RetryWait:      10 * time.Millisecond,
		Logger:         quiet,
	}
}

// config logs in to srv with its password, trusting its known_hosts.
func config(t testing.TB, srv *sftptest.Server) sftpsource.Config {
	return sftpsource.Config{
		Addr:           srv.Addr,
		User:           srv.User(),
		Password:       srv.Password(),
		Folder:         "in",
		KnownHostsFile: srv.KnownHosts(t),
	}
}

func dial(t testing.TB, cfg sftpsource.Config, opts *sftpsource.Options) *sftpsource.Source {
	t.Helper()
	if opts == nil {
		opts = fastOptions()
	}
	s, err := sftpsource.Dial(context.Background(), cfg, opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// harness runs the conformance suite on a Source over an in-process
// server's "in" folder.
type harness struct {
	srv  *sftptest.Server
	cfg  sftpsource.Config
	opts *sftpsource.Options
}

func (h *harness) MakeSource(ctx context.Context) (usersync.Source, error) {
	return sftpsource.Dial(ctx, h.cfg, h.opts)
}

func (h *harness) Put(_ context.Context, name string, data []byte, modTime time.Time) error {
	return h.srv.Put("in/"+name, data, modTime)
}

func (h *harness) Close() {}

func conformance(t *testing.T, srvOpts *sftptest.Options, opts *sftpsource.Options) {
	sourcetest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (sourcetest.Harness, error) {
		srv := sftptest.NewServer(t, srvOpts)
		if err := srv.Put("in/.keep", nil, time.Now()); err != nil {
			return nil, err
		}
		return &harness{srv: srv, cfg: config(t, srv), opts: opts}, nil
	})
}

func TestConformance(t *testing.T) {
	conformance(t, nil, fastOptions())
}

// A server that answers reads with less than the client asks for, as one
// with a smaller maximum packet does: every byte must still arrive, in
// place (pkg/sftp issue 658).
func TestConformanceShortReads(t *testing.T) {
	conformance(t, &sftptest.Options{MaxRead: 8 << 10}, fastOptions())
}

func TestConformanceLargePackets(t *testing.T) {
	opts := fastOptions()
	opts.MaxPacket = 128 << 10
	conformance(t, &sftptest.Options{MaxRead: 32 << 10}, opts)
}

func TestConformanceOneReadAtATime(t *testing.T) {
	opts := fastOptions()
	opts.Concurrency = 1
	conformance(t, nil, opts)
}

package ftpsource

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/checkstep"
	"github.com/usersync/usersync/source"
)

// CheckConfig checks settings before there is a Source, as a "Check
// connection" button does before an administrator saves them: the same
// steps as [Source.Check], after a first "configuration" step when cfg
// cannot work at all (no host, no user, Dir and File both set, a
// fingerprint that does not parse).
func CheckConfig(ctx context.Context, cfg Config, opts *Options) []usersync.CheckResult {
	s, err := newSource(cfg, opts)
	if err != nil {
		return []usersync.CheckResult{{Name: "configuration", Err: err}}
	}
	defer s.Close()
	return s.Check(ctx)
}

// DialCheck checks cfg step by step as [CheckConfig] does, and when every
// step passed returns a Source whose pool holds the very connection the
// check made, for what comes next (listing the folder, reading a file's
// header line): a "Check connection" button that goes on to show the
// files logs in once, so that a wrong password is sent once and never
// twice, towards a server that locks accounts out after a few failures.
// The Source is nil when a step failed; otherwise the caller must Close
// it.
func DialCheck(ctx context.Context, cfg Config, opts *Options) (*Source, []usersync.CheckResult) {
	s, err := newSource(cfg, opts)
	if err != nil {
		return nil, []usersync.CheckResult{{Name: "configuration", Err: err}}
	}
	results, c := s.check(ctx, true)
	if c == nil {
		s.Close()
		return nil, results
	}
	s.mu.Lock()
	c.idled = time.Now()
	s.idle = append(s.idle, c)
	s.mu.Unlock()
	return s, results
}

// Check checks the setup step by step on a new connection, for an
// administrator, each step its own result: connecting to the server, TLS
// and the server's certificate, logging in, and the folder: changing to
// it, and listing it over a data connection (how many files; whether the
// data connection resumed the TLS session; names refused). A step that
// could not run because an earlier one failed says so. Check changes
// nothing, and does not retry.
func (s *Source) Check(ctx context.Context) []usersync.CheckResult {
	results, _ := s.check(ctx, false)
	return results
}

// check is Check; with keep, it returns the connection it made when every
// step passed, instead of closing it.
func (s *Source) check(ctx context.Context, keep bool) ([]usersync.CheckResult, *conn) {
	d := s.d
	folder := usersync.CheckResult{Name: "folder " + s.where()}
	if s.file != "" {
		folder.Name = "file " + d.cfg.File
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		folder.Err = source.ErrClosed
		return []usersync.CheckResult{folder}, nil
	}
	results := []usersync.CheckResult{
		{Name: "connect to " + d.addr},
		{Name: "TLS (" + d.cfg.TLS.String() + ")"},
		{Name: "log in as " + d.cfg.User},
		folder,
	}
	c, st, err := d.dialOnce(ctx)
	kept := false
	if c != nil {
		defer func() {
			if !kept {
				c.quit()
			}
		}()
	}
	st.mu.Lock()
	st.tls.mu.Lock()
	steps := []checkstep.Stage{
		{OK: st.tcp, Detail: "reachable"},
		{OK: d.cfg.TLS == Plain || st.tls.handshake, Detail: s.describeTLS(&st.tls)},
		{OK: st.login, Detail: "logged in"},
	}
	st.tls.mu.Unlock()
	inFolder := st.folder
	st.mu.Unlock()
	checkstep.Fill(results, steps, err)
	if d.cfg.TLS == Plain && results[1].OK() {
		results[1].Warning = "plain FTP: the password and the files cross the network unencrypted; use TLS if the server offers it"
	}
	switch {
	case c != nil:
		results[3] = s.checkFolder(ctx, c, &st.tls, results[3])
	case !inFolder && results[2].Err != nil:
		results[3].Err = checkstep.NotChecked(results[2])
	default:
		results[3].Err = err
	}
	if c == nil || !keep || checkstep.Failed(results) {
		return results, nil
	}
	kept = true
	return results, c
}

// describeTLS says what protects the connection.
func (s *Source) describeTLS(seen *tlsSeen) string {
	if s.d.cfg.TLS == Plain {
		return "NOT encrypted (Config.TLS is Plain): the password and the files cross the network in clear"
	}
	return fmt.Sprintf("%s, %s", tls.VersionName(seen.version), s.d.trust.describe(seen.cert))
}

// checkFolder lists the folder on c, which opens a data connection: the
// step where passive mode behind NAT and TLS session reuse fail.
func (s *Source) checkFolder(ctx context.Context, c *conn, seen *tlsSeen, r usersync.CheckResult) usersync.CheckResult {
	var l listing
	r.Err = c.run(ctx, func() (err error) {
		l, err = s.readDir(c)
		return err
	})
	files := l.files
	if r.Err != nil {
		r.Err = fmt.Errorf("listing over a data connection (passive mode): %w", r.Err)
		return r
	}
	if s.file != "" {
		r.Detail = "not there yet"
		if len(files) == 1 {
			r.Detail = fmt.Sprintf("there, %d bytes", files[0].Size)
		}
	} else {
		r.Detail = fmt.Sprintf("readable; files: %d", len(files))
	}
	seen.mu.Lock()
	if seen.dataConns > 0 {
		r.Detail += "; data connection resumed the TLS session"
		if seen.dataResumed < seen.dataConns {
			r.Detail = strings.TrimSuffix(r.Detail, "resumed the TLS session") + "did NOT resume the TLS session (servers that require session reuse refuse it)"
		}
	}
	seen.mu.Unlock()
	r.Detail += checkstep.Refused(l.refused)
	if len(l.unlisted) > 0 {
		r.Detail += fmt.Sprintf("; listed but not on the server, left out (a file name holding a line break forges entries in a listing): %q", l.unlisted)
	}
	return r
}

package sftpsource

import (
	"context"
	"errors"
	"fmt"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/checkstep"
	"github.com/usersync/usersync/source"
)

// CheckConfig checks settings before there is a Source, as a "Check
// connection" button does before an administrator saves them: the same
// steps as [Source.Check], after a first "configuration" step when cfg
// cannot work at all (no credentials, a key that does not parse, a wrong
// passphrase, no way to verify the server).
func CheckConfig(ctx context.Context, cfg Config, opts *Options) []usersync.CheckResult {
	o := opts.withDefaults()
	d, err := newDialer(cfg, o)
	if err != nil {
		return []usersync.CheckResult{{Name: "configuration", Err: err}}
	}
	s := newSource(cfg.Folder, o)
	s.dialer = d
	defer s.Close()
	return s.Check(ctx)
}

// DialCheck checks cfg step by step as [CheckConfig] does, and when every
// step passed returns a Source over the very connection the check made,
// for what comes next (listing the folder, reading a file's header line):
// a "Check connection" button that goes on to show the files logs in once,
// so that a wrong password is sent once and never twice, towards a server
// that locks accounts out after a few failures. The Source is nil when a
// step failed; otherwise the caller must Close it.
func DialCheck(ctx context.Context, cfg Config, opts *Options) (*Source, []usersync.CheckResult) {
	o := opts.withDefaults()
	d, err := newDialer(cfg, o)
	if err != nil {
		return nil, []usersync.CheckResult{{Name: "configuration", Err: err}}
	}
	s := newSource(cfg.Folder, o)
	s.dialer = d
	results, c := s.check(ctx, true)
	if c == nil {
		s.Close()
		return nil, results
	}
	s.mu.Lock()
	s.cur = c
	s.mu.Unlock()
	return s, results
}

// Check checks the setup step by step on a new connection, for an
// administrator, each step its own result: connecting to the server,
// trusting its host key, logging in, and listing the folder (how many
// files; names refused). A step that could not run because an earlier
// one failed says so. Check changes nothing, and does not retry.
func (s *Source) Check(ctx context.Context) []usersync.CheckResult {
	results, _ := s.check(ctx, false)
	return results
}

// check is Check; with keep, it returns the connection it made when every
// step passed, instead of closing it.
func (s *Source) check(ctx context.Context, keep bool) ([]usersync.CheckResult, *conn) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	folder := usersync.CheckResult{Name: "folder " + s.folder}
	if closed {
		folder.Err = source.ErrClosed
		return []usersync.CheckResult{folder}, nil
	}
	if s.dialer == nil {
		return s.checkClient(ctx, folder), nil
	}
	d := s.dialer
	results := []usersync.CheckResult{
		{Name: "connect to " + d.addr},
		{Name: "host key of " + d.addr},
		{Name: "log in as " + d.cfg.User},
		folder,
	}
	c, st, err := d.dialOnce(ctx)
	kept := false
	if c != nil {
		defer func() {
			if !kept {
				c.kill(errors.New("check done"))
			}
		}()
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	steps := []checkstep.Stage{
		{OK: st.tcp, Detail: "reachable"},
		{OK: st.hostKeyOK, Detail: d.keys.describe(st.key)},
		{OK: st.login, Detail: "logged in"},
	}
	checkstep.Fill(results, steps, err)
	if st.hostKeyOK && d.keys.insecure && len(d.keys.pins) == 0 && d.keys.db == nil {
		results[1].Err = ErrHostKeyNotVerified
	}
	if c == nil {
		results[3].Err = err
		if !st.login {
			results[3].Err = checkstep.NotChecked(results[2])
		}
		return results, nil
	}
	results[3] = s.checkFolder(ctx, c, results[3])
	if !keep || checkstep.Failed(results) {
		return results, nil
	}
	kept = true
	return results, c
}

// describe says how a trusted key was recognized.
func (h *hostKeys) describe(key string) string {
	switch {
	case h.db != nil:
		return key + ", listed in " + h.file
	case len(h.pins) > 0:
		return key + ", pinned"
	}
	return key + ", NOT verified"
}

// checkClient checks a Source made with New: is its client alive, and can
// it list the folder.
func (s *Source) checkClient(ctx context.Context, folder usersync.CheckResult) []usersync.CheckResult {
	conn := usersync.CheckResult{Name: "connection"}
	c, err := s.get(ctx)
	if err != nil {
		conn.Err = err
		folder.Err = checkstep.NotChecked(conn)
		return []usersync.CheckResult{conn, folder}
	}
	conn.Detail = "open"
	return []usersync.CheckResult{conn, s.checkFolder(ctx, c, folder)}
}

func (s *Source) checkFolder(ctx context.Context, c *conn, r usersync.CheckResult) usersync.CheckResult {
	var files []usersync.FileInfo
	var refused []string
	r.Err = c.run(ctx, s.opts.Timeout, "list "+s.folder, func() (err error) {
		files, refused, err = s.readDir(c)
		return err
	})
	if r.Err != nil {
		return r
	}
	r.Detail = fmt.Sprintf("readable; files: %d", len(files))
	r.Detail += checkstep.Refused(refused)
	return r
}

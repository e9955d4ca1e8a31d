package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/decrypt/pgpdecrypt"
	"github.com/usersync/usersync/internal/checkstep"
	"github.com/usersync/usersync/report/history"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/ftpsource"
	"github.com/usersync/usersync/source/sftpsource"
)

// A step is one line of check's report.
type step struct {
	part                 string   // "source", "file", "decryption", "mapping", "sink", "email"
	usersync.CheckResult          // a Warning means the step passed, with something to fix
	skip                 bool     // the step could not run, because an earlier one failed
	preview              *preview // the first records, for a first row that maps
}

func (s *step) result() string {
	switch {
	case s.skip:
		return "skip"
	case s.Err != nil:
		return "fail"
	case s.Warning != "":
		return "warn"
	}
	return "pass"
}

// checks collects the steps of a check.
type checks []step

func (c *checks) add(part string, rs ...usersync.CheckResult) {
	for _, r := range rs {
		*c = append(*c, step{part: part, CheckResult: r})
	}
}

func (c *checks) skip(part, name, why string) {
	*c = append(*c, step{part: part, CheckResult: usersync.CheckResult{Name: name, Detail: "not checked: " + why}, skip: true})
}

func (c *checks) warn(part, name, detail, warning string) {
	*c = append(*c, step{part: part, CheckResult: usersync.CheckResult{Name: name, Detail: detail, Warning: warning}})
}

func (c checks) failed() bool {
	for _, s := range c {
		if s.Err != nil {
			return true
		}
	}
	return false
}

func joinDetail(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}

// cmdCheck checks the setup step by step, as an administrator's "Check
// connection" button does, and changes nothing: the connection, the host
// key, the login, the folder and the expected file; the decryption keys and
// whether the file decrypts; whether its header line maps; the directory's
// database; the SMTP server.
func checkCommand(a *app) *cobra.Command {
	return a.do(&cobra.Command{
		Use:   "check",
		Short: "Check the setup step by step, changing nothing",
		Long: `check checks the setup step by step, as an administrator's "Check connection"
button does, and changes nothing: the connection, the host key or certificate,
the login, the folder and the file waiting there; the decryption keys and
whether the file decrypts; whether its header line maps and its first row is
accepted; the user database; the SMTP server; the schedule.

Each step passes, warns (it passed, with something to fix) or fails. The exit
code is 0 when no step failed, 5 when one did.`,
		Example: `  usersync -c acme.yaml check
  usersync -c acme.yaml check --json   # for monitoring: one JSON document`,
		Args: noArgs,
	}, func(ctx context.Context, _ []string) int {
		if err := a.load(); err != nil {
			return a.fail(err)
		}
		return a.check(ctx)
	})
}

// check runs the checks and prints them.
func (a *app) check(ctx context.Context) int {
	var cs checks
	cs.add("config", usersync.CheckResult{Name: a.configPath, Detail: a.describeConfig()})
	picker, done := a.checkSource(ctx, &cs)
	defer done()
	dec := a.checkDecryption(ctx, &cs)
	a.checkFiles(ctx, &cs, picker, dec)
	a.checkSink(ctx, &cs)
	a.checkEmail(ctx, &cs)
	a.checkSchedule(&cs)
	return a.printChecks(cs)
}

// describeConfig says in one line what the config sets up.
func (a *app) describeConfig() string {
	c := a.cfg
	parts := []string{c.Source.Kind() + " source"}
	if c.Decrypt != nil {
		parts = append(parts, "PGP decryption")
	}
	sink := "SQLite user database"
	if c.Sink.Postgres != nil {
		sink = "PostgreSQL user database"
	}
	parts = append(parts, sink, c.Policy.Describe())
	if c.Reports.Email != nil {
		parts = append(parts, fmt.Sprintf("email to %d recipients", len(c.Reports.Email.To)))
	}
	return strings.Join(parts, ", ")
}

// checkSource checks the source and the expected file, and returns the
// Picker for the file checks (nil if the source cannot be reached) and what
// closes it. A server is logged in to once: the steps of the check are
// those of the connection the files are then read on.
func (a *app) checkSource(ctx context.Context, cs *checks) (*source.Picker, func()) {
	nop := func() {}
	src, steps := a.openForCheck(ctx)
	cs.add("source", steps...)
	if src == nil {
		cs.skip("source", "expected file", "the source could not be reached")
		return nil, nop
	}
	picker, err := a.pickup(src, &usersync.MemStore{})
	if err != nil {
		src.Close()
		cs.add("source", usersync.CheckResult{Name: "pickup rules", Err: err})
		return nil, nop
	}
	a.checkExpected(ctx, cs, picker)
	return picker, func() { picker.Close() }
}

// openForCheck opens the source for check, without retrying, and returns
// the steps that say how it went: for a server, connecting, its host key
// or certificate, logging in, the folder. The Source is nil when a step
// failed.
func (a *app) openForCheck(ctx context.Context) (usersync.Source, []usersync.CheckResult) {
	switch s := &a.cfg.Source; {
	case s.SFTP != nil:
		cfg, opts := a.sftpConfig(false)
		src, rs := sftpsource.DialCheck(ctx, cfg, opts)
		if src == nil {
			return nil, rs
		}
		return src, rs
	case s.FTP != nil:
		cfg, opts := a.ftpConfig(false)
		src, rs := ftpsource.DialCheck(ctx, cfg, opts)
		if src == nil {
			return nil, rs
		}
		return src, rs
	}
	src, err := a.transport(false)
	if err != nil {
		return nil, []usersync.CheckResult{{Name: "folder " + string(a.cfg.Source.Local.Folder), Err: err}}
	}
	var rs []usersync.CheckResult
	if ch, ok := src.(usersync.Checker); ok {
		rs = ch.Check(ctx)
	}
	return src, rs
}

// checkExpected checks that a file is waiting. An empty folder passes when
// the last run that applied a file is within the stale-feed limit (the
// file was archived or deleted after it, as after any good night), and
// fails when it is older, or when no run has applied one yet.
func (a *app) checkExpected(ctx context.Context, cs *checks, picker *source.Picker) {
	pattern := a.cfg.Source.Pattern
	if pattern == "" {
		pattern = "*"
	}
	r := usersync.CheckResult{Name: "expected file " + pattern}
	ready, waiting, err := picker.Ready(ctx)
	switch {
	case err != nil:
		r.Err = err
	case len(ready)+len(waiting) > 0:
		var parts []string
		for _, f := range ready {
			parts = append(parts, fmt.Sprintf("%s (%d bytes): ready", f.Name, f.Size))
		}
		for _, w := range waiting {
			parts = append(parts, fmt.Sprintf("%s (%d bytes): waiting, %s", w.Name, w.Size, w.Reason))
		}
		r.Detail = strings.Join(parts, "; ")
	default:
		r = a.checkNoFile(ctx, r, time.Now())
	}
	cs.add("source", r)
}

// checkNoFile is the expected-file step when no file is waiting: it looks
// up in the history when a run last applied a file.
func (a *app) checkNoFile(ctx context.Context, r usersync.CheckResult, now time.Time) usersync.CheckResult {
	last, file, err := a.lastApplied(ctx)
	switch {
	case err != nil:
		r.Err = fmt.Errorf("no file waiting, and the history could not tell when a file was last applied: %w", err)
	case last.IsZero():
		r.Err = fmt.Errorf("no file waiting, and no run has applied one yet: %w", fs.ErrNotExist)
	case !a.cfg.Reports.StaleOff && now.Sub(last) > a.staleWindow():
		r.Err = fmt.Errorf("no file waiting; last applied %s (%s), %s ago: over the stale-feed limit of %s (reports.stale_after)",
			last.Local().Format("2006-01-02 15:04 MST"), file, roundAge(now.Sub(last)), a.staleWindow())
	default:
		r.Detail = fmt.Sprintf("no file waiting; last applied %s (%s)", last.Local().Format("2006-01-02 15:04 MST"), file)
	}
	return r
}

// lastApplied returns when the last run that applied a new file started,
// and the file, from the history; zero if there is none, or no history.
func (a *app) lastApplied(ctx context.Context) (time.Time, string, error) {
	if h := a.cfg.Reports.History; h != nil && h.Disabled {
		return time.Time{}, "", nil
	}
	store, done, err := a.openHistory(ctx)
	if err != nil || store == nil {
		return time.Time{}, "", err
	}
	defer done()
	entries, err := store.Query(ctx, history.Query{
		Name: a.cfg.Name, Statuses: []usersync.Status{usersync.Succeeded, usersync.PartlyFailed},
	})
	if err != nil {
		return time.Time{}, "", err
	}
	for _, e := range entries { // newest first
		for _, f := range e.Summary.Files {
			if !f.AlreadyApplied {
				at := e.Summary.Finished
				if at.IsZero() {
					at = e.Summary.Started
				}
				return at, f.Name, nil
			}
		}
	}
	return time.Time{}, "", nil
}

// roundAge rounds an age for a message: to the hour past a day, the minute
// past an hour.
func roundAge(d time.Duration) time.Duration {
	switch {
	case d > 24*time.Hour:
		return d.Round(time.Hour)
	case d > time.Hour:
		return d.Round(time.Minute)
	}
	return d.Round(time.Second)
}

// checkDecryption checks each keyring, and returns the Decryptor for the
// file checks (nil if there is none, or it cannot be made).
func (a *app) checkDecryption(ctx context.Context, cs *checks) usersync.Decryptor {
	if a.cfg.Decrypt == nil {
		return nil
	}
	p := a.cfg.Decrypt.PGP
	opts := &pgpdecrypt.Options{ExpiryWarning: p.ExpiryWarning.D()}
	for i := range p.Keys {
		k := &p.Keys[i]
		rs := pgpdecrypt.CheckKeys(bytes.NewReader(k.Data()), []byte(k.Passphrase.Value()), opts)
		for j := range rs {
			rs[j].Name = fmt.Sprintf("%s: %s", k.File, rs[j].Name)
		}
		cs.add("decryption", rs...)
	}
	for i, data := range p.SignerKeys() {
		rs := pgpdecrypt.CheckKeys(bytes.NewReader(data), nil, opts)
		for j := range rs {
			rs[j].Name = fmt.Sprintf("signer %s: %s", p.Signers[i], rs[j].Name)
		}
		cs.add("decryption", rs...)
	}
	dec, err := a.decryptor()
	if err != nil {
		cs.add("decryption", usersync.CheckResult{Name: "decryptor", Err: err})
		return nil
	}
	return dec
}

// checkFiles checks that each file there decrypts and that its header line
// maps, and reads its first row.
func (a *app) checkFiles(ctx context.Context, cs *checks, picker *source.Picker, dec usersync.Decryptor) {
	if picker == nil {
		cs.skip("mapping", "header line", "the source could not be checked")
		return
	}
	ready, waiting, err := picker.Ready(ctx)
	if err != nil {
		cs.skip("mapping", "header line", "the folder could not be listed")
		return
	}
	files := ready
	for _, w := range waiting {
		files = append(files, w.FileInfo)
	}
	if len(files) == 0 {
		cs.skip("mapping", "header line", "no file to read")
		return
	}
	if a.cfg.Decrypt != nil && dec == nil {
		cs.skip("mapping", "header line", "the decryption key could not be loaded")
		return
	}
	if bm, ok := a.cfg.Mapper().(usersync.BundleMapper); ok {
		a.checkBundle(ctx, cs, picker, dec, files, bm) // check_bundle.go
		return
	}
	for _, f := range files {
		a.checkFile(ctx, cs, picker, dec, f)
	}
}

// checkFile opens one file, unpacks and decrypts it if need be, as a run
// does (check_unpack.go), and maps the header line and first rows of each
// plain file found: the file itself, the content of users.csv.gz, each
// file of a zip. It reads no further: check must stay quick on a large
// file, and a run verifies the whole file anyway.
func (a *app) checkFile(ctx context.Context, cs *checks, picker *source.Picker, dec usersync.Decryptor, f usersync.FileInfo) {
	rc, err := picker.Open(ctx, f.Name)
	if err != nil {
		cs.add("file", usersync.CheckResult{Name: "open " + f.Name, Err: err})
		return
	}
	defer rc.Close()
	l := a.layers(ctx, cs, dec, false, func(r io.Reader, f usersync.FileInfo, m usersync.Mapper) bool {
		a.checkMapping(cs, r, f, m)
		return true
	})
	l.open(rc, f, layerChain{mapper: a.cfg.Mapper()})
}

// checkMapping maps the header line and the first rows of r, the plain
// content of file f.
func (a *app) checkMapping(cs *checks, r io.Reader, f usersync.FileInfo, m usersync.Mapper) {
	rr, err := m.NewReader(r, f)
	if err != nil {
		cs.add("mapping", usersync.CheckResult{Name: "header line of " + f.Name, Err: err})
		return
	}
	if c, ok := rr.(io.Closer); ok {
		defer c.Close() // a workbook's temporary files (csvmap/xlsx), a CSV reader's rows read ahead
	}
	name := "header line of " + f.Name
	var detail string
	var warnings []string
	if fr, ok := rr.(usersync.FormatReader); ok {
		fm := fr.Format()
		detail = fmt.Sprintf("%s, %q-separated, columns: %s", fm.Encoding, string(fm.Delimiter), strings.Join(fm.Columns, ", "))
		if fm.Delimiter == 0 { // a workbook
			detail = fmt.Sprintf("%s, columns: %s", fm.Encoding, strings.Join(fm.Columns, ", "))
		}
		warnings = fm.Warnings
	}
	if len(warnings) > 0 {
		cs.warn("mapping", name, detail, strings.Join(warnings, "; "))
	} else {
		cs.add("mapping", usersync.CheckResult{Name: name, Detail: detail})
	}
	a.checkFirstRow(cs, rr, f.Name)
}

// sampleRows is how many rows check reads when the first is rejected, to
// tell a bad row from a mapping that rejects every row.
const sampleRows = 20

// checkFirstRow maps the first row. A rejected first row is a warning when
// one of the next few rows maps (that row will not sync; the others will),
// and a failure when none does: the mapping is wrong, and a run would
// reject every row.
func (a *app) checkFirstRow(cs *checks, rr usersync.RecordReader, file string) {
	name := "first row of " + file
	rec, err := rr.Read()
	var re *usersync.RowError
	switch {
	case err == nil:
		p := readPreview(rr, rec)
		detail := fmt.Sprintf("maps: key %q, %d attributes; the first %d records as mapped:", rec.Key, rec.Attrs.Len(), len(p.Rows))
		if p.OutOfScope > 0 {
			rows := "rows"
			if p.OutOfScope == 1 {
				rows = "row"
			}
			detail = fmt.Sprintf("maps: key %q, %d attributes; %d %s out of scope; the first %d records as mapped:",
				rec.Key, rec.Attrs.Len(), p.OutOfScope, rows, len(p.Rows))
		}
		cs.add("mapping", usersync.CheckResult{Name: name, Detail: detail})
		(*cs)[len(*cs)-1].preview = p
	case errors.Is(err, io.EOF) && listsGroups(rr) != "":
		cs.add("mapping", usersync.CheckResult{Name: name, Detail: listsGroups(rr)})
	case errors.Is(err, io.EOF):
		cs.add("mapping", usersync.CheckResult{Name: name, Err: fmt.Errorf("%s holds no row after its header: a run would fail: %w", file, usersync.ErrNoRecords)})
	case errors.As(err, &re):
		rejected, mapped := 1, false
		for rejected < sampleRows {
			_, err := rr.Read()
			if err == nil {
				mapped = true
				break
			}
			if !errors.As(err, new(*usersync.RowError)) {
				break
			}
			rejected++
		}
		if !mapped {
			cs.add("mapping", usersync.CheckResult{Name: name, Err: fmt.Errorf(
				"rejected: %w; no row of the first %d maps: check the mapping, or the file: a run would apply none of them",
				re, rejected)})
			return
		}
		cs.warn("mapping", name, "", fmt.Sprintf("rejected: %s; a later row maps: a run applies the good rows and lists the rejected ones", re))
	default:
		cs.add("mapping", usersync.CheckResult{Name: name, Err: err})
	}
}

// printChecks prints the steps, and returns the exit code: 5 if one failed.
func (a *app) printChecks(cs checks) int {
	code, status := exitOK, "passed"
	if cs.failed() {
		code, status = exitCheck, "failed"
	}
	if a.json {
		o := &output{Status: status, ExitCode: code}
		for _, s := range cs {
			co := checkOutput{Part: s.part, Name: s.Name, Result: s.result(), Detail: a.redact(s.Detail), Warning: a.redact(s.Warning),
				Preview: a.redactPreview(s.preview)}
			if s.Err != nil {
				co.Error = a.redact(checkstep.Under(s.Name, s.Err).Error())
			}
			o.Checks = append(o.Checks, co)
		}
		a.emit(o)
		return code
	}
	warnings := 0
	for _, s := range cs {
		if s.result() == "warn" {
			warnings++
		}
		if a.quiet && s.Err == nil {
			continue
		}
		text := joinDetail(s.Detail, s.Warning)
		if s.Err != nil {
			text = checkstep.Under(s.Name, s.Err).Error()
		}
		fmt.Fprintf(a.stdout, "%-4s  %-10s  %s: %s\n", strings.ToUpper(s.result()), s.part, oneLine(s.Name), oneLine(a.redact(text)))
		if s.preview != nil {
			for _, line := range s.preview.lines(a.redact) {
				fmt.Fprintf(a.stdout, "%18s%s\n", "", line)
			}
		}
	}
	switch {
	case code != exitOK:
		fmt.Fprintf(a.stdout, "\nThe check failed: fix the steps marked FAIL, then check again.\n")
	case a.quiet:
	case warnings == 1:
		fmt.Fprintf(a.stdout, "\nEvery step passed, one with a warning: see the step marked WARN.\n")
	case warnings > 1:
		fmt.Fprintf(a.stdout, "\nEvery step passed, %d with warnings: see the steps marked WARN.\n", warnings)
	default:
		fmt.Fprintf(a.stdout, "\nEvery step passed.\n")
	}
	return code
}

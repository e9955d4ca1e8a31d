package usersync

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"os"
	"slices"
	"sync/atomic"
	"time"
)

// Defaults for the Pipeline's tuning fields.
const (
	// DefaultBatchSize is large enough for a Sink's bulk path (COPY on
	// PostgreSQL, a long transaction of prepared inserts on SQLite) to
	// carry a first load, and small enough that a run stopped between two
	// batches stops within a second or so.
	DefaultBatchSize    = 5000
	DefaultMaxRowErrors = 10000
	// DefaultMemoryBudget bounds the memory a run uses for its records; see
	// Pipeline.MemoryBudget.
	DefaultMemoryBudget = 256 << 20
)

// ProgressEvery is how many rows of a file pass between two FileProgress
// events.
const ProgressEvery = 1 << 16

// A Pipeline wires the parts of a sync together and runs them safely: it
// reads every file to a verified end, plans in full, and only then applies.
//
// Source, Mapper, Reconciler and Sink are required; Decryptor, Unpacker
// and Reporter are optional. The Pipeline never closes the parts it is
// given: the host owns them. A Pipeline may be run many times, but not concurrently with
// itself: two runs against one Sink would plan against each other's changes.
type Pipeline struct {
	Source    Source
	Decryptor Decryptor // nil: files are plaintext
	// Unpacker opens containers: compressed files and archives, such as
	// decrypt/unpack's gzip and zip. nil: files are read as delivered.
	Unpacker   Unpacker
	Mapper     Mapper
	Reconciler Reconciler
	Sink       Sink
	Reporter   Reporter // nil: events are dropped

	// DryRun plans and reports, but applies nothing and leaves the files.
	DryRun bool
	// BatchSize is the number of changes given to a BatchApplier at once;
	// 0 means DefaultBatchSize.
	BatchSize int
	// MaxRowErrors caps the rejected rows kept in the Result (all are
	// counted and reported as events); 0 means DefaultMaxRowErrors.
	MaxRowErrors int
	// MemoryBudget is about how many bytes of memory a run may use, whatever
	// the size of its files: the records read are packed in chunks of an
	// eighth of it and spilled, sorted, to a temporary file in TempDir
	// (see "How a sync uses memory" in the package documentation). 0 means
	// DefaultMemoryBudget.
	MemoryBudget int64
	// TempDir is where a run spills records and keeps copies of remote
	// files while it checks whether they were applied; "" means
	// os.TempDir(). A run removes what it wrote there.
	TempDir string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Run performs one sync:
//
//  1. list the Source's files;
//  2. stream each through the Decryptor and the Mapper, keeping good records
//     and rejecting bad rows; a file counts only if it reached a clean end
//     with the announced size, and had at least one good record;
//  3. give the records and the Sink's current state to the Reconciler;
//  4. stop if a guard holds the plan, or on a dry run;
//  5. apply the plan's changes in order; a failed change does not stop the
//     others.
//
// Nothing is applied unless every file verified and the plan is free to go.
// Run always returns a Result, and returns a non-nil error unless the run
// succeeded, found nothing to do, or was a dry run. Canceling ctx stops the
// run between two changes; the Result says how far it got.
func (p *Pipeline) Run(ctx context.Context) (*Result, error) {
	return p.execute(ctx, (*run).run)
}

// RunApproved applies a plan an administrator approved: typically one that a
// guard held, or that a dry run computed, and that was kept as JSON since
// (see [Plan]).
//
// It applies exactly plan.Changes, in order, without the Reconciler or its
// guards, and only while nothing the plan was computed from has changed: it
// reads the Source's files again and requires the same names with the same
// content as plan.Files, then lists the Sink and requires the Fingerprint of
// its state to be plan.Fingerprint. Otherwise it applies nothing and returns
// a [*StalePlanError]. The files are then finished as Run finishes them (see
// [Finisher]); a [Deduplicator] is not consulted, since the plan names its
// files. A dry run checks all of this and applies nothing.
//
// Only Sink is required, and Source when the plan has files; Decryptor,
// Mapper and Reconciler are not used. The events and the Result are those of
// Run: RunStarted, FileRead for each file, PlanReady with the plan, then the
// changes and RunFinished. A Sink that is not a [Lister] cannot be checked:
// its Fingerprint is that of an empty directory.
func (p *Pipeline) RunApproved(ctx context.Context, plan *Plan) (*Result, error) {
	return p.execute(ctx, func(r *run) (Status, error) { return r.runApproved(plan) })
}

// execute runs one sync with body, reporting its start and end, and
// finishes the files it read unless it is a dry run.
func (p *Pipeline) execute(ctx context.Context, body func(*run) (Status, error)) (*Result, error) {
	r := &run{p: p, ctx: ctx, res: &Result{Started: p.now()}}
	r.report(Event{Kind: RunStarted})
	status, err := body(r)
	if !p.DryRun {
		r.finish(err)
	}
	res := r.res
	res.Status, res.Err, res.Finished = status, err, p.now()
	r.ctx = context.WithoutCancel(ctx) // the last event is reported even after a cancel
	r.report(Event{Kind: RunFinished, Result: res})
	return res, err
}

// run is the state of one Run.
type run struct {
	p      *Pipeline
	ctx    context.Context
	res    *Result
	mapper Mapper // the run's: Pipeline.Mapper, or what a BundleMapper began
}

func (r *run) run() (Status, error) {
	if err := r.p.validate(); err != nil {
		return Failed, err
	}
	files, err := r.p.Source.List(r.ctx)
	if err != nil {
		return Failed, &FileError{Op: "list", Err: err}
	}
	if len(files) == 0 {
		return NothingToDo, nil
	}
	r.mapper = r.p.Mapper
	if bm, ok := r.p.Mapper.(BundleMapper); ok {
		if files, r.mapper, err = bm.Begin(files); err != nil {
			return Failed, fmt.Errorf("begin the bundle: %w", err)
		}
	}
	first, status, err := r.skipApplied(files)
	defer first.remove()
	if status != 0 {
		return status, err
	}
	fp := newFingerprinter(r.p.lister())
	if m, ok := r.p.Reconciler.(DigestMerger); ok && fp.digests != nil && m.MergesDigests() {
		fp.prelist(r.ctx, r.p.TempDir)
	}
	defer fp.Close()
	feed := &Feed{spool: newSpool(r.p.TempDir, r.p.chunkSize())}
	defer feed.spool.Close()
	for _, f := range files {
		fr := r.readFile(f, feed, first[f.Name])
		r.res.Files = append(r.res.Files, fr)
		r.report(Event{Kind: FileRead, File: &r.res.Files[len(r.res.Files)-1]})
		if fr.Err != nil {
			return Failed, fr.Err
		}
	}
	feed.Files = r.res.Files
	feed.Time = r.res.Started
	if err := r.checkRelated(feed); err != nil {
		return Failed, err
	}
	sortOutOfScope(feed.OutOfScope)

	plan, err := r.p.Reconciler.Reconcile(r.ctx, feed, fp.lister())
	feed.spool.Close() // the plan is made: its records' chunk is free for the apply
	if err != nil {
		return Failed, fmt.Errorf("reconcile: %w", err)
	}
	if plan.Fingerprint, err = fp.fingerprint(r.ctx); err != nil {
		return Failed, fmt.Errorf("fingerprint the sink: %w", err)
	}
	plan.Files = planFiles(feed.Files)
	if plan.Time.IsZero() {
		plan.Time = feed.Time
	}
	for _, re := range plan.Rejected {
		r.countRejectedByPlan(re)
	}
	r.res.Plan = plan
	r.report(Event{Kind: PlanReady, Plan: plan})
	if plan.Hold != nil {
		return Held, plan.Hold
	}
	if r.p.DryRun {
		return Planned, nil
	}
	r.res.Applied.Unchanged = plan.Unchanged
	return r.apply(plan.Changes)
}

// lister returns the Sink's Lister, or an empty one if it cannot list.
func (p *Pipeline) lister() Lister {
	if l, ok := p.Sink.(Lister); ok {
		return l
	}
	return emptyLister{}
}

func planFiles(files []FileResult) []PlanFile {
	out := make([]PlanFile, len(files))
	for i := range files {
		f := &files[i]
		out[i] = PlanFile{Name: f.Name, Size: f.Bytes, SHA256: f.Hash(), Records: f.Records, Rejected: f.Rejected}
	}
	return out
}

// runApproved is the body of RunApproved.
func (r *run) runApproved(plan *Plan) (Status, error) {
	switch {
	case plan == nil:
		return Failed, errors.New("usersync: RunApproved: nil plan")
	case plan.Fingerprint == Fingerprint{}:
		return Failed, errors.New("usersync: RunApproved: the plan has no Fingerprint: only plans a Pipeline computed can be approved")
	case r.p.Sink == nil:
		return Failed, errors.New("usersync: Pipeline.Sink is nil")
	case r.p.Source == nil && len(plan.Files) > 0:
		return Failed, errors.New("usersync: Pipeline.Source is nil, and the plan was computed from files")
	}
	if len(plan.Files) > 0 {
		if err := r.checkFiles(plan.Files); err != nil {
			return Failed, err
		}
	}
	got, err := ListFingerprint(r.ctx, r.p.lister())
	if err != nil {
		return Failed, fmt.Errorf("fingerprint the sink: %w", err)
	}
	if got != plan.Fingerprint {
		return Failed, &StalePlanError{Want: plan.Fingerprint, Got: got}
	}
	r.res.Plan = plan
	r.report(Event{Kind: PlanReady, Plan: plan})
	if r.p.DryRun {
		return Planned, nil
	}
	r.res.Applied.Unchanged = plan.Unchanged
	return r.apply(plan.Changes)
}

// checkFiles requires the Source to offer exactly the plan's files, with the
// same content, reading each to a verified end again.
func (r *run) checkFiles(want []PlanFile) error {
	files, err := r.p.Source.List(r.ctx)
	if err != nil {
		return &FileError{Op: "list", Err: err}
	}
	planned := make(map[string]bool, len(want))
	for i := range want {
		planned[want[i].Name] = true
	}
	listed := make(map[string]FileInfo, len(files))
	for _, f := range files {
		if !planned[f.Name] {
			return &StalePlanError{File: f.Name, Reason: "new"}
		}
		listed[f.Name] = f
	}
	for i := range want {
		pf := &want[i]
		f, ok := listed[pf.Name]
		if !ok {
			return &StalePlanError{File: pf.Name, Reason: "gone"}
		}
		fr := r.hashFile(f)
		fr.Records, fr.Rejected = pf.Records, pf.Rejected
		r.res.Files = append(r.res.Files, fr)
		r.report(Event{Kind: FileRead, File: &r.res.Files[len(r.res.Files)-1]})
		if fr.Err != nil {
			return fr.Err
		}
		if fr.Hash() != pf.SHA256 {
			return &StalePlanError{File: pf.Name, Reason: "changed"}
		}
	}
	return nil
}

// hashFile reads one file to a verified end, as readFile does, to learn its
// SHA-256; the content itself is not used.
func (r *run) hashFile(f FileInfo) FileResult {
	rc, err := r.p.Source.Open(r.ctx, f.Name)
	if err != nil {
		return FileResult{FileInfo: f, Err: &FileError{Op: "open", File: f.Name, Err: err}}
	}
	fr := hashStream(f, rc, io.Discard)
	if cerr := rc.Close(); fr.Err == nil && cerr != nil {
		fr.Err = &FileError{Op: "close", File: f.Name, Err: cerr}
	}
	return fr
}

// hashStream reads rc, file f, to its verified end to learn its size and
// SHA-256, copying the bytes to dst.
func hashStream(f FileInfo, rc io.Reader, dst io.Writer) FileResult {
	fr := FileResult{FileInfo: f}
	raw := &verifyingReader{r: rc, h: sha256.New()}
	fail := func(op string, err error) FileResult {
		fr.Bytes = raw.n.Load()
		fr.Err = &FileError{Op: op, File: f.Name, Err: err}
		return fr
	}
	if _, err := io.Copy(dst, raw); err != nil {
		op := "read"
		if raw.err == nil {
			op = "copy" // to the local copy
		}
		return fail(op, err)
	}
	if err := raw.verify(&fr); err != nil {
		return fail("verify", err)
	}
	return fr
}

func (p *Pipeline) validate() error {
	for _, part := range []struct {
		name string
		nil  bool
	}{
		{"Source", p.Source == nil},
		{"Mapper", p.Mapper == nil},
		{"Reconciler", p.Reconciler == nil},
		{"Sink", p.Sink == nil},
	} {
		if part.nil {
			return fmt.Errorf("usersync: Pipeline.%s is nil", part.name)
		}
	}
	return nil
}

// readFile streams one file into feed, from the Source or from the copy
// that a first read made, through its layers (see content.read). The
// FileResult's Err is set unless the file reached a clean, verified end
// with at least one record, and the bytes the first read saw; the records of a failed file may be left in feed,
// which is then discarded.
func (r *run) readFile(f FileInfo, feed *Feed, first *firstRead) FileResult {
	fr := FileResult{FileInfo: f}
	raw := &verifyingReader{h: sha256.New()}
	fail := func(err *FileError) FileResult {
		fr.Bytes = raw.n.Load()
		fr.Err = err
		return fr
	}
	rc, err := r.open(f, first)
	if err != nil {
		return fail(&FileError{Op: "open", File: f.Name, Err: err})
	}
	raw.r = rc
	closed := false
	defer func() {
		if !closed {
			rc.Close()
		}
	}()
	c := &content{run: r, feed: feed, raw: raw, rc: rc, local: first != nil && first.copy != "" || isLocal(r.p.Source)}
	defer c.removeSpools()
	if err := c.read(raw, f, &fr, chain{}); err != nil {
		return fail(err)
	}
	// The Mapper stopped at the end of the plaintext, and read made sure
	// every stage reached its end too; make sure the transport did, so that
	// a transport error is seen before anything is used.
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return fail(&FileError{Op: "read", File: f.Name, Err: err})
	}
	closed = true
	if err := rc.Close(); err != nil {
		return fail(&FileError{Op: "close", File: f.Name, Err: err})
	}
	if first != nil && (raw.n.Load() != first.bytes || [32]byte(raw.h.Sum(nil)) != first.sum) {
		return fail(&FileError{Op: "verify", File: f.Name, Err: fmt.Errorf("%w: the file changed between two reads of this run (%d bytes, then %d): the next run reads it again",
			ErrIntegrity, first.bytes, raw.n.Load())})
	}
	if err := raw.verify(&fr); err != nil {
		return fail(&FileError{Op: "verify", File: f.Name, Err: err})
	}
	if fr.Records == 0 && !fr.part {
		return fail(&FileError{Op: "verify", File: f.Name, Err: ErrNoRecords})
	}
	return fr
}

// maxContainers bounds how deep containers nest, whatever the Unpacker
// allows, so that one that opens its own output forever cannot recurse
// forever.
const maxContainers = 16

// content reads one delivered file through its layers: the containers the
// Unpacker opens, the Decryptor, and the Mapper.
type content struct {
	run  *run
	feed *Feed
	raw  *verifyingReader // the Source's bytes, counted and hashed
	rc   io.ReadCloser    // the Source's reader under raw
	// local is set when rc reads a local file (a LocalSource's, or the
	// first read's copy), which a zip can then be read from in place.
	local  bool
	spools []*os.File // copies made for random access, removed at the end
}

// A chain is what lies between the Source and one layer of a file's content.
type chain struct {
	stages     []stage  // outermost first
	containers []string // the formats of the containers opened
	decrypted  bool     // the Decryptor had its turn
	dec        DecryptedReader
	// mapper maps the files of an archive that a BundleMapper began with;
	// nil means the run's.
	mapper Mapper
}

// A stage is one step, such as "decrypt" or "unpack", that a file's bytes
// pass through; a fault it finds is blamed on it.
type stage struct {
	op string
	s  *stageReader
}

// read reads in, the content of file f, into fr and the feed: it opens it
// if it is a container, gives it to the Decryptor if no layer above was,
// and maps it otherwise. It returns nil once every stage under the
// Mapper has reached its end cleanly.
func (c *content) read(in io.Reader, f FileInfo, fr *FileResult, ch chain) *FileError {
	r := c.run
	if u := r.p.Unpacker; u != nil {
		pk := &Packed{FileInfo: f, Containers: ch.containers, br: bufio.NewReaderSize(in, packedBuffer)}
		pk.readerAt = func(max int64) (io.ReaderAt, int64, error) { return c.readerAt(pk, ch, max) }
		up, err := u.Unpack(r.ctx, pk)
		if err != nil {
			return c.fault(ch, f, "unpack", err)
		}
		if up != nil {
			return c.unpacked(up, f, fr, ch)
		}
		in = pk
	}
	if r.p.Decryptor != nil && !ch.decrypted {
		plain, err := r.p.Decryptor.Decrypt(r.ctx, in, f)
		if err != nil {
			return c.fault(ch, f, "decrypt", err)
		}
		ch.decrypted = true
		dec := &stageReader{r: plain}
		ch.stages = append(slices.Clip(ch.stages), stage{"decrypt", dec})
		ch.dec, _ = plain.(DecryptedReader)
		if plain != in && r.p.Unpacker != nil {
			return c.read(dec, f, fr, ch) // the plaintext may be a container: users.csv.gz.pgp
		}
		in = dec
	}
	m := r.mapper
	if ch.mapper != nil {
		m = ch.mapper
	}
	rr, err := m.NewReader(in, f)
	if err != nil {
		return c.fault(ch, f, "map", err)
	}
	if cl, ok := rr.(io.Closer); ok {
		// A reader that holds something, such as a workbook's temporary
		// files, lets it go once its file is read; what it says then
		// cannot change what was read.
		defer cl.Close()
	}
	users, frags := c.feed.spool.Len(), c.feed.spool.nfrag
	if err := r.readRecords(rr, fr, c.feed, c.raw); err != nil {
		if cl, ok := rr.(io.Closer); ok {
			cl.Close() // a reader reading ahead stops before the stream is looked at
		}
		return c.fault(ch, f, "map", err)
	}
	var groups []Group
	if gr, ok := rr.(GroupReader); ok {
		groups = gr.Groups()
		c.feed.Groups = append(c.feed.Groups, groups...)
	}
	if sr, ok := rr.(ScopeReader); ok {
		c.feed.OutOfScope = append(c.feed.OutOfScope, sr.OutOfScope()...)
	}
	fr.Fragments, fr.Groups = c.feed.spool.nfrag-frags, len(groups)
	if fm, ok := rr.(FormatReader); ok {
		fr.Format = fm.Format()
	}
	if ch.dec != nil {
		fr.DecryptedBy = ch.dec.DecryptedBy()
	}
	// The Mapper stopped at the end of the plaintext; make sure the stages
	// reached theirs too, so that a trailing integrity check (a
	// Decryptor's, a gzip or zip checksum) is seen before anything is used.
	if _, err := io.Copy(io.Discard, in); err != nil {
		op := "read"
		if n := len(ch.stages); n > 0 {
			op = ch.stages[n-1].op
		}
		return c.fault(ch, f, op, err)
	}
	// A groups file lists groups, and gives no records; nor does a part
	// of a bundle: neither is empty.
	if pr, ok := rr.(PartReader); ok && pr.Part() {
		fr.part = true
	}
	fr.part = fr.part || len(groups) > 0
	c.feed.related.fileRelated(f.Name, c.feed.spool.Len()-users, fr, groups)
	return nil
}

// unpacked reads what a container held: the decompressed content of a
// file, or each file of an archive as a member of fr.
func (c *content) unpacked(up *Unpacked, f FileInfo, fr *FileResult, ch chain) *FileError {
	if len(ch.containers) >= maxContainers {
		return c.fault(ch, f, "unpack", fmt.Errorf("%w: containers nested over %d deep", ErrTooLarge, maxContainers))
	}
	ch.containers = append(slices.Clip(ch.containers), up.Format)
	if up.Stream != nil {
		s := &stageReader{r: up.Stream}
		ch.stages = append(slices.Clip(ch.stages), stage{"unpack", s})
		return c.read(s, f, fr, ch)
	}
	if up.Archive == nil {
		return c.fault(ch, f, "unpack", fmt.Errorf("usersync: the Unpacker returned a %q container with neither Stream nor Archive", up.Format))
	}
	for _, s := range up.Skipped {
		fr.Skipped = append(fr.Skipped, f.Name+"/"+s)
	}
	if err := c.beginBundle(up.Archive, f, &ch); err != nil {
		return c.fault(ch, f, "unpack", err)
	}
	seen := make(map[string]bool)
	for {
		if err := c.run.ctx.Err(); err != nil {
			return c.fault(ch, f, "unpack", err)
		}
		mi, mr, err := up.Archive.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return c.fault(ch, f, "unpack", err)
		}
		if err := CheckMemberName(mi.Name, seen); err != nil {
			return c.fault(ch, f, "unpack", err)
		}
		m := FileResult{FileInfo: FileInfo{Name: f.Name + "/" + mi.Name, Size: mi.Size, ModTime: mi.ModTime}}
		s := &stageReader{r: mr}
		mch := ch
		mch.stages = append(slices.Clip(ch.stages), stage{"unpack", s})
		ferr := c.read(s, m.FileInfo, &m, mch)
		m.Bytes = s.n
		switch {
		case ferr != nil:
		case m.Size >= 0 && m.Bytes != m.Size:
			ferr = &FileError{Op: "verify", File: m.Name, Err: fmt.Errorf("%w: read %d bytes, the archive announced %d", ErrIntegrity, m.Bytes, m.Size)}
		case m.Records == 0 && !m.part:
			ferr = &FileError{Op: "verify", File: m.Name, Err: ErrNoRecords}
		}
		if ferr != nil {
			m.Err = ferr
		}
		fr.Records += m.Records
		fr.Rejected += m.Rejected
		fr.Fragments += m.Fragments
		fr.Groups += m.Groups
		fr.part = fr.part || m.part
		if m.DecryptedBy != "" {
			fr.DecryptedBy = m.DecryptedBy
		}
		fr.Members = append(fr.Members, m)
		if ferr != nil {
			return ferr
		}
	}
	if len(fr.Members) == 0 {
		return &FileError{Op: "verify", File: f.Name, Err: fmt.Errorf("%w: the %s archive holds no file", ErrNoRecords, up.Format)}
	}
	return nil
}

// beginBundle begins the Mapper in charge with the files of an archive,
// when it is a BundleMapper left to begin there (see BeginArchiveBundle).
func (c *content) beginBundle(a Archive, f FileInfo, ch *chain) error {
	m := c.run.mapper
	if ch.mapper != nil {
		m = ch.mapper
	}
	if _, ok := m.(BundleMapper); !ok {
		return nil
	}
	bundle, err := BeginArchiveBundle(m, a, f.Name)
	if err != nil {
		return err
	}
	ch.mapper = bundle
	return nil
}

// fault makes the error of a layer of f a FileError, blamed on the stage
// that found it: the transport, then the outermost stage that failed, else
// op.
func (c *content) fault(ch chain, f FileInfo, op string, err error) *FileError {
	switch {
	case c.raw.err != nil:
		op, err = "read", c.raw.cause(err)
	default:
		for _, st := range ch.stages {
			if st.s.err != nil {
				op, err = st.op, st.s.cause(err)
				break
			}
		}
	}
	return &FileError{Op: op, File: f.Name, Err: err}
}

// readerAt gives an Unpacker random access to pk: in place for the file a
// local Source delivered, else from a copy in TempDir.
func (c *content) readerAt(pk *Packed, ch chain, max int64) (io.ReaderAt, int64, error) {
	if rs, ok := c.rc.(io.ReadSeeker); ok && c.local && len(ch.stages) == 0 {
		// Hash and verify the whole file as delivered first; then read it
		// again where it is.
		if _, err := io.Copy(io.Discard, pk); err != nil {
			return nil, 0, err
		}
		n := c.raw.n.Load()
		c.raw.r = eofReader{} // the Unpacker moves rc from here on
		if n > max {
			return nil, 0, fmt.Errorf("%w: %d bytes, over the %d an archive may hold here", ErrTooLarge, n, max)
		}
		if ra, ok := rs.(io.ReaderAt); ok {
			return ra, n, nil
		}
		return &seekReaderAt{rs: rs}, n, nil
	}
	f, n, err := spoolContent(pk, c.run.p.TempDir, max)
	if err != nil {
		return nil, 0, err
	}
	c.spools = append(c.spools, f)
	return f, n, nil
}

// removeSpools removes the copies made for random access.
func (c *content) removeSpools() {
	for _, f := range c.spools {
		f.Close()
		os.Remove(f.Name())
	}
}

// eofReader is a reader at its end.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// ctxCheckEvery is how many rows are read between two looks at ctx.
const ctxCheckEvery = 4096

func (r *run) readRecords(rr RecordReader, fr *FileResult, feed *Feed, raw *verifyingReader) error {
	for n := 1; ; n++ {
		if n%ctxCheckEvery == 0 {
			if err := r.ctx.Err(); err != nil {
				return err
			}
			if n%ProgressEvery == 0 {
				progress := *fr
				progress.Bytes = raw.n.Load()
				r.report(Event{Kind: FileProgress, File: &progress})
			}
		}
		rec, err := rr.Read()
		if err == nil {
			if err := feed.spool.add(&rec); err != nil {
				return err
			}
			fr.Records++
			continue
		}
		if err == io.EOF {
			return nil
		}
		re := (*RowError)(nil)
		if !errors.As(err, &re) {
			return err
		}
		fr.Rejected++
		feed.Rejected = append(feed.Rejected, re)
		r.reject(re)
	}
}

func (r *run) reject(re *RowError) {
	r.res.RejectedTotal++
	if len(r.res.Rejected) < r.p.maxRowErrors() {
		r.res.Rejected = append(r.res.Rejected, re)
	}
	r.report(Event{Kind: RowRejected, Row: re})
}

// countRejectedByPlan moves a row the Reconciler refused from its file's
// good records to its rejected rows, and from its archive's.
func (r *run) countRejectedByPlan(re *RowError) {
	for i := range r.res.Files {
		f := &r.res.Files[i]
		for j := range f.Members {
			if m := &f.Members[j]; m.Name == re.File {
				m.Records--
				m.Rejected++
				f.Records--
				f.Rejected++
			}
		}
		if f.Name == re.File {
			f.Records--
			f.Rejected++
		}
	}
	r.reject(re)
}

// skipApplied reads each file once to learn its SHA-256 before anything
// decrypts or maps it, when the Source is a Deduplicator: a run whose files
// were all applied before then costs one read of their bytes. It returns a
// non-zero status when the run ends here: NothingToDo when every file was
// applied (the files are marked so), Failed when one could not be read.
//
// A file of a LocalSource that opens as an io.Seeker stays open, and is
// read again from its start: a file replaced or removed meanwhile does not
// change what the run reads. Other files are copied to TempDir as they are
// read, so that the Mapper reads the copy rather than the network again.
// The pass stops at the first new file: the files after it are read only
// once, by readFile. A SizeDeduplicator may tell a file is new from its
// listing: the pass then stops before reading it.
func (r *run) skipApplied(files []FileInfo) (firstReads, Status, error) {
	d, ok := r.p.Source.(Deduplicator)
	if !ok {
		return nil, 0, nil
	}
	sd, _ := d.(SizeDeduplicator)
	first := make(firstReads)
	read := make([]FileResult, 0, len(files))
	for _, f := range files {
		if sd != nil {
			maybe, err := sd.MaybeApplied(r.ctx, f)
			if err != nil {
				return first, NothingToDo, &FileError{Op: "check applied", File: f.Name, Err: err}
			}
			if !maybe {
				return first, 0, nil
			}
		}
		fr, fail := r.readFirst(f, first)
		if fail != nil {
			r.res.Files = append(r.res.Files, fr)
			r.report(Event{Kind: FileRead, File: &r.res.Files[len(r.res.Files)-1]})
			return first, Failed, fail
		}
		seen, err := d.Applied(r.ctx, fr)
		if err != nil {
			return first, NothingToDo, &FileError{Op: "check applied", File: f.Name, Err: err}
		}
		if !seen {
			return first, 0, nil
		}
		read = append(read, fr)
	}
	for i := range read {
		read[i].AlreadyApplied = true
		r.res.Files = append(r.res.Files, read[i])
		r.report(Event{Kind: FileRead, File: &r.res.Files[len(r.res.Files)-1]})
	}
	return first, NothingToDo, nil
}

// readFirst hashes file f, keeping it open or copying it, into first.
func (r *run) readFirst(f FileInfo, first firstReads) (FileResult, error) {
	rc, err := r.p.Source.Open(r.ctx, f.Name)
	if err != nil {
		fr := FileResult{FileInfo: f, Err: &FileError{Op: "open", File: f.Name, Err: err}}
		return fr, fr.Err
	}
	fst := firstRead{rc: rc}
	var dst io.Writer = io.Discard
	if _, seeks := rc.(io.Seeker); !seeks || !isLocal(r.p.Source) {
		tmp, err := os.CreateTemp(r.p.TempDir, "usersync-file-*")
		if err != nil {
			rc.Close()
			fr := FileResult{FileInfo: f, Err: &FileError{Op: "copy", File: f.Name, Err: err}}
			return fr, fr.Err
		}
		defer tmp.Close()
		fst.copy, dst = tmp.Name(), tmp
	}
	first[f.Name] = &fst
	fr := hashStream(f, rc, dst)
	if fst.copy != "" {
		fst.rc = nil
		if cerr := rc.Close(); fr.Err == nil && cerr != nil {
			fr.Err = &FileError{Op: "close", File: f.Name, Err: cerr}
		}
	}
	fst.bytes, fst.sum = fr.Bytes, fr.SHA256
	return fr, fr.Err
}

// open opens a file of the run: the one the first read left open, rewound,
// or its copy, or else the Source's.
func (r *run) open(f FileInfo, first *firstRead) (io.ReadCloser, error) {
	switch {
	case first == nil:
	case first.rc != nil:
		rc := first.rc
		first.rc = nil // readFile closes it
		if _, err := rc.(io.Seeker).Seek(0, io.SeekStart); err != nil {
			rc.Close()
			return nil, err
		}
		return rc, nil
	case first.copy != "":
		return os.Open(first.copy)
	}
	return r.p.Source.Open(r.ctx, f.Name)
}

// A firstRead is what the first read of a file, before it was decrypted
// or mapped, saw of it and left: its size and SHA-256, and the local file
// still open, or the path of the copy it made of a remote one.
type firstRead struct {
	rc    io.ReadCloser
	copy  string
	bytes int64
	sum   [32]byte
}

// firstReads maps file names to their first reads.
type firstReads map[string]*firstRead

// remove closes the files left open and removes the copies.
func (f firstReads) remove() {
	for _, fr := range f {
		if fr.rc != nil {
			fr.rc.Close()
		}
		if fr.copy != "" {
			os.Remove(fr.copy)
		}
	}
}

func isLocal(s Source) bool {
	l, ok := s.(LocalSource)
	return ok && l.IsLocal()
}

// finish tells a Finisher how each file it read ended: nil when its content
// is in effect, else the file's own error or the run's.
func (r *run) finish(runErr error) {
	f, ok := r.p.Source.(Finisher)
	if !ok {
		return
	}
	for i := range r.res.Files {
		fr := &r.res.Files[i]
		outcome := runErr
		if fr.Err != nil {
			outcome = fr.Err
		}
		fr.FinishErr = f.Finish(r.ctx, *fr, outcome)
	}
}

// apply applies the changes in order, in batches when the Sink can take
// them.
func (r *run) apply(changes ChangeList) (Status, error) {
	ba, batched := r.p.Sink.(BatchApplier)
	size := 1
	if batched {
		size = r.p.batchSize()
	}
	total, done := changes.Len(), 0
	for batch, err := range changes.batches(size) {
		if err == nil {
			err = r.ctx.Err()
		}
		if err != nil {
			return r.stopped(done, total, err)
		}
		var errs []error
		if batched {
			errs = ba.ApplyBatch(r.ctx, batch)
			if errs != nil && len(errs) != len(batch) {
				err := fmt.Errorf("usersync: BatchApplier returned %d errors for %d changes", len(errs), len(batch))
				errs = repeat(err, len(batch))
			}
		} else {
			errs = []error{r.p.Sink.Apply(r.ctx, batch[0])}
		}
		for i := range batch {
			var err error
			if errs != nil {
				err = errs[i]
			}
			r.applied(&batch[i], err)
		}
		done += len(batch)
	}
	if n := len(r.res.Failed); n > 0 {
		err := fmt.Errorf("%w: %d of %d changes failed, first: %v", ErrChangesFailed, n, total, r.res.Failed[0])
		if r.res.Applied.Total() == 0 {
			return Failed, err
		}
		return PartlyFailed, err
	}
	return Succeeded, nil
}

func (r *run) applied(c *Change, err error) {
	if err != nil {
		ce := &ChangeError{Change: *c, Err: err}
		r.res.Failed = append(r.res.Failed, ce)
		r.report(Event{Kind: ChangeFailed, Change: c, Err: ce})
		return
	}
	r.res.Applied.add(c.Kind)
	r.report(Event{Kind: ChangeApplied, Change: c})
}

// stopped ends a run canceled while applying.
func (r *run) stopped(done, total int, cause error) (Status, error) {
	err := fmt.Errorf("apply stopped after %d of %d changes: %w", done, total, cause)
	if r.res.Applied.Total() == 0 {
		return Failed, err
	}
	return PartlyFailed, err
}

func repeat(err error, n int) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

func (r *run) report(e Event) {
	if r.p.Reporter == nil {
		return
	}
	e.Time = r.p.now()
	if err := r.p.Reporter.Report(r.ctx, e); err != nil {
		r.res.ReportErrors = append(r.res.ReportErrors, fmt.Errorf("report %s: %w", e.Kind, err))
	}
}

func (p *Pipeline) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Pipeline) batchSize() int {
	if p.BatchSize > 0 {
		return p.BatchSize
	}
	return DefaultBatchSize
}

// memoryBudget is MemoryBudget, or its default.
func (p *Pipeline) memoryBudget() int64 {
	if p.MemoryBudget <= 0 {
		return DefaultMemoryBudget
	}
	return p.MemoryBudget
}

// ChangeWriter returns a writer that keeps changes within the Pipeline's
// memory budget, as its runs' plans do, and the rest in its TempDir: for
// [ReadPlan] to read back a plan for RunApproved.
func (p *Pipeline) ChangeWriter() *ChangeWriter {
	return NewChangeWriter(p.TempDir, int64(p.chunkSize()))
}

// chunkSize is the size of a spool chunk: two of them are in memory at
// once, and the budget leaves room for the Sink's listing and the plan.
func (p *Pipeline) chunkSize() int {
	return int(min(p.memoryBudget()/8, maxChunk))
}

func (p *Pipeline) maxRowErrors() int {
	if p.MaxRowErrors > 0 {
		return p.MaxRowErrors
	}
	return DefaultMaxRowErrors
}

// verifyingReader counts and hashes the bytes a Source delivers, and
// remembers a transport error so the failure is blamed on the transfer
// rather than on the Decryptor or Mapper that saw it.
type verifyingReader struct {
	r io.Reader
	h hash.Hash
	// n counts the bytes read; progress reports read it while a Mapper
	// may be reading ahead in a goroutine of its own.
	n   atomic.Int64
	err error
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.n.Add(int64(n))
	v.h.Write(p[:n])
	if err != nil && err != io.EOF && v.err == nil {
		v.err = err
	}
	return n, err
}

// verify checks, once the stream has ended, that the Source delivered the
// size it announced, and records the byte count and SHA-256 in fr.
func (v *verifyingReader) verify(fr *FileResult) error {
	fr.Bytes = v.n.Load()
	if fr.Size >= 0 && fr.Bytes != fr.Size {
		return fmt.Errorf("%w: read %d bytes, the source announced %d", ErrIntegrity, fr.Bytes, fr.Size)
	}
	v.h.Sum(fr.SHA256[:0])
	return nil
}

// cause returns the transport error when there was one, since the error a
// Decryptor or Mapper makes of it may hide it.
func (v *verifyingReader) cause(err error) error {
	if v.err != nil && !errors.Is(err, v.err) {
		return v.err
	}
	return err
}

// A stageReader remembers the first error but io.EOF that a stage's reader
// returned, so that a fault is blamed on the stage that found it rather
// than on the stage that was reading from it.
type stageReader struct {
	r   io.Reader
	n   int64
	err error
}

func (s *stageReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// cause returns the stage's error when err, made of it by a later stage,
// does not wrap it.
func (s *stageReader) cause(err error) error {
	if !errors.Is(err, s.err) {
		return s.err
	}
	return err
}

// emptyLister stands for a Sink that cannot list its users.
type emptyLister struct{}

func (emptyLister) Users(context.Context) iter.Seq2[Record, error] {
	return func(func(Record, error) bool) {}
}

func (emptyLister) Groups(context.Context) iter.Seq2[Group, error] {
	return func(func(Group, error) bool) {}
}

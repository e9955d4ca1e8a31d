package source

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/usersync/usersync"
)

// Defaults for [PickupOptions].
const (
	// DefaultMinAge is how long a file must have gone unmodified before it
	// is taken, unless a done-marker says when it is complete.
	DefaultMinAge = time.Minute
	// DefaultArchiveFolder is where files go after success with [Archive].
	DefaultArchiveFolder = "archive"
	// DefaultStatePrefix starts the Store keys under which a Picker
	// remembers applied content.
	DefaultStatePrefix = "applied/"
)

// maxMarkerSize bounds the done-marker (or manifest) a Picker reads.
const maxMarkerSize = 64 << 10

// AfterSuccess says what a [Picker] does with a file whose content is in
// effect.
type AfterSuccess uint8

// What to do with a file after success.
const (
	// Keep leaves the file where it is; its content hash keeps it from
	// being applied twice.
	Keep AfterSuccess = iota
	// Delete removes the file (Cosafe's "delete file after processing").
	Delete
	// Archive moves the file to PickupOptions.ArchiveFolder, the time in
	// its name so that no archive replaces an earlier one.
	Archive
)

// PickupOptions configures a [Picker]. The zero value, like a nil
// *PickupOptions, gives the defaults: every file, once it has gone
// unmodified for DefaultMinAge; kept after success; left where it is after
// a failure; applied content remembered in memory.
type PickupOptions struct {
	// Pattern selects the files to take, as path.Match does: "users*.csv",
	// or a fixed name such as "users.csv". Empty takes every file.
	Pattern string

	// MinAge is how long a file must have gone unmodified before it is
	// taken: an upload in progress keeps touching its file. 0 means
	// DefaultMinAge, or no minimum when DoneMarker is set; a negative
	// value takes files of any age. A file modified "in the future" (the
	// server's clock is ahead) waits until that time has passed, and a
	// file whose Source reports no modification time is never old
	// enough: use StableFor or DoneMarker with such a Source.
	MinAge time.Duration
	// StableFor, when positive, makes List look at the folder twice, this
	// long apart, and take only the files whose size and modification time
	// did not change in between.
	StableFor time.Duration
	// DoneMarker, when set, is the suffix of the marker file a sender
	// uploads once a file is complete: with ".done", users.csv is taken
	// only once users.csv.done exists. Markers are never taken as data,
	// and a marker is removed only after its file succeeded. A marker may
	// hold a manifest in sha256sum format ("<hex>  users.csv"); the file
	// must then have that SHA-256, or it fails with usersync.ErrIntegrity.
	DoneMarker string
	// MaxFiles, when positive, takes at most that many files per run, the
	// oldest first; the others wait for the next run. Use 1 when each file
	// is a full snapshot, so that two of them are never merged.
	MaxFiles int

	// AfterSuccess says what to do with a file once its content is in
	// effect: Keep (the default), Delete or Archive.
	AfterSuccess AfterSuccess
	// ArchiveFolder is the subfolder Archive moves files to;
	// DefaultArchiveFolder if empty.
	ArchiveFolder string
	// ErrorFolder, when set, is the subfolder a file is moved to when it
	// failed because of its content (no records, a missing column, a
	// failed decryption), so that the next run does not fail on it again.
	// A file that failed in transfer, or in a run that failed for another
	// reason (a held plan, another file), stays where it is. Files are
	// never deleted after a failure.
	ErrorFolder string

	// Store remembers the SHA-256 of the content last applied from each
	// file name, so that a file delivered again unchanged is not applied
	// again. nil keeps it in memory, for the life of the Picker; give a
	// usersync.FileStore, or the host's own Store, to remember across
	// restarts.
	Store usersync.Store
	// StatePrefix starts the Store keys: one key per file name, such as
	// "applied/users.csv". DefaultStatePrefix if empty; give each feed
	// sharing a Store its own prefix.
	StatePrefix string

	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Sleep waits for d or until ctx is done; nil means a timer. Tests
	// replace it, with Now, to check readiness without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger is told which files are not taken yet and why, and which
	// content was applied before; nil means slog.Default().
	Logger *slog.Logger
}

// A Picker wraps a [usersync.Source] with the file-pickup rules every
// Source shares: which files to take (a name pattern), when a file is
// ready (minimum age, size stable, done-marker), what to do after success
// (keep, delete, archive) and after a failure (leave, or move aside), and
// which content was applied already. Make one with [Pickup].
//
// A Picker is itself a Source, a [usersync.Finisher] and a
// [usersync.SizeDeduplicator], for the Pipeline to call; a [usersync.Checker]
// that adds the expected-file check to the wrapped Source's checks; and a
// [usersync.Remover] and [usersync.Renamer] that pass through to the
// wrapped Source. Its List returns the ready files sorted by name, as every
// Source does; with MaxFiles set, the files it takes are the oldest ones.
//
// Its methods are safe for concurrent use if the wrapped Source's are.
type Picker struct {
	src  usersync.Source
	opts PickupOptions
	log  *slog.Logger

	mu      sync.Mutex
	waiting map[string]bool // the files the last List left waiting
}

var (
	_ usersync.Source           = (*Picker)(nil)
	_ usersync.Finisher         = (*Picker)(nil)
	_ usersync.SizeDeduplicator = (*Picker)(nil)
	_ usersync.LocalSource      = (*Picker)(nil)
	_ usersync.Checker          = (*Picker)(nil)
	_ usersync.Remover          = (*Picker)(nil)
	_ usersync.Renamer          = (*Picker)(nil)
)

// IsLocal reports whether the Source it picks from is a local one (see
// [usersync.LocalSource]).
func (p *Picker) IsLocal() bool {
	l, ok := p.src.(usersync.LocalSource)
	return ok && l.IsLocal()
}

// Pickup returns a Picker over src. It fails if the options are invalid, or
// ask for what src cannot do: deleting and done-markers need a
// [usersync.Remover], archiving and an error folder a [usersync.Renamer].
func Pickup(src usersync.Source, opts *PickupOptions) (*Picker, error) {
	p := &Picker{src: src}
	if opts != nil {
		p.opts = *opts
	}
	o := &p.opts
	if o.ArchiveFolder == "" {
		o.ArchiveFolder = DefaultArchiveFolder
	}
	if o.StatePrefix == "" {
		o.StatePrefix = DefaultStatePrefix
	}
	if o.Store == nil {
		o.Store = &usersync.MemStore{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	p.log = o.Logger
	if p.log == nil {
		p.log = slog.Default()
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("source: pickup: %w", err)
	}
	return p, nil
}

func (p *Picker) validate() error {
	o := &p.opts
	if _, err := path.Match(o.Pattern, ""); err != nil {
		return fmt.Errorf("pattern %q: %w", o.Pattern, err)
	}
	if o.DoneMarker != "" && (strings.ContainsAny(o.DoneMarker, "/\\") || ValidName("x"+o.DoneMarker) != nil) {
		return fmt.Errorf("done marker %q: not a file name suffix", o.DoneMarker)
	}
	if o.AfterSuccess > Archive {
		return fmt.Errorf("unknown AfterSuccess %d", o.AfterSuccess)
	}
	for _, f := range []struct{ what, name string }{{"archive folder", o.ArchiveFolder}, {"error folder", o.ErrorFolder}} {
		if f.name == "" {
			continue
		}
		if err := ValidName(f.name); err != nil {
			return fmt.Errorf("%s %q: %w", f.what, f.name, err)
		}
	}
	return p.validateCapabilities()
}

// validateCapabilities checks that the Source can do what the options ask.
func (p *Picker) validateCapabilities() error {
	o := &p.opts
	_, canRemove := p.src.(usersync.Remover)
	_, canRename := p.src.(usersync.Renamer)
	for _, need := range []struct {
		asked, can bool
		what       string
	}{
		{o.AfterSuccess == Delete, canRemove, "delete after success: the source cannot remove files"},
		{o.AfterSuccess == Archive, canRename, "archive after success: the source cannot move files"},
		{o.ErrorFolder != "", canRename, "error folder: the source cannot move files"},
		{o.DoneMarker != "", canRemove, "done marker: the source cannot remove markers after success"},
	} {
		if need.asked && !need.can {
			return fmt.Errorf("%s: %w", need.what, errors.ErrUnsupported)
		}
	}
	return nil
}

// A Waiting file is one a Picker did not take (yet), and why.
type Waiting struct {
	usersync.FileInfo
	Reason string // e.g. "modified 12s ago, taken after 1m0s"
}

// List returns the ready files, sorted by name; see [Picker.Ready]. It
// logs the files it leaves waiting: at Info level when a file starts to
// wait, at Debug level while it keeps waiting, so that a Runner listing
// every minute does not repeat the same line all night.
func (p *Picker) List(ctx context.Context) ([]usersync.FileInfo, error) {
	ready, waiting, err := p.Ready(ctx)
	p.logWaiting(ctx, waiting)
	return ready, err
}

func (p *Picker) logWaiting(ctx context.Context, waiting []Waiting) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := make(map[string]bool, len(waiting))
	for _, w := range waiting {
		level := slog.LevelInfo
		if p.waiting[w.Name] {
			level = slog.LevelDebug
		}
		p.log.Log(ctx, level, "usersync: file not taken yet", "file", w.Name, "reason", w.Reason)
		now[w.Name] = true
	}
	p.waiting = now
}

// Ready lists the wrapped Source and sorts its files matching the pattern
// into those ready to take, sorted by name, and those left waiting, with
// the reason. With StableFor set it looks twice, StableFor apart.
func (p *Picker) Ready(ctx context.Context) (ready []usersync.FileInfo, waiting []Waiting, err error) {
	return p.ready(ctx, true)
}

func (p *Picker) ready(ctx context.Context, settle bool) ([]usersync.FileInfo, []Waiting, error) {
	files, err := p.src.List(ctx)
	if err != nil {
		return nil, nil, err
	}
	present := make(map[string]bool, len(files))
	for _, f := range files {
		present[f.Name] = true
	}
	var cands []usersync.FileInfo
	var waiting []Waiting
	wait := func(f usersync.FileInfo, format string, args ...any) {
		waiting = append(waiting, Waiting{f, fmt.Sprintf(format, args...)})
	}
	now := p.opts.Now()
	for _, f := range files {
		if !p.matches(f.Name) {
			continue
		}
		if m := p.marker(f.Name); m != "" && !present[m] {
			wait(f, "no done-marker %s yet", m)
			continue
		}
		if why := p.tooYoung(f, now); why != "" {
			wait(f, "%s", why)
			continue
		}
		cands = append(cands, f)
	}
	if settle && p.opts.StableFor > 0 && len(cands) > 0 {
		if cands, waiting, err = p.settle(ctx, cands, waiting); err != nil {
			return nil, nil, err
		}
	}
	if n := p.opts.MaxFiles; n > 0 && len(cands) > n {
		slices.SortStableFunc(cands, olderFirst)
		for _, f := range cands[n:] {
			wait(f, "more than %d files ready; the oldest go first", n)
		}
		cands = cands[:n]
	}
	slices.SortFunc(cands, func(a, b usersync.FileInfo) int { return strings.Compare(a.Name, b.Name) })
	return cands, waiting, nil
}

// olderFirst orders files by modification time, then by name; a file
// without a time sorts first, as the Source cannot tell it is newer.
func olderFirst(a, b usersync.FileInfo) int {
	if c := a.ModTime.Compare(b.ModTime); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// matches reports whether name is a data file the pattern selects. Done
// markers never are.
func (p *Picker) matches(name string) bool {
	if p.opts.DoneMarker != "" && strings.HasSuffix(name, p.opts.DoneMarker) {
		return false
	}
	if p.opts.Pattern == "" {
		return true
	}
	ok, _ := path.Match(p.opts.Pattern, name) // the pattern was checked by Pickup
	return ok
}

// marker returns the done-marker's name for the file name, or "".
func (p *Picker) marker(name string) string {
	if p.opts.DoneMarker == "" {
		return ""
	}
	return name + p.opts.DoneMarker
}

func (p *Picker) minAge() time.Duration {
	switch {
	case p.opts.MinAge < 0:
		return 0
	case p.opts.MinAge > 0:
		return p.opts.MinAge
	case p.opts.DoneMarker != "":
		return 0
	}
	return DefaultMinAge
}

// tooYoung says why f is not old enough yet, or returns "".
func (p *Picker) tooYoung(f usersync.FileInfo, now time.Time) string {
	min := p.minAge()
	if min == 0 {
		return ""
	}
	if f.ModTime.IsZero() {
		return "the source reports no modification time, so its age is unknown"
	}
	age := now.Sub(f.ModTime)
	if age < 0 {
		return fmt.Sprintf("modified %s in the future (is the server's clock ahead?), taken after %s", -age.Round(time.Second), min)
	}
	if age < min {
		return fmt.Sprintf("modified %s ago, taken after %s", age.Round(time.Second), min)
	}
	return ""
}

// settle looks at the folder again after StableFor and keeps the
// candidates whose size and modification time did not change.
func (p *Picker) settle(ctx context.Context, cands []usersync.FileInfo, waiting []Waiting) ([]usersync.FileInfo, []Waiting, error) {
	if err := p.opts.Sleep(ctx, p.opts.StableFor); err != nil {
		return nil, nil, err
	}
	again, err := p.src.List(ctx)
	if err != nil {
		return nil, nil, err
	}
	now := make(map[string]usersync.FileInfo, len(again))
	for _, f := range again {
		now[f.Name] = f
	}
	stable := cands[:0]
	for _, f := range cands {
		g, ok := now[f.Name]
		switch {
		case !ok:
			// Gone: nothing to take. Moved away, or renamed into place
			// under another name, which the next run sees.
		case g.Size != f.Size || !g.ModTime.Equal(f.ModTime):
			waiting = append(waiting, Waiting{g, fmt.Sprintf("changed within %s (size %d, then %d)", p.opts.StableFor, f.Size, g.Size)})
		default:
			stable = append(stable, f)
		}
	}
	return stable, waiting, nil
}

// Open opens the named file of the wrapped Source. When a done-marker
// holds a manifest naming the file, the stream fails with an error
// wrapping usersync.ErrIntegrity, instead of ending, if the content does
// not have the SHA-256 the manifest gives.
func (p *Picker) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := ValidName(name); err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	var want []byte
	if m := p.marker(name); m != "" && p.matches(name) {
		var err error
		if want, err = p.manifestHash(ctx, m, path.Base(name)); err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
	}
	rc, err := p.src.Open(ctx, name)
	if err != nil || want == nil {
		return rc, err
	}
	return newHashCheck(rc, want, name), nil
}

// manifestHash reads the marker and returns the SHA-256 it gives for the
// file base, or nil if it gives none (an empty marker, or a manifest of
// other files) or is missing.
func (p *Picker) manifestHash(ctx context.Context, marker, base string) ([]byte, error) {
	rc, err := p.src.Open(ctx, marker)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("done-marker %s: %w", marker, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxMarkerSize))
	if err != nil {
		return nil, fmt.Errorf("done-marker %s: %w", marker, err)
	}
	return parseManifest(string(data), base), nil
}

// parseManifest returns the SHA-256 that a manifest in sha256sum format
// ("<64 hex digits>  name", or " *name" for binary mode) gives for base;
// a line of just the digits applies to the file the marker belongs to.
// Other lines are ignored: many senders write a timestamp or a row count
// in their done files.
func parseManifest(manifest, base string) []byte {
	for line := range strings.Lines(manifest) {
		fields := strings.Fields(line)
		if len(fields) == 0 || len(fields[0]) != 64 {
			continue
		}
		sum, err := hex.DecodeString(fields[0])
		if err != nil {
			continue
		}
		if len(fields) == 1 || strings.TrimPrefix(fields[1], "*") == base {
			return sum
		}
	}
	return nil
}

// Applied reports whether the content of f is the content last applied
// from a file of that name. It logs when it is.
func (p *Picker) Applied(ctx context.Context, f usersync.FileResult) (bool, error) {
	st, err := p.applied(ctx, f.Name)
	if st == nil || err != nil {
		return false, err
	}
	if st.SHA256 != f.Hash() {
		return false, nil
	}
	p.log.InfoContext(ctx, "usersync: file content already applied", "file", f.Name, "sha256", st.SHA256, "applied", st.Applied)
	return true, nil
}

// MaybeApplied reports whether f may hold the content last applied from a
// file of that name: there is one, and f, as listed, is of its size or of
// an unknown size. The Pipeline then reads the file to learn its SHA-256
// for Applied; otherwise it reads it only once.
func (p *Picker) MaybeApplied(ctx context.Context, f usersync.FileInfo) (bool, error) {
	st, err := p.applied(ctx, f.Name)
	if st == nil || err != nil {
		return false, err
	}
	return f.Size < 0 || st.Size == f.Size, nil
}

// applied returns what the Store says of the content last applied from a
// file named name, or nil if it knows of none.
func (p *Picker) applied(ctx context.Context, name string) (*appliedState, error) {
	v, err := p.opts.Store.Get(ctx, p.stateKey(name))
	if errors.Is(err, usersync.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st appliedState
	if err := json.Unmarshal(v, &st); err != nil {
		return nil, fmt.Errorf("state %s: %w", p.stateKey(name), err)
	}
	return &st, nil
}

// appliedState is what a Picker stores per file name.
type appliedState struct {
	SHA256  string    `json:"sha256"`
	Size    int64     `json:"size"`
	Applied time.Time `json:"applied"`
}

func (p *Picker) stateKey(name string) string { return p.opts.StatePrefix + name }

// Finish acts on a file once the run is over. After success (outcome nil)
// it remembers the content's SHA-256 first, so that even if what follows
// fails the content is not applied again, then keeps, deletes or archives
// the file, then removes its done-marker. After a failure it moves the
// file and its marker to the error folder if the file's content was at
// fault and one is set, and otherwise leaves them; it never deletes
// anything after a failure. A file that vanished in the meantime counts as
// done. A file that changed since it was read (another size or
// modification time: a new upload under the same name) is neither moved
// nor deleted, nor is its marker: Finish returns an error wrapping
// [ErrChanged] and the next run reads the new content.
func (p *Picker) Finish(ctx context.Context, f usersync.FileResult, outcome error) error {
	if outcome != nil {
		if p.opts.ErrorFolder == "" || !contentFault(f.Err) {
			return nil
		}
		if err := p.unchanged(ctx, f); err != nil {
			return err
		}
		err := p.moveAside(ctx, f.Name, p.opts.ErrorFolder)
		if m := p.marker(f.Name); m != "" {
			err = errors.Join(err, p.moveAside(ctx, m, p.opts.ErrorFolder))
		}
		return err
	}
	err := p.remember(ctx, f)
	if p.opts.AfterSuccess == Keep && p.marker(f.Name) == "" {
		return err
	}
	if cerr := p.unchanged(ctx, f); cerr != nil {
		return errors.Join(err, cerr)
	}
	switch p.opts.AfterSuccess {
	case Delete:
		err = errors.Join(err, p.remove(ctx, f.Name))
	case Archive:
		err = errors.Join(err, p.moveAside(ctx, f.Name, p.opts.ArchiveFolder))
	}
	if m := p.marker(f.Name); m != "" {
		err = errors.Join(err, p.remove(ctx, m))
	}
	return err
}

// ErrChanged is wrapped by the error of [Picker.Finish] for a file that
// changed after the run read it, and was therefore left where it is.
var ErrChanged = errors.New("file changed after it was read")

// unchanged returns nil if f's file is as the run read it (or gone), and
// an error wrapping ErrChanged if its size or modification time differ:
// moving or deleting it would lose content nobody read.
func (p *Picker) unchanged(ctx context.Context, f usersync.FileResult) error {
	files, err := p.src.List(ctx)
	if err != nil {
		return fmt.Errorf("check %s before acting on it: %w", f.Name, err)
	}
	i, found := slices.BinarySearchFunc(files, f.Name, func(fi usersync.FileInfo, name string) int {
		return strings.Compare(fi.Name, name)
	})
	if !found {
		return nil
	}
	now := files[i]
	// The size listed when the run picked the file; a failed file may have
	// been read only in part.
	want := f.Size
	if want < 0 && f.Err == nil {
		want = f.Bytes
	}
	if (now.Size >= 0 && want >= 0 && now.Size != want) ||
		(!now.ModTime.IsZero() && !f.ModTime.IsZero() && !now.ModTime.Equal(f.ModTime)) {
		return fmt.Errorf("%s: %w (now %d bytes, modified %s); left for the next run",
			f.Name, ErrChanged, now.Size, now.ModTime.UTC().Format(time.RFC3339))
	}
	return nil
}

func (p *Picker) remember(ctx context.Context, f usersync.FileResult) error {
	v, err := json.Marshal(appliedState{SHA256: f.Hash(), Size: f.Bytes, Applied: p.opts.Now().UTC()})
	if err != nil {
		return err
	}
	if err := p.opts.Store.Put(ctx, p.stateKey(f.Name), v); err != nil {
		return fmt.Errorf("remember applied content of %s: %w", f.Name, err)
	}
	return nil
}

// contentFault reports whether a file failed because of what it holds,
// rather than because its transfer failed (which the next run may not
// repeat) or the run was canceled.
func contentFault(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, usersync.ErrIntegrity) {
		return false
	}
	var fe *usersync.FileError
	if errors.As(err, &fe) {
		switch fe.Op {
		case "list", "open", "read", "close":
			return false
		}
	}
	return true
}

// remove deletes name; a file already gone counts as removed.
func (p *Picker) remove(ctx context.Context, name string) error {
	if err := p.Remove(ctx, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// maxArchiveTries bounds the names tried for one archived file.
const maxArchiveTries = 100

// moveAside moves name into folder, under a name that starts with the
// time, such as archive/20260314T150926Z-users.csv, or
// archive/20260314T150926Z-2-users.csv if that is taken: an archive never
// replaces an earlier one. A file already gone counts as moved.
func (p *Picker) moveAside(ctx context.Context, name, folder string) error {
	stamp := p.opts.Now().UTC().Format("20060102T150405Z")
	base := path.Base(name)
	for i := 1; i <= maxArchiveTries; i++ {
		to := path.Join(folder, stamp+"-"+base)
		if i > 1 {
			to = path.Join(folder, fmt.Sprintf("%s-%d-%s", stamp, i, base))
		}
		taken, err := p.exists(ctx, to)
		if err != nil {
			return err
		}
		if taken {
			continue
		}
		err = p.Rename(ctx, name, to)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return fmt.Errorf("move %s to %s: %d names with the same time are taken", name, folder, maxArchiveTries)
}

// exists reports whether the wrapped Source has a file under name.
func (p *Picker) exists(ctx context.Context, name string) (bool, error) {
	rc, err := p.src.Open(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	rc.Close()
	return true, nil
}

// Remove removes the named file from the wrapped Source, or fails with an
// error wrapping errors.ErrUnsupported if it cannot remove files.
func (p *Picker) Remove(ctx context.Context, name string) error {
	rm, ok := p.src.(usersync.Remover)
	if !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: errors.ErrUnsupported}
	}
	return rm.Remove(ctx, name)
}

// Rename moves a file of the wrapped Source, or fails with an error
// wrapping errors.ErrUnsupported if it cannot move files.
func (p *Picker) Rename(ctx context.Context, oldname, newname string) error {
	rn, ok := p.src.(usersync.Renamer)
	if !ok {
		return &fs.PathError{Op: "rename", Path: oldname, Err: errors.ErrUnsupported}
	}
	return rn.Rename(ctx, oldname, newname)
}

// Check runs the wrapped Source's checks, if it has any, then checks that
// a file matching the pattern is there (ready or waiting, and why) and
// that the Store answers. It changes nothing, and does not wait for
// StableFor.
func (p *Picker) Check(ctx context.Context) []usersync.CheckResult {
	var results []usersync.CheckResult
	if ch, ok := p.src.(usersync.Checker); ok {
		results = ch.Check(ctx)
	}
	return append(results, p.checkFiles(ctx), p.checkStore(ctx))
}

func (p *Picker) checkFiles(ctx context.Context) usersync.CheckResult {
	pattern := p.opts.Pattern
	if pattern == "" {
		pattern = "*"
	}
	r := usersync.CheckResult{Name: "expected file " + pattern}
	ready, waiting, err := p.ready(ctx, false)
	if err != nil {
		r.Err = err
		return r
	}
	if len(ready)+len(waiting) == 0 {
		r.Err = fmt.Errorf("no file matching %q in the folder: %w", pattern, fs.ErrNotExist)
		return r
	}
	var parts []string
	for _, f := range ready {
		parts = append(parts, fmt.Sprintf("%s (%d bytes): ready", f.Name, f.Size))
	}
	for _, w := range waiting {
		parts = append(parts, fmt.Sprintf("%s (%d bytes): waiting, %s", w.Name, w.Size, w.Reason))
	}
	r.Detail = strings.Join(parts, "; ")
	return r
}

func (p *Picker) checkStore(ctx context.Context) usersync.CheckResult {
	r := usersync.CheckResult{Name: "pickup state store"}
	_, err := p.opts.Store.Get(ctx, p.opts.StatePrefix+".check")
	if err != nil && !errors.Is(err, usersync.ErrNotFound) {
		r.Err = err
	} else {
		r.Detail = "readable"
	}
	return r
}

// Close closes the wrapped Source.
func (p *Picker) Close() error { return p.src.Close() }

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hashCheck passes a stream through, and fails it with an error wrapping
// usersync.ErrIntegrity, in place of io.EOF, if its SHA-256 is not want.
type hashCheck struct {
	rc   io.ReadCloser
	h    hash.Hash
	want []byte
	name string
}

func newHashCheck(rc io.ReadCloser, want []byte, name string) *hashCheck {
	return &hashCheck{rc: rc, h: sha256.New(), want: want, name: name}
}

func (c *hashCheck) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	c.h.Write(p[:n])
	if err == io.EOF {
		if got := c.h.Sum(nil); !bytes.Equal(got, c.want) {
			return n, fmt.Errorf("%w: %s has SHA-256 %x, its manifest says %x", usersync.ErrIntegrity, c.name, got, c.want)
		}
	}
	return n, err
}

func (c *hashCheck) Close() error { return c.rc.Close() }

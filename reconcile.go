package usersync

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"iter"
	"slices"
	"strings"
	"time"
)

// A Feed is the verified content of one run: every record of every file, each
// of which was read to a clean end.
//
// The Pipeline keeps a feed's records in a spool under its memory budget
// (see [Pipeline.MemoryBudget]), not in Records: a Reconciler reads them
// with [Feed.Sorted], or all at once with [Feed.Load].
type Feed struct {
	Files []FileResult
	// Records holds the records of a feed built in memory, by a test or a
	// host, in file order, fragments (see [Record.Fragment]) included. The
	// Pipeline leaves it empty.
	Records []Record
	// Rejected lists every row the Mapper rejected. Their users are in the
	// file even though their rows could not be used: a Reconciler must not
	// treat them as missing (see RowError.Key).
	Rejected []*RowError
	// Groups lists the groups the files describe, with their display names,
	// as [GroupReader]s report them: a reconciler names the groups it
	// creates after them, and renames the managed groups whose name
	// differs. Groups the records name that are not listed here are known by
	// their ID alone. A group listed here says its Parent and Account too,
	// empty meaning none: a Reconciler sets them on a Sink that stores them
	// (see [GroupLinker]), and creates the parents of the groups it creates.
	Groups []Group
	// OutOfScope lists the users whose rows a filter left out of the
	// sync's scope (see [ScopeReader]), in order of Key. They are not in
	// the feed: a Reconciler treats them as absent, and may say why.
	OutOfScope []OutOfScope
	// Time is when the run started. Reconcilers take it as "now" (for grace
	// periods, say), so that a plan depends only on its inputs.
	Time time.Time

	spool *spool // the Pipeline's records; nil for a feed built in memory
	// related is what the Pipeline learned of the run's related files.
	related related
}

// Len returns the number of records, not counting fragments.
func (f *Feed) Len() int {
	if f.spool != nil {
		return f.spool.Len()
	}
	n := 0
	for i := range f.Records {
		if !f.Records[i].Fragment {
			n++
		}
	}
	return n
}

// Sorted yields every record in order of Key (as Go compares strings),
// records with the same key in file order, each with its place in file
// order. Records of the Pipeline's feeds are read back from its spool and
// cost memory only while they are held.
//
// Sorted never yields fragments (see [Record.Fragment]): it merges their
// groups into the first record of their key, in file order, sorted and
// without duplicates. When the feed has fragments, every record speaks for
// its groups: one whose Groups is nil and has no fragment comes with an
// empty Groups. A fragment whose key has no record is left out; the
// Pipeline rejected it already.
func (f *Feed) Sorted(ctx context.Context) iter.Seq2[FeedRecord, error] {
	if f.spool != nil {
		if f.spool.nfrag == 0 {
			return f.spool.sorted(ctx)
		}
		return joinFragments(f.spool.sorted(ctx), f.related.dropped)
	}
	seq := func(yield func(FeedRecord, error) bool) {
		idx := make([]int, len(f.Records))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(i, j int) int { return strings.Compare(f.Records[i].Key, f.Records[j].Key) })
		// A record's Index is its place among the records, or among
		// the fragments, in file order.
		pos := make([]int, len(f.Records))
		var users, fragments int
		for i := range f.Records {
			if f.Records[i].Fragment {
				pos[i], fragments = fragments, fragments+1
			} else {
				pos[i], users = users, users+1
			}
		}
		for _, i := range idx {
			if !yield(FeedRecord{Index: pos[i], Record: f.Records[i]}, nil) {
				return
			}
		}
	}
	if slices.ContainsFunc(f.Records, func(r Record) bool { return r.Fragment }) {
		return joinFragments(seq, nil)
	}
	return seq
}

// Load returns every record, in file order, fragments merged as
// [Feed.Sorted] merges them. It holds the whole feed in memory:
// Reconcilers that can work from [Feed.Sorted] should.
func (f *Feed) Load(ctx context.Context) ([]Record, error) {
	if f.spool == nil && !slices.ContainsFunc(f.Records, func(r Record) bool { return r.Fragment }) {
		return f.Records, nil
	}
	recs := make([]Record, f.Len())
	for r, err := range f.Sorted(ctx) {
		if err != nil {
			return nil, err
		}
		recs[r.Index] = r.Record
	}
	return recs, nil
}

// A GroupReader is a RecordReader that also learns the groups a file
// describes, with their display names: from a column of group names beside
// the column of group IDs, or from a file that lists groups. The Pipeline
// adds them to [Feed.Groups] once the file is read to its end.
//
// A file whose GroupReader returns no records and lists groups is a groups
// file: the Pipeline does not fail it as empty, and, when the run has one,
// rejects the rows of memberships files (see [Record.Fragment]) that name
// a group no groups file lists.
type GroupReader interface {
	RecordReader
	Groups() []Group
}

// A Reconciler compares the feed with the Sink's current state and decides
// what to change. It must not change anything itself.
//
// A Reconciler decides the safety policy too: which users it may touch, what
// happens to users missing from the feed, and which guards hold a plan for
// an administrator's approval (see [Plan.Hold]).
//
// A Reconciler should list the Sink's users and groups once each, to their
// end: the Pipeline fingerprints what they yield as they pass (see
// [Plan.Fingerprint]), and must otherwise list them again. One that may
// plan many changes lists them with [Feed.ChangeWriter], which keeps them
// within the run's memory budget.
type Reconciler interface {
	Reconcile(ctx context.Context, feed *Feed, current Lister) (*Plan, error)
}

// A DigestMerger is a [Reconciler] that plans from the digests of a Sink
// that is a [DigestLister], listing them once, to their end. A Pipeline
// whose Reconciler merges lists the digests while it reads the files, in a
// goroutine of its own, and hands the Reconciler that listing, read back
// from a temporary file: the database's scan of every stored user and the
// mapping of the files then run on two cores instead of one after the
// other. The Pipeline lists only once it knows the files need reading (not
// for a file applied before).
type DigestMerger interface {
	Reconciler
	// MergesDigests reports whether Reconcile lists the digests of a
	// DigestLister it is given.
	MergesDigests() bool
}

// A Lister reports a Sink's current state, streaming, so that a directory of
// a million users need not sit in memory twice. Sinks that can list
// implement it; see [Sink].
type Lister interface {
	// Users yields every user the Sink holds, managed or not, in any order.
	// An error ends the sequence.
	Users(ctx context.Context) iter.Seq2[Record, error]
	// Groups yields every group that has an external ID.
	Groups(ctx context.Context) iter.Seq2[Group, error]
}

// A Fingerprint identifies the state a [Lister] reports: every user with
// every field a Sink keeps (key, attributes, groups, flags, missing marker),
// and every group. Listing the same state again gives the same Fingerprint,
// whatever the order of the users, as long as each user's attributes come
// in the same order; a Lister that changes that order from one listing to
// the next makes every approved plan look stale, which is safe but useless.
//
// It tells states apart for approvals, which compare the state a plan was
// computed from with the state it is about to change; it is not meant to
// resist someone crafting a collision.
type Fingerprint [16]byte

// String returns the fingerprint in hex.
func (f Fingerprint) String() string { return hex.EncodeToString(f[:]) }

// MarshalText encodes the fingerprint in hex.
func (f Fingerprint) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText decodes a fingerprint written by MarshalText.
func (f *Fingerprint) UnmarshalText(b []byte) error {
	if hex.DecodedLen(len(b)) != len(f) {
		return fmt.Errorf("usersync: fingerprint %q: want %d hex digits", b, 2*len(f))
	}
	_, err := hex.Decode(f[:], b)
	return err
}

// ListFingerprint lists l's users and groups and returns their Fingerprint.
// For a [DigestLister] it lists the users' digests rather than the users.
func ListFingerprint(ctx context.Context, l Lister) (Fingerprint, error) {
	return newFingerprinter(l).fingerprint(ctx)
}

// A tally adds up the hashes of users, or of groups, so that the order of a
// listing does not matter: a state of a million users is fingerprinted as
// it streams past, without being held or sorted.
type tally struct{ sum, n uint64 }

func (t *tally) add(h uint64) { t.sum += h; t.n++ }

// A hasher hashes users and groups one at a time.
type hasher struct {
	buf []byte
	// layouts caches the hash of each Layout's names: a million users
	// share a few Layouts.
	layouts  map[*Layout]uint32
	last     *Layout
	lastHash uint32
}

func (h *hasher) user(r *Record) uint64 {
	b := appendString(h.buf[:0], r.Key)
	b = binary.LittleEndian.AppendUint32(b, h.layoutHash(r.Attrs.layout))
	b = appendString(b, r.Attrs.data) // values are length-prefixed already
	b = binary.AppendUvarint(b, uint64(len(r.Groups)))
	for _, g := range r.Groups {
		b = appendString(b, g)
	}
	b = r.appendState(b)
	h.buf = b
	return sum64(b)
}

func (h *hasher) digest(d *UserDigest) uint64 {
	b := appendString(h.buf[:0], d.Key)
	b = binary.LittleEndian.AppendUint64(b, uint64(d.Attrs))
	b = binary.LittleEndian.AppendUint64(b, uint64(d.Groups))
	if d.Known {
		b = append(b, 1)
	}
	h.buf = b
	return sum64(b)
}

func (h *hasher) group(g Group) uint64 {
	h.buf = appendString(appendString(h.buf[:0], g.ID), g.Name)
	if g.Parent != "" || g.Account != "" { // groups without them hash as they did
		h.buf = appendString(appendString(h.buf, g.Parent), g.Account)
	}
	return sum64(h.buf)
}

// layoutHash returns the CRC of l's names, from the cache when it can.
func (h *hasher) layoutHash(l *Layout) uint32 {
	if l == h.last && l != nil {
		return h.lastHash
	}
	v, ok := h.layouts[l]
	if !ok {
		var b []byte
		for _, n := range l.names0() {
			b = appendString(b, n)
		}
		v = crc32.Checksum(b, castagnoli)
		if h.layouts == nil {
			h.layouts = make(map[*Layout]uint32)
		}
		h.layouts[l] = v
	}
	h.last, h.lastHash = l, v
	return v
}

// A fingerprinter passes a Lister's listings on while it fingerprints them,
// so that a plan's Fingerprint is that of the very listing it was computed
// from. A listing left before its end does not count. The users of a
// [DigestLister] are fingerprinted by their digests: a Reconciler that reads
// only the digests and some users in full then needs no full listing.
type fingerprinter struct {
	Lister
	digests               DigestLister // nil unless Lister is one
	pre                   *prelisting  // the digests, listed ahead; nil if not
	users, groups         tally
	usersDone, groupsDone bool
}

// LinksGroups passes the question on to the Sink's Lister (see
// [GroupLinker]).
func (f *fingerprinter) LinksGroups() bool { return LinksGroups(f.Lister) }

func newFingerprinter(l Lister) *fingerprinter {
	f := &fingerprinter{Lister: l}
	f.digests, _ = l.(DigestLister)
	return f
}

// lister returns f as the Lister to give a Reconciler: a DigestLister when
// the Sink's is one.
func (f *fingerprinter) lister() Lister {
	if f.digests != nil {
		return digestFingerprinter{f}
	}
	return f
}

func (f *fingerprinter) Users(ctx context.Context) iter.Seq2[Record, error] {
	if f.digests != nil {
		return f.Lister.Users(ctx) // fingerprinted by Digests
	}
	return func(yield func(Record, error) bool) {
		var h hasher
		var t tally
		for u, err := range f.Lister.Users(ctx) {
			if err != nil {
				yield(u, err)
				return
			}
			t.add(h.user(&u))
			if !yield(u, nil) {
				return
			}
		}
		f.users, f.usersDone = t, true
	}
}

// prelist starts listing the digests of a DigestLister into a file in dir,
// for listDigests to read back; Close removes it.
func (f *fingerprinter) prelist(ctx context.Context, dir string) {
	f.pre = prelist(ctx, dir, f.digests)
}

// Close ends a listing that prelist started.
func (f *fingerprinter) Close() error {
	if f.pre == nil {
		return nil
	}
	return f.pre.Close()
}

// digests lists the digests of a DigestLister, or reads back those
// prelist listed, fingerprinting them.
func (f *fingerprinter) listDigests(ctx context.Context) iter.Seq2[UserDigest, error] {
	list := f.digests.Digests
	if f.pre != nil {
		list = f.pre.digests
	}
	return func(yield func(UserDigest, error) bool) {
		var h hasher
		var t tally
		for d, err := range list(ctx) {
			if err != nil {
				yield(d, err)
				return
			}
			t.add(h.digest(&d))
			if !yield(d, nil) {
				return
			}
		}
		f.users, f.usersDone = t, true
	}
}

func (f *fingerprinter) Groups(ctx context.Context) iter.Seq2[Group, error] {
	return func(yield func(Group, error) bool) {
		var h hasher
		var t tally
		for g, err := range f.Lister.Groups(ctx) {
			if err != nil {
				yield(g, err)
				return
			}
			t.add(h.group(g))
			if !yield(g, nil) {
				return
			}
		}
		f.groups, f.groupsDone = t, true
	}
}

// fingerprint returns the Fingerprint of the last complete listing, and
// lists whatever was not listed to its end.
func (f *fingerprinter) fingerprint(ctx context.Context) (Fingerprint, error) {
	if !f.usersDone {
		users := f.Users(ctx)
		if f.digests != nil {
			users = func(yield func(Record, error) bool) {
				for _, err := range f.listDigests(ctx) {
					if err != nil && !yield(Record{}, err) {
						return
					}
				}
			}
		}
		for _, err := range users {
			if err != nil {
				return Fingerprint{}, fmt.Errorf("list users: %w", err)
			}
		}
	}
	if !f.groupsDone {
		for _, err := range f.Groups(ctx) {
			if err != nil {
				return Fingerprint{}, fmt.Errorf("list groups: %w", err)
			}
		}
	}
	var b [32]byte
	binary.LittleEndian.PutUint64(b[0:], f.users.sum)
	binary.LittleEndian.PutUint64(b[8:], f.users.n)
	binary.LittleEndian.PutUint64(b[16:], f.groups.sum)
	binary.LittleEndian.PutUint64(b[24:], f.groups.n)
	sum := sha256.Sum256(b[:])
	return Fingerprint(sum[:16]), nil
}

// digestFingerprinter is a fingerprinter over a DigestLister, and is one.
type digestFingerprinter struct{ *fingerprinter }

func (d digestFingerprinter) Digests(ctx context.Context) iter.Seq2[UserDigest, error] {
	return d.listDigests(ctx)
}

func (d digestFingerprinter) LookupUsers(ctx context.Context, keys []string) iter.Seq2[Record, error] {
	return d.digests.LookupUsers(ctx, keys)
}

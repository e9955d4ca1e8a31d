package usersync

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"iter"
	"slices"
)

// A Digest sums up part of a user as a Sink holds it, in 64 bits: two
// CRC-32s (Castagnoli and IEEE), computed in hardware on common CPUs, of a
// canonical encoding. Equal users have equal Digests; two users that differ
// in a value or two have different ones unless a collision of both CRCs
// happens (about one chance in 2^64 for a random change; CRCs detect every
// change confined to 64 consecutive bits). It is not meant to resist
// someone crafting a collision.
type Digest uint64

// A UserDigest is what a [DigestLister] lists of one user: its key and
// digests of the rest, so that a Reconciler can tell an unchanged user from
// a changed one without reading or decoding it.
type UserDigest struct {
	// Key is the user's key. A listing's keys may share memory (the
	// Pipeline reads those it listed ahead in blocks): a consumer that
	// keeps many of them keeps clones (strings.Clone).
	Key string
	// Attrs digests the user's attributes (names and values, in any
	// order), its Inactive and Managed flags and its missing marker.
	Attrs Digest
	// Groups digests the user's memberships ([Record.Groups]): a feed that
	// says nothing about groups leaves them out of the comparison.
	Groups Digest
	// Known says that Attrs and Groups are those DigestUser gives for the
	// user as [Lister.Users] would yield it. A Sink that cannot vouch for
	// that, because the user changed outside of the library since the
	// Sink last computed them (an UPDATE by hand, a membership row deleted),
	// says false: the Reconciler then reads the user in full. Attrs and
	// Groups must still change whenever the user does (a version counter
	// will do), so that a [Fingerprint] of the listing tells states apart.
	Known bool
}

// DigestUser returns the digests of r as a [DigestLister] lists them, with
// Known set. Origin is left out. It allocates a buffer; code that digests
// many users uses a [Digester].
func DigestUser(r *Record) UserDigest {
	var d Digester
	return d.Digest(r)
}

// A Digester computes what [DigestUser] does, reusing one buffer, so that
// digesting a million users allocates nothing. The zero value is ready to
// use; a Digester is not safe for concurrent use.
type Digester struct{ buf []byte }

// Digest returns DigestUser(r).
func (dg *Digester) Digest(r *Record) UserDigest {
	b := r.Attrs.appendSorted(dg.buf[:0])
	b = r.appendState(b)
	attrs := Digest(sum64(b))

	b = b[:0]
	if r.Groups == nil {
		b = append(b, 0) // nil and empty differ: see Record.Groups
	} else {
		b = binary.AppendUvarint(append(b, 1), uint64(len(r.Groups)))
		for _, g := range r.Groups {
			b = appendString(b, g)
		}
	}
	dg.buf = b
	return UserDigest{Key: r.Key, Attrs: attrs, Groups: Digest(sum64(b)), Known: true}
}

// appendSorted appends the attributes to b in a form that does not depend
// on the order of their Layout: the names in order of name, then the values
// in the same order, each length-prefixed. The names come from the Layout,
// which encodes them once.
func (a Attrs) appendSorted(b []byte) []byte {
	l := a.layout
	if l.Len() == 0 {
		return append(b, 0)
	}
	b = append(b, l.sortedNames...)
	if l.sorted == nil { // names already in order: the values are too
		return append(b, a.data...)
	}
	var starts [64]int
	offs := starts[:0]
	for d, off := a.data, 0; len(d) > 0; {
		n, w := uvarint(d)
		offs = append(offs, off)
		d = d[w+n:]
		off += w + n
	}
	for _, i := range l.sorted {
		n, w := uvarint(a.data[offs[i]:])
		b = append(b, a.data[offs[i]:offs[i]+w+n]...)
	}
	return b
}

// encodeSortedNames returns the names' part of appendSorted's form.
func encodeSortedNames(names []string, sorted []int) []byte {
	b := binary.AppendUvarint(nil, uint64(len(names)))
	for j := range names {
		i := j
		if sorted != nil {
			i = sorted[j]
		}
		b = appendString(b, names[i])
	}
	return b
}

// sortedOrder returns the indexes of names in order of name, or nil when
// they are in order already.
func sortedOrder(names []string) []int {
	if slices.IsSorted(names) {
		return nil
	}
	idx := make([]int, len(names))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int {
		switch {
		case names[i] < names[j]:
			return -1
		case names[i] > names[j]:
			return 1
		}
		return 0
	})
	return idx
}

// A DigestLister is a [Lister] that can list every user's digests in key
// order without decoding the users, and read chosen users in full. It makes
// a sync's cost follow the number of users that changed rather than the
// size of the directory: the default Reconciler merges the feed, sorted by
// key, with this listing, and reads in full only the users whose digests
// differ from the feed's. A Sink implements it where it can keep the
// digests cheaply; sink/sinktest checks the contract.
//
// The digests must reflect the user as it is where the data lives: a change
// made behind the library's back must change them or clear Known, so that
// the next sync finds and repairs it.
//
// The default Reconciler calls LookupUsers from another goroutine while a
// listing of Digests may still be under way: the two must be safe to call
// concurrently. A lookup may wait for the listing to end (a database pool
// of one connection, say), but not fail for it.
type DigestLister interface {
	Lister
	// Digests yields the digests of every user the Sink holds, managed or
	// not, in strictly increasing order of Key as Go compares strings
	// (byte by byte). An error ends the sequence.
	Digests(ctx context.Context) iter.Seq2[UserDigest, error]
	// LookupUsers yields the users with the given keys, which are sorted
	// and distinct, as Users would yield them, in the order of keys; keys
	// the Sink does not hold are left out. An error ends the sequence.
	LookupUsers(ctx context.Context, keys []string) iter.Seq2[Record, error]
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sum64 hashes b to 64 bits with two unrelated CRCs, both computed in
// hardware on common CPUs: a million users take milliseconds.
func sum64(b []byte) uint64 {
	return uint64(crc32.Checksum(b, castagnoli))<<32 | uint64(crc32.ChecksumIEEE(b))
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// appendState appends r's flags and missing marker.
func (r *Record) appendState(b []byte) []byte {
	var flags byte
	if r.Inactive {
		flags |= 1
	}
	if r.Managed {
		flags |= 2
	}
	b = append(b, flags)
	b = binary.LittleEndian.AppendUint16(b, r.MissingRuns)
	return binary.LittleEndian.AppendUint64(b, uint64(r.MissingSince))
}

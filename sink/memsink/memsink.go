// Package memsink provides an in-memory [usersync.Sink]: the fake to use in
// tests and examples, and the reference implementation for Sink authors.
//
// A [Sink] implements [usersync.Sink], [usersync.Lister],
// [usersync.BatchApplier], [usersync.DigestLister] and
// [usersync.GroupLinker], and passes the conformance suite in
// sink/sinktest. It is safe for concurrent use.
//
// Besides the change path, a Sink has methods that bypass it: [Sink.PutUser]
// and [Sink.PutGroup] seed users and groups as an administrator would create
// them by hand, or as a host loads its existing directory; [Sink.User] and
// [Sink.Snapshot] read the state back, and [Sink.Invited] says whom it
// invited. [Sink.FailOn] makes chosen changes fail, to test how a caller
// copes.
//
// A Sink is compact enough to hold a million users: each user costs one
// slot of a slice and one map entry besides the strings and group list it
// holds, and users whose attributes come from the same file share one
// [usersync.Layout].
package memsink

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"sync"

	"github.com/usersync/usersync"
)

var (
	_ usersync.Sink         = (*Sink)(nil)
	_ usersync.Lister       = (*Sink)(nil)
	_ usersync.BatchApplier = (*Sink)(nil)
)

// listChunk is how many users Users copies per read lock. It bounds both the
// memory a listing takes and how often it checks its ctx.
const listChunk = 1024

// A Sink is an in-memory user directory. The zero value is an empty Sink
// ready to use; [New] returns one too.
type Sink struct {
	// FailOn, if set, is consulted before each change is applied: a non-nil
	// error fails that change alone, which then changes nothing. Set it
	// before the Sink is used; it is called without any lock held, so it
	// may call the Sink's read methods. ApplyBatch consults it for every
	// change of the batch before applying any of them.
	FailOn func(c usersync.Change) error

	mu sync.RWMutex
	// users holds one slot per user. A deleted user's slot is zeroed (an
	// empty key marks it free) and reused, never moved, so that Users can
	// walk the slice in chunks without holding the lock throughout.
	users []user
	free  []int          // free slots of users
	index map[string]int // key → slot
	// sorted holds keys in order, some perhaps deleted since; added, the
	// keys added since, in no order. Digests merges them: it sorts only
	// what was added.
	sorted, added []string
	groups        map[string]usersync.Group
	// invited lists the keys of users invited on their creation or
	// adoption, in order: what a product would have sent an email to.
	invited []string
}

// user is a stored usersync.Record without its Origin, which is always zero
// for Sink records: 80 bytes rather than 104, for each of a million users.
type user struct {
	key          string
	attrs        usersync.Attrs
	groups       []string // sorted, deduplicated, never changed in place
	inactive     bool
	managed      bool
	missingRuns  uint16
	missingSince int64
}

func (u *user) record() usersync.Record {
	return usersync.Record{
		Key: u.key, Attrs: u.attrs, Groups: u.groups, Inactive: u.inactive, Managed: u.managed,
		MissingRuns: u.missingRuns, MissingSince: u.missingSince,
	}
}

// setMissing stores the missing marker of r.
func (u *user) setMissing(r *usersync.Record) {
	u.missingRuns, u.missingSince = r.MissingRuns, r.MissingSince
}

// New returns an empty Sink.
func New() *Sink { return &Sink{} }

// init allocates the maps; callers hold s.mu for writing.
func (s *Sink) init() {
	if s.index == nil {
		s.index = make(map[string]int)
		s.groups = make(map[string]usersync.Group)
	}
}

// PutUser stores r as given, replacing any user with the same key, without
// going through Apply, FailOn or any check: a user an administrator created
// by hand has Managed false. The stored copy has a zero Origin and sorted,
// deduplicated Groups; the groups need not exist. PutUser panics if r.Key is
// empty.
func (s *Sink) PutUser(r usersync.Record) {
	if r.Key == "" {
		panic("memsink: PutUser: empty key")
	}
	groups := slices.Compact(slices.Sorted(slices.Values(r.Groups)))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	u := s.slot(r.Key)
	*u = user{key: r.Key, attrs: r.Attrs, groups: groups, inactive: r.Inactive, managed: r.Managed}
	u.setMissing(&r)
}

// PutGroup stores g as given, replacing any group with the same ID, without
// going through Apply or FailOn. It panics if g.ID is empty.
func (s *Sink) PutGroup(g usersync.Group) {
	if g.ID == "" {
		panic("memsink: PutGroup: empty ID")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	s.groups[g.ID] = g
}

// User returns the user with the given key, managed or not, and whether
// there is one. The record's Groups are shared with the Sink: treat them as
// read-only.
func (s *Sink) User(key string) (usersync.Record, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.index[key]
	if !ok {
		return usersync.Record{}, false
	}
	return s.users[i].record(), true
}

// Invited returns the keys of the users the Sink invited, in order: those
// that a CreateUser or AdoptUser with [usersync.InviteAuto] brought in. A
// user is invited once, when it is created or adopted, not when the change
// is applied again. The key is the one the user had then.
func (s *Sink) Invited() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.invited)
}

// Snapshot returns every user sorted by key and every group sorted by ID,
// as one consistent view. It copies the whole directory; to walk a large
// one, use [Sink.Users].
func (s *Sink) Snapshot() ([]usersync.Record, []usersync.Group) {
	s.mu.RLock()
	users := make([]usersync.Record, 0, len(s.index))
	for i := range s.users {
		if s.users[i].key != "" {
			users = append(users, s.users[i].record())
		}
	}
	groups := slices.Collect(maps.Values(s.groups))
	s.mu.RUnlock()
	slices.SortFunc(users, func(a, b usersync.Record) int { return cmp.Compare(a.Key, b.Key) })
	return users, sortGroups(groups)
}

// Users yields every user, managed or not, in no particular order. It
// checks ctx every 1024 users and, once ctx is done, yields its error and
// stops.
//
// Users does not hold a lock while the caller handles a user, so the caller
// may call any method of the Sink, Apply included, during the iteration.
// Like a map's range, the iteration is then not a snapshot: a user present
// throughout is yielded exactly once, but one created, changed or deleted
// meanwhile may be yielded in either state, or not at all, and one deleted
// and created again may be yielded twice.
func (s *Sink) Users(ctx context.Context) iter.Seq2[usersync.Record, error] {
	return func(yield func(usersync.Record, error) bool) {
		buf := make([]usersync.Record, 0, listChunk)
		for next := 0; ; {
			if err := ctx.Err(); err != nil {
				yield(usersync.Record{}, fmt.Errorf("memsink: listing users: %w", err))
				return
			}
			buf, next = s.chunk(buf[:0], next)
			if len(buf) == 0 {
				return
			}
			for _, r := range buf {
				if !yield(r, nil) {
					return
				}
			}
		}
	}
}

// chunk appends to buf the users from slot from on, until buf is full, and
// returns it with the slot to continue from.
func (s *Sink) chunk(buf []usersync.Record, from int) ([]usersync.Record, int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i := from
	for ; i < len(s.users) && len(buf) < cap(buf); i++ {
		if s.users[i].key != "" {
			buf = append(buf, s.users[i].record())
		}
	}
	return buf, i
}

// Groups yields every group, sorted by ID. Groups are few, so it copies
// them first and holds no lock while yielding. Once ctx is done it yields
// ctx's error and stops.
func (s *Sink) Groups(ctx context.Context) iter.Seq2[usersync.Group, error] {
	return func(yield func(usersync.Group, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(usersync.Group{}, fmt.Errorf("memsink: listing groups: %w", err))
			return
		}
		s.mu.RLock()
		groups := slices.Collect(maps.Values(s.groups))
		s.mu.RUnlock()
		for i, g := range sortGroups(groups) {
			if i%listChunk == listChunk-1 && ctx.Err() != nil {
				yield(usersync.Group{}, fmt.Errorf("memsink: listing groups: %w", ctx.Err()))
				return
			}
			if !yield(g, nil) {
				return
			}
		}
	}
}

func sortGroups(gs []usersync.Group) []usersync.Group {
	slices.SortFunc(gs, func(a, b usersync.Group) int { return cmp.Compare(a.ID, b.ID) })
	return gs
}

var _ usersync.GroupLinker = (*Sink)(nil)

// LinksGroups reports true: a Sink stores its groups' Parent and Account.
func (s *Sink) LinksGroups() bool { return true }

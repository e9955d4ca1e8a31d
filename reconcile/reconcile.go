// Package reconcile is usersync's default Reconciler: a keyed diff between
// the feed and the Sink under a [Policy] that a host builds from its own
// settings.
//
// # What it plans
//
// It matches feed rows with Sink users by the policy's match keys, in order
// of precedence (by default the key, then the email address ignoring case),
// and plans:
//
//   - CreateUser for feed users the Sink does not hold (unless the feed marks
//     them inactive: there is nobody to deactivate), with the policy's
//     invitation choice;
//   - AdoptUser when a row matches a user created by hand on an adopting key
//     (by default the email address, Cosafe's rule); a user created by hand
//     is otherwise never changed, deactivated or deleted;
//   - UpdateUser for managed users whose mapped attributes or memberships
//     differ: only attributes the feed maps are compared and written, as the
//     policy's attribute rules allow; a user found by a later match key gets
//     the feed's key (Change.OldKey), rather than being deleted and created
//     again;
//   - RestoreUser and DeactivateUser when the feed's status column changes a
//     user's state, and RestoreUser for a user who comes back after being
//     deactivated or marked missing;
//   - for managed users missing from a full feed: MarkMissing while a grace
//     period lasts, then DeactivateUser, DeleteUser or nothing, as
//     Policy.Absent says; a user whose row a filter of the Mapper left out
//     of scope (usersync.Feed.OutOfScope) is missing too, and the change
//     says why in Change.Reason ("out of scope: rule contractors");
//   - CreateGroup for group IDs the feed uses that the Sink lacks (unless the
//     policy forbids it), and RenameGroup for managed groups the feed names
//     otherwise. Groups without an external ID are not listed by Sinks, so
//     they and their memberships are never touched.
//
// In Delta mode the files list changes only: users they leave out are left
// alone. It never treats a user whose row was rejected as missing. Rows that share
// a key are all rejected, unless they come from different accounts' files
// (see [Account]). Guards on removals, updates and creates hold the whole
// plan ([usersync.Plan.Hold]) when it would change too many users.
//
// # Order
//
// A plan is deterministic: the same feed and Sink give the same plan, in the
// same order, whatever order the Sink lists its users in. Group changes
// come first, then users who take a new key or are adopted, creates,
// restores, updates, missing markers, deactivations and deletions, each
// kind sorted by key. When the policy resolves managers, creates come
// level by level instead, each level sorted by key: first the users whose
// manager is not created in the plan, then those who report to them, and
// so on; so a manager is created before the users who report to them.
// [WriteDiff] shows a plan as a person reads it.
//
// # Cost
//
// The feed is indexed in memory by its first match key; the Sink's users are
// streamed past the index once, so a directory of a million users is not held
// twice. A Sink tends to list its users in the order a file once created
// them, and files keep their order from night to night, so each user is
// first compared with the row after the last one matched: that spares most
// lookups in an index too large for the CPU's caches. Rows and users left
// over are matched by the later keys afterwards, which costs only as much
// as there are of them.
//
// From a Sink that is a [usersync.DigestLister], the feed and the Sink's
// digests are merged in key order instead, and only the rows that differ
// are held, up to half the feed's [usersync.Feed.MemoryLimit]: past that,
// the merge keeps the keys of the rows that differ (on disk, past the
// limit of a ChangeWriter), reads the feed again once it is done, and
// pairs each such row with its user, looked up a batch at a time; the
// users the feed lacks are deferred alike, and planned as absent as they
// are read (rows that share a key, as a user's rows in several accounts'
// files do, are held). A row new to the Sink is planned as a create as
// the merge reads it; if a later match key may find it a user (it shares
// that key's value with a user read in full), it is read again and
// planned as a held row.
// Manager references are resolved once every row is seen, at the cost of
// a string per manager and two more reads of the creates. The plan's
// changes go to the feed's [usersync.ChangeWriter], which keeps those past
// the memory budget on disk.
package reconcile

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/usersync/usersync"
)

// A Reconciler plans changes with a keyed diff under a Policy.
type Reconciler struct {
	policy Policy
	keys   []MatchKey
	err    error // from Policy.Validate
	// rowLimit, when positive, replaces the limit of the rows a merge
	// holds (see planner.rowLimit); tests set it.
	rowLimit int64
}

var _ usersync.Reconciler = (*Reconciler)(nil)

// New returns a Reconciler. A nil policy means the zero Policy: the safe
// defaults. An invalid policy makes every Reconcile fail with the error
// Policy.Validate returns.
func New(p *Policy) *Reconciler {
	r := &Reconciler{}
	if p != nil {
		r.policy = *p
	}
	r.err = r.policy.Validate()
	r.keys = r.policy.MatchKeys
	if len(r.keys) == 0 {
		r.keys = DefaultMatchKeys()
	}
	return r
}

// row states while planning.
const (
	unseen    uint8 = iota
	seen            // matched a Sink user
	rejected        // shares its key with another row
	merged          // another row of a user in several accounts' files
	ambiguous       // a later match key found several users, or rows: not applied
)

// ctxCheckEvery is how many Sink users are compared between two looks at ctx.
const ctxCheckEvery = 4096

// Reconcile plans the changes that bring current in line with feed.
func (r *Reconciler) Reconcile(ctx context.Context, feed *usersync.Feed, current usersync.Lister) (*usersync.Plan, error) {
	if r.err != nil {
		return nil, r.err
	}
	pl, err := newPlanner(r, feed)
	if err != nil {
		return nil, err
	}
	if dl, ok := current.(usersync.DigestLister); ok && r.mergeable() {
		err = pl.reconcileMerged(ctx, feed, dl)
	} else {
		err = pl.reconcileAll(ctx, feed, current)
	}
	if err != nil {
		return nil, err
	}
	pl.matchLeftovers()
	pl.createMissingUsers()
	pl.planGroups()
	if err := pl.finish(); err != nil {
		return nil, err
	}
	return pl.plan, nil
}

// reconcileAll plans from the whole feed in memory and every Sink user.
func (pl *planner) reconcileAll(ctx context.Context, feed *usersync.Feed, current usersync.Lister) error {
	recs, err := feed.Load(ctx)
	if err != nil {
		return fmt.Errorf("read the feed: %w", err)
	}
	pl.recs = recs
	if err := pl.listGroups(ctx, current); err != nil {
		return err
	}
	pl.index()
	pl.resolveManagers()
	return pl.compareUsers(ctx, current)
}

// planner is the state of one Reconcile call.
type planner struct {
	policy *Policy
	keys   []MatchKey
	feed   *usersync.Feed
	recs   []usersync.Record
	plan   *usersync.Plan
	now    time.Time

	// plainKey is set when the first match key is the record's Key as it
	// is: the hot loops then skip MatchKey.value.
	plainKey bool
	byKey    map[string]int32 // first match key value -> index in recs
	// keyOrder, when set, lists the rows in order of Key, rows with the
	// same key in file order: an index of 4 bytes a row, which replaces
	// byKey when the rows come from a merge (see mergeDigests).
	keyOrder []int32
	state    []uint8 // per record: unseen, seen, rejected, merged
	// present holds keys of users who are in the feed although none of
	// their rows can be used (rejected by the Mapper or for duplicates).
	present map[string]struct{}
	acct    *accounts // nil unless Policy.Accounts is set
	// leftovers are the Sink users the first key did not match, kept for
	// the later keys when there are any.
	leftovers []usersync.Record
	// sinkGroups holds the Sink's groups by ID.
	sinkGroups groupSet
	// links is set when the Sink stores groups' Parent and Account.
	links    bool
	managers managers
	warnings warnings
	layouts  layoutCache
	scope    []usersync.OutOfScope // Feed.OutOfScope, sorted; see outOfScope

	// changes by kind, joined in apply order by finish. The kinds a
	// sync plans by the million (every title changed; a mass leave), in
	// whatever order the Sink lists its users, are sorted within the
	// memory budget; re-keys are few, and the creates planned here are
	// held with their rows anyway. joined holds the groups the sorted
	// kinds join, for planGroups.
	groupChanges, rekeys, creates                  []usersync.Change
	restores, updates, marks, deactivates, deletes *usersync.ChangeSorter
	joined                                         map[string]struct{}
	// newUsers holds the creates planned as the merge meets their rows
	// (see createsAsRead): so a first load holds none of them in memory.
	// newJoins counts the groups they join, for planGroups; newRows lets
	// takeBack find those a later match key may claim, and takenBack
	// lists their keys.
	newUsers  *usersync.ChangeWriter
	newJoins  map[string]int
	newRows   []newRow
	takenBack map[string]struct{}
	seed      maphash.Seed
	// rowLimit is about how many bytes of the rows that differ from their
	// Sink user a merge holds before it defers the rest (see merge): half
	// the feed's MemoryLimit, the other half for their users.
	rowLimit int64
}

func newPlanner(r *Reconciler, feed *usersync.Feed) (*planner, error) {
	pl := &planner{
		policy:   &r.policy,
		keys:     r.keys,
		feed:     feed,
		plan:     &usersync.Plan{Time: feed.Time},
		seed:     maphash.MakeSeed(),
		now:      feed.Time,
		plainKey: r.keys[0] == MatchKey{} || r.keys[0] == MatchKey{Adopt: true},
		managers: newManagers(r.policy.Manager),
		warnings: newWarnings(orDefault(r.policy.MaxWarnings, DefaultMaxWarnings), feed.Files),
	}
	if pl.now.IsZero() {
		pl.now = time.Now()
	}
	pl.rowLimit = feed.MemoryLimit() / 2
	if r.rowLimit > 0 {
		pl.rowLimit = r.rowLimit
	}
	s := feed.ChangeSorters(5)
	pl.restores, pl.updates, pl.marks, pl.deactivates, pl.deletes = s[0], s[1], s[2], s[3], s[4]
	pl.joined = make(map[string]struct{})
	if len(r.policy.Accounts) > 0 {
		var err error
		if pl.acct, err = newAccounts(r.policy.Accounts, feed); err != nil {
			return nil, err
		}
	}
	return pl, nil
}

// key returns the record's value of the first match key.
func (pl *planner) key(r *usersync.Record) string {
	if pl.plainKey {
		return r.Key
	}
	return pl.keys[0].value(r)
}

// index builds the index of the first match key. Rows that share a key
// value are rejected, unless they are one user's rows in several accounts'
// files.
func (pl *planner) index() {
	recs := pl.recs
	pl.state = make([]uint8, len(recs))
	pl.noteRejected()
	var repeated map[string]struct{}
	if pl.keyOrder != nil {
		repeated = pl.sortedRepeats()
	} else {
		repeated = pl.indexByKey()
	}
	if repeated != nil {
		pl.handleRepeats(repeated)
	}
	slices.SortFunc(pl.plan.Rejected, func(a, b *usersync.RowError) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
}

// sortedRepeats returns the keys of more than one row, which keyOrder
// lists side by side.
func (pl *planner) sortedRepeats() map[string]struct{} {
	var repeated map[string]struct{}
	for j := 1; j < len(pl.keyOrder); j++ {
		k := pl.recs[pl.keyOrder[j]].Key
		if k != "" && k == pl.recs[pl.keyOrder[j-1]].Key {
			if repeated == nil {
				repeated = make(map[string]struct{})
			}
			repeated[k] = struct{}{}
		}
	}
	return repeated
}

// indexByKey builds byKey, and returns the keys of more than one row.
func (pl *planner) indexByKey() map[string]struct{} {
	recs := pl.recs
	pl.byKey = make(map[string]int32, len(recs))
	// Backwards, so that the index ends up holding each key's first row;
	// a write that leaves the map's length alone is a repeated key, which
	// saves looking each key up before writing it.
	var repeated map[string]struct{}
	for i := len(recs) - 1; i >= 0; i-- {
		k := pl.key(&recs[i])
		if k == "" {
			continue
		}
		n := len(pl.byKey)
		pl.byKey[k] = int32(i)
		if len(pl.byKey) == n {
			if repeated == nil {
				repeated = make(map[string]struct{})
			}
			repeated[k] = struct{}{}
		}
	}
	return repeated
}

// handleRepeats rejects or merges the rows of each repeated key.
func (pl *planner) handleRepeats(repeated map[string]struct{}) {
	rows := make(map[string][]int32, len(repeated))
	for i := range pl.recs {
		k := pl.key(&pl.recs[i])
		if _, ok := repeated[k]; ok {
			rows[k] = append(rows[k], int32(i))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(rows)) {
		idx := rows[k]
		if pl.acct != nil && !pl.acct.sameFileTwice(pl.recs, idx) {
			pl.merge(idx)
			continue
		}
		pl.rejectDuplicates(k, idx)
	}
}

// rejectDuplicates rejects every row with key k, naming the others in each
// message, and keeps the user as present so nobody is deactivated for it.
func (pl *planner) rejectDuplicates(k string, idx []int32) {
	delete(pl.byKey, k)
	recs := pl.recs
	for _, i := range idx {
		pl.state[i] = rejected
		pl.present[recs[i].Key] = struct{}{}
		var others []string
		for _, j := range idx {
			if j != i {
				others = append(others, recs[j].Origin.String())
			}
		}
		pl.plan.Rejected = append(pl.plan.Rejected, &usersync.RowError{
			File: recs[i].Origin.File, Line: recs[i].Origin.Line, Value: k, Key: recs[i].Key,
			Err: fmt.Errorf("%w: also on %s", usersync.ErrDuplicateKey, strings.Join(others, ", ")),
		})
	}
}

// listGroups reads the Sink's groups, before the users: a plan needs them
// to know which groups exist and what they are called.
func (pl *planner) listGroups(ctx context.Context, current usersync.Lister) error {
	pl.links = usersync.LinksGroups(current)
	s, err := collectGroups(current.Groups(ctx))
	if err != nil {
		return fmt.Errorf("list groups: %w", err)
	}
	pl.sinkGroups = s
	return nil
}

// compareUsers streams the Sink's users past the index.
func (pl *planner) compareUsers(ctx context.Context, current usersync.Lister) error {
	n := 0
	next := int32(0) // the row after the last one matched
	// A row whose manager reference no user seen so far matches is
	// paired once every user is seen: a user listed later may match it.
	var later []pending
	for u, err := range current.Users(ctx) {
		if err != nil {
			return fmt.Errorf("list users: %w", err)
		}
		if n++; n%ctxCheckEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if u.Managed && !u.Inactive {
			pl.plan.Population++
		}
		pl.managers.seeSinkUser(&u)
		if i, ok := pl.find(&u, next); ok {
			pl.state[i] = seen
			next = i + 1
			if !pl.managers.resolved(&pl.recs[i]) {
				later = append(later, pending{i, u})
				continue
			}
			pl.pair(i, &u, 0)
			continue
		}
		pl.unmatched(&u)
	}
	for j := range later {
		pl.pair(later[j].row, &later[j].user, 0)
	}
	return nil
}

// A pending pair is a feed row and the Sink user its first key matched.
type pending struct {
	row  int32
	user usersync.Record
}

// find returns the unmatched row that u's first key matches. A Sink often
// lists its users in the order the files listed them when it created them,
// and files keep their order from one day to the next: so the row after the
// last one matched is tried first, which spares most lookups in an index too
// large for the CPU's caches.
func (pl *planner) find(u *usersync.Record, next int32) (int32, bool) {
	k := pl.key(u)
	if k == "" {
		return 0, false
	}
	if int(next) < len(pl.recs) && pl.state[next] == unseen && pl.key(&pl.recs[next]) == k {
		return next, true // the first row with its key: later ones are merged or rejected
	}
	i, ok := pl.lookup(k)
	return i, ok && pl.state[i] == unseen
}

// lookup returns the first row with first key k.
func (pl *planner) lookup(k string) (int32, bool) {
	if pl.keyOrder == nil {
		i, ok := pl.byKey[k]
		return i, ok
	}
	j, found := slices.BinarySearchFunc(pl.keyOrder, k, func(i int32, k string) int { return strings.Compare(pl.recs[i].Key, k) })
	if !found {
		return 0, false
	}
	return pl.keyOrder[j], true
}

// unmatched handles a Sink user that the first key did not match.
func (pl *planner) unmatched(u *usersync.Record) {
	switch {
	case pl.isPresent(u):
		// In the feed, but its rows cannot be used: leave it as it is.
	case len(pl.keys) > 1:
		pl.leftovers = append(pl.leftovers, *u)
	case u.Managed:
		pl.absent(u)
	}
}

// noteRejected puts in present, once, the keys of the rows the Mapper
// rejected; index adds the keys of rows rejected as duplicates.
func (pl *planner) noteRejected() {
	if pl.present != nil {
		return
	}
	pl.present = make(map[string]struct{})
	for _, re := range pl.feed.Rejected {
		if re.Key != "" {
			pl.present[re.Key] = struct{}{}
		}
	}
}

// isPresent reports whether u is in the feed although no row of it can be
// used, or belongs to an account whose file did not arrive.
func (pl *planner) isPresent(u *usersync.Record) bool {
	if _, ok := pl.present[u.Key]; ok {
		return true
	}
	return pl.acct != nil && pl.acct.inSilentAccount(u)
}

// createMissingUsers plans a create for each active feed row held in
// memory that matched nobody.
func (pl *planner) createMissingUsers() {
	for i := range pl.recs {
		if pl.state[i] != unseen || pl.recs[i].Inactive {
			continue
		}
		pl.create(int32(i))
	}
}

// diffSorted returns the elements only in want and only in have, both sorted.
func diffSorted(want, have []string) (add, remove []string) {
	i, j := 0, 0
	for i < len(want) || j < len(have) {
		switch {
		case j == len(have) || i < len(want) && want[i] < have[j]:
			add = append(add, want[i])
			i++
		case i == len(want) || have[j] < want[i]:
			remove = append(remove, have[j])
			j++
		default:
			i++
			j++
		}
	}
	return add, remove
}

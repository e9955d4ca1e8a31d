package reconcile

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"iter"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/usersync/usersync"
)

// lookupBatch is how many keys one LookupUsers call asks for.
const lookupBatch = 1024

// errOrder says a DigestLister broke its promise of key order.
var errOrder = errors.New("digests out of key order")

// mergeable reports whether the plan can be made from a DigestLister's
// digests: the first match key must be the record's key as it is, since
// the feed and the digests are merged in key order.
func (r *Reconciler) mergeable() bool {
	first := r.keys[0]
	return first.Attr == "" && !first.IgnoreCase
}

// MergesDigests reports whether Reconcile plans from the digests of a
// Sink that is a [usersync.DigestLister] (see [usersync.DigestMerger]): it
// does unless the first match key is other than the record's key as it is.
func (r *Reconciler) MergesDigests() bool { return r.err == nil && r.mergeable() }

// A merge is what the merge of the feed with the Sink's digests found:
// the feed rows and the Sink users that need the planner, and counts of the
// users that do not.
type merge struct {
	rows       []usersync.Record // rows that differ, or are new, or share a key, in key order
	index      []int32           // the rows' places in file order
	held       int64             // about how many bytes rows holds
	unchanged  int               // feed users in sync with their Sink user
	population int               // active managed Sink users not read in full: those in sync
	// deferred lists, in key order, the keys of the rows that differ from
	// their Sink user and came once the rows held reached the planner's
	// limit (see planner.defers): pairDeferred plans them after the
	// merge. A night that changes every user holds that limit's worth of
	// rows and users, not all of them.
	deferred *usersync.ChangeWriter
	// asked counts the Sink users the feed lacks that the merge asked
	// the lookups for; past the planner's limit, it lists the keys of
	// the next ones in leavers instead, which planLeavers reads in full
	// after the merge. A night that many users leave holds a limit's
	// worth of them.
	asked   int
	leavers *usersync.ChangeWriter
	// Under a manager policy, a row's reference resolves to any Sink
	// user: seen holds the manager references that the users the merge
	// deferred (and read after it) match, for resolveManagers, and
	// later the keys of the deferred rows, which are paired once every
	// reference is resolved (pairLater).
	seen  map[string]struct{}
	later usersync.ChangeList
}

// reconcileMerged plans from a merge of the feed, in key order, with the
// Sink's digests: a row whose digests equal its Sink user's is in sync and
// is never read again, nor is its user; the planner then sees only the rows
// that differ and the users they concern, and those the feed lacks. So the
// plan costs one pass over the feed and the digests, and in full only as
// much as changed.
func (pl *planner) reconcileMerged(ctx context.Context, feed *usersync.Feed, current usersync.DigestLister) error {
	if err := pl.listGroups(ctx, current); err != nil {
		return err
	}
	lookups := lookAhead(ctx, current)
	defer lookups.stop()
	m, err := pl.mergeDigests(ctx, feed, current, lookups)
	if err != nil {
		return err
	}
	users, err := lookups.wait()
	if err != nil {
		return err
	}
	if err := pl.pairDeferred(ctx, feed, current, m); err != nil {
		return err
	}
	if err := pl.planLeavers(ctx, current, m, &users); err != nil {
		return err
	}
	if err := pl.takeBack(ctx, feed, m, users); err != nil {
		return err
	}
	pl.recs, pl.keyOrder = fileOrder(m.rows, m.index)
	m.rows, m.index = nil, nil
	pl.plan.Unchanged += m.unchanged
	pl.plan.Population += m.population
	pl.index()
	pl.resolveManagers()
	for v := range m.seen {
		delete(pl.managers.unresolved, v)
	}
	if err := pl.resolveManagersBeyond(ctx, feed); err != nil {
		return err
	}
	if err := pl.compareUsers(ctx, users); err != nil {
		return err
	}
	return pl.pairLater(ctx, feed, current, m)
}

// mergeDigests walks the feed and the digests side by side.
// The Sink users it needs in full it asks lookups for.
func (pl *planner) mergeDigests(ctx context.Context, feed *usersync.Feed, current usersync.DigestLister, lookups *lookahead) (*merge, error) {
	// The keys deferred are small beside the rows and users held: a
	// quarter of a writer's limit each.
	w := feed.ChangeWriters(4)
	m := &merge{deferred: w[0], leavers: w[1]}
	next, stop := prefetch(ctx, current.Digests)
	defer stop()
	sink, err, more := pullDigest(next)
	if err != nil {
		return nil, err
	}
	// A row whose key the Sink lacks is planned as a create the moment the
	// merge meets it, rather than held until every row is seen: its
	// attribute rules apply to the row alone, NoCreateGroups looks only
	// at the Sink's groups, listed before, and its manager reference is
	// resolved once every row is seen, the creates listed then (see
	// listOrdered). A first load then holds none of its rows in memory.
	// A later match key may still find such a row a user: takeBack gives
	// those rows back.
	pl.newUsers, pl.newJoins = feed.ChangeWriter(), make(map[string]int)
	// The Sink users the feed lacks are read in full: leavers, users
	// created by hand, and users a later match key may find. A digest
	// says nothing of whether a user is managed or active, which the plan
	// needs to know of each of them.
	sinkOnly := func(d *usersync.UserDigest) error {
		if pl.defersLeavers(m) {
			return m.leavers.Write(&usersync.Change{User: usersync.Record{Key: strings.Clone(d.Key)}})
		}
		m.asked++
		lookups.add(d.Key)
		return nil
	}
	var dg usersync.Digester
	var group []usersync.FeedRecord // the feed rows with one key
	prev, n := "", 0
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		k := group[0].Key
		for more && sink.Key < k {
			if err := sinkOnly(&sink); err != nil {
				return err
			}
			if sink, err, more = pullDigestAfter(next, sink.Key); err != nil {
				return err
			}
		}
		matched := more && sink.Key == k
		switch {
		case matched && len(group) == 1 && pl.inSync(&dg, &group[0].Record, &sink):
			m.unchanged++
			if !group[0].Inactive { // and managed, as the digests say
				m.population++
			}
		case !matched && len(group) == 1 && k != "":
			if err := pl.createNow(&group[0]); err != nil {
				return err
			}
		case matched && len(group) == 1 && pl.defers(m):
			pl.managers.note(&group[0].Record)
			if err := m.deferred.Write(&usersync.Change{User: usersync.Record{Key: strings.Clone(k)}}); err != nil {
				return err
			}
		default:
			for i := range group {
				m.rows = append(m.rows, group[i].Record)
				m.index = append(m.index, int32(group[i].Index))
				m.held += heldSize(&group[i].Record)
				pl.managers.note(&group[i].Record) // so that refs are all known once the merge ends
			}
			if matched {
				lookups.add(k)
			}
		}
		if matched {
			if sink, err, more = pullDigestAfter(next, sink.Key); err != nil {
				return err
			}
		}
		group = group[:0]
		return nil
	}
	for r, err := range feed.Sorted(ctx) {
		if err != nil {
			return nil, fmt.Errorf("read the feed: %w", err)
		}
		if n++; n%ctxCheckEvery == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if r.Key != prev || len(group) == 0 {
			if err := flush(); err != nil {
				return nil, err
			}
			prev = r.Key
		}
		group = append(group, r)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	for more {
		if err := sinkOnly(&sink); err != nil {
			return nil, err
		}
		if sink, err, more = pullDigestAfter(next, sink.Key); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// defers reports whether the merge defers the next row that differs from
// its Sink user, the only row of its key, rather than hold it: the rows
// held have reached the planner's limit.
func (pl *planner) defers(m *merge) bool { return m.held >= pl.rowLimit }

// leaverSize is about how many bytes a Sink user read in full takes in
// memory, as defersLeavers counts them: a little more than heldSize gives
// a row of the bench's Cosafe file (about 380 bytes), as a user read from
// a Sink holds its text in more pieces.
const leaverSize = 512

// defersLeavers reports whether the merge defers the next Sink user the
// feed lacks, rather than ask the lookups for it: the users asked for have
// reached the planner's limit.
func (pl *planner) defersLeavers(m *merge) bool { return int64(m.asked)*leaverSize >= pl.rowLimit }

// see notes the manager reference that u, a Sink user the merge deferred,
// matches, if any row has it.
func (pl *planner) see(m *merge, u *usersync.Record) {
	mg := &pl.managers
	if mg.attr == "" {
		return
	}
	if v := mg.by.value(u); v != "" {
		if _, ok := mg.refs[v]; ok {
			if m.seen == nil {
				m.seen = make(map[string]struct{})
			}
			m.seen[v] = struct{}{}
		}
	}
}

// planLeavers reads in full, a lookup batch at a time, the Sink users the
// feed lacks whose keys the merge deferred, and plans each as compareUsers
// would a user that no row matches: absent if managed, unless a rejected
// row has its key or it is in an account whose file did not arrive. A
// user a later match key may still match (it shares a
// value of that key with a row held, or with a new row, which takeBack
// may take back; a hash collision only costs a user held) joins users,
// for the planner.
func (pl *planner) planLeavers(ctx context.Context, current usersync.DigestLister, m *merge, users *userList) error {
	keys, err := m.leavers.List()
	m.leavers = nil
	if err != nil || keys.Len() == 0 {
		return err
	}
	var later []uint64 // the hashes of the values of later keys rows have, sorted
	if len(pl.keys) > 1 {
		for _, r := range pl.newRows {
			later = append(later, r.hash)
		}
		for i := range m.rows {
			pl.laterValues(&m.rows[i], func(h uint64) { later = append(later, h) })
		}
		slices.Sort(later)
	}
	// Before index: present holds the rejected rows' keys alone, but a
	// key the Sink holds and the feed lacks is no duplicate row's.
	pl.noteRejected()
	held := len(*users)
	batch := make([]string, 0, lookupBatch)
	plan := func() error {
		if len(batch) == 0 {
			return nil
		}
		for u, err := range current.LookupUsers(ctx, batch) {
			if err != nil {
				return fmt.Errorf("read users: %w", err)
			}
			mayMatch := false
			pl.laterValues(&u, func(h uint64) {
				_, found := slices.BinarySearch(later, h)
				mayMatch = mayMatch || found
			})
			if mayMatch {
				*users = append(*users, u)
				continue
			}
			pl.see(m, &u)
			if u.Managed && !u.Inactive {
				pl.plan.Population++
			}
			if u.Managed && !pl.isPresent(&u) {
				pl.absent(&u)
			}
		}
		batch = batch[:0]
		return nil
	}
	for c, err := range keys.All() {
		if err != nil {
			return fmt.Errorf("read the deferred users: %w", err)
		}
		if batch = append(batch, c.User.Key); len(batch) == lookupBatch {
			if err := plan(); err != nil {
				return err
			}
		}
	}
	if err := plan(); err != nil {
		return err
	}
	if len(*users) > held {
		slices.SortFunc(*users, func(a, b usersync.Record) int { return strings.Compare(a.Key, b.Key) })
	}
	return nil
}

// heldSize is about how many bytes row r takes in memory.
func heldSize(r *usersync.Record) int64 {
	const str = int64(unsafe.Sizeof(""))
	n := int64(unsafe.Sizeof(*r)) + int64(len(r.Key))
	for _, v := range r.Attrs.All() {
		n += str + int64(len(v))
	}
	for _, g := range r.Groups {
		n += str + int64(len(g))
	}
	return n
}

// pairDeferred plans the rows the merge deferred: it reads the feed again,
// picks them out in key order, and looks their users up a batch at a time,
// pairing each row with its user as compareUsers would. A row whose user
// the lookups do not bring (deleted since the listing of digests) joins
// the rows held, which plan it as a row the Sink lacks. The listing of
// digests is over by now, so that waiting on the lookups holds nothing up.
//
// Under a manager policy, a row's reference may resolve to any Sink user,
// so no row is paired before every user is seen: pairDeferred then only
// notes the references its users match, and pairLater pairs the rows,
// reading them and their users again.
func (pl *planner) pairDeferred(ctx context.Context, feed *usersync.Feed, current usersync.DigestLister, m *merge) error {
	keys, err := m.deferred.List()
	m.deferred = nil
	if err != nil || keys.Len() == 0 {
		return err
	}
	var gone []usersync.FeedRecord
	err = deferredRows(ctx, feed, keys, func(rows []usersync.FeedRecord) error {
		return lookUp(ctx, current, rows, func(r *usersync.FeedRecord, u *usersync.Record) {
			if u == nil {
				gone = append(gone, *r)
				return
			}
			if u.Managed && !u.Inactive {
				pl.plan.Population++
			}
			if pl.managers.attr != "" {
				pl.see(m, u)
				return
			}
			pl.pairRow(&r.Record, -1, u, 0)
		})
	})
	if err != nil {
		return err
	}
	if pl.managers.attr != "" {
		m.later = keys
	}
	m.rows, m.index = mergeRows(m.rows, m.index, gone)
	return nil
}

// pairLater pairs the rows that pairDeferred left for later, now that
// every manager reference that a user matches is resolved, warning of the
// others as warnUnresolved does of the rows held. A row whose user is gone
// since pairDeferred found it is created.
func (pl *planner) pairLater(ctx context.Context, feed *usersync.Feed, current usersync.DigestLister, m *merge) error {
	keys := m.later
	m.later = usersync.ChangeList{}
	if keys.Len() == 0 {
		return nil
	}
	mg := &pl.managers
	return deferredRows(ctx, feed, keys, func(rows []usersync.FeedRecord) error {
		return lookUp(ctx, current, rows, func(r *usersync.FeedRecord, u *usersync.Record) {
			if !mg.resolved(&r.Record) {
				pl.warnings.add(&r.Record, mg.attr, r.Attrs.Value(mg.attr), ErrManagerNotFound)
			}
			if u == nil {
				if !r.Inactive {
					pl.createRow(&r.Record, -1)
				}
				return
			}
			pl.pairRow(&r.Record, -1, u, 0)
		})
	})
}

// deferredRows reads the feed and calls f with the rows of keys, which
// lists keys of the feed in key order, a lookup batch at a time.
func deferredRows(ctx context.Context, feed *usersync.Feed, keys usersync.ChangeList, f func([]usersync.FeedRecord) error) error {
	next, stop := iter.Pull2(keys.All())
	defer stop()
	pull := func() (string, bool, error) {
		c, err, ok := next()
		if err != nil {
			return "", false, fmt.Errorf("read the deferred rows: %w", err)
		}
		return c.User.Key, ok, nil
	}
	want, more, err := pull()
	var batch []usersync.FeedRecord
	n := 0
	for r, rerr := range feed.Sorted(ctx) {
		if err != nil || !more {
			break
		}
		if rerr != nil {
			return fmt.Errorf("read the feed: %w", rerr)
		}
		if n++; n%ctxCheckEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if r.Key < want {
			continue
		}
		if r.Key > want {
			return fmt.Errorf("read the feed: the deferred row of key %q is gone", want)
		}
		if batch = append(batch, r); len(batch) == lookupBatch {
			if err := f(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
		want, more, err = pull()
	}
	if err != nil {
		return err
	}
	if more {
		return fmt.Errorf("read the feed: the deferred row of key %q is gone", want)
	}
	if len(batch) == 0 {
		return nil
	}
	return f(batch)
}

// lookUp looks up the users of rows, which the feed lists in key order,
// and calls f with each row and its user, or nil if the lookups did not
// bring it. It takes the users in whatever order LookupUsers yields them.
func lookUp(ctx context.Context, current usersync.DigestLister, rows []usersync.FeedRecord, f func(*usersync.FeedRecord, *usersync.Record)) error {
	keys := make([]string, len(rows))
	for i := range rows {
		keys[i] = rows[i].Key
	}
	users := make(map[string]usersync.Record, len(rows))
	for u, err := range current.LookupUsers(ctx, keys) {
		if err != nil {
			return fmt.Errorf("read users: %w", err)
		}
		users[u.Key] = u
	}
	for i := range rows {
		if u, ok := users[rows[i].Key]; ok {
			f(&rows[i], &u)
		} else {
			f(&rows[i], nil)
		}
	}
	return nil
}

// A newRow is a row planned as a create as the merge read it: the hash of
// one of its values of a later match key, and its place in file order.
type newRow struct {
	hash  uint64
	index int32
}

// laterValues calls f with the hash of each of r's values of the later
// match keys.
func (pl *planner) laterValues(r *usersync.Record, f func(hash uint64)) {
	for k := 1; k < len(pl.keys); k++ {
		if v := pl.keys[k].value(r); v != "" {
			f(maphash.String(pl.seed, v) + uint64(k))
		}
	}
}

// takeBack gives the planner back the rows planned as creates as the merge
// read them that a later match key may find a user for: those that share a
// value of such a key with a user read in full (a hash collision only
// costs a row planned the slower way). They are read from the feed again
// and planned as the rows held are; list leaves their creates out.
func (pl *planner) takeBack(ctx context.Context, feed *usersync.Feed, m *merge, users userList) error {
	rows := pl.newRows
	pl.newRows = nil
	if len(rows) == 0 || len(users) == 0 {
		return nil
	}
	held := make(map[uint64]struct{})
	for i := range users {
		pl.laterValues(&users[i], func(h uint64) { held[h] = struct{}{} })
	}
	back := make(map[int]struct{})
	for _, r := range rows {
		if _, ok := held[r.hash]; ok {
			back[int(r.index)] = struct{}{}
		}
	}
	if len(back) == 0 {
		return nil
	}
	var again []usersync.FeedRecord // in key order, as Sorted yields them
	for r, err := range feed.Sorted(ctx) {
		if err != nil {
			return fmt.Errorf("read the feed: %w", err)
		}
		if _, ok := back[r.Index]; ok {
			again = append(again, r)
		}
	}
	pl.takenBack = make(map[string]struct{}, len(again))
	for i := range again {
		pl.takenBack[again[i].Key] = struct{}{}
		pl.undoCreate(&again[i])
	}
	m.rows, m.index = mergeRows(m.rows, m.index, again)
	return nil
}

// mergeRows merges rows given in key order, with their places in file order,
// and more, in key order too, none with a key of rows.
func mergeRows(rows []usersync.Record, index []int32, more []usersync.FeedRecord) ([]usersync.Record, []int32) {
	outRows := make([]usersync.Record, 0, len(rows)+len(more))
	outIndex := make([]int32, 0, len(rows)+len(more))
	i, j := 0, 0
	for i < len(rows) || j < len(more) {
		if j == len(more) || i < len(rows) && rows[i].Key < more[j].Key {
			outRows, outIndex = append(outRows, rows[i]), append(outIndex, index[i])
			i++
		} else {
			outRows, outIndex = append(outRows, more[j].Record), append(outIndex, int32(more[j].Index))
			j++
		}
	}
	return outRows, outIndex
}

// fileOrder puts rows, given in key order with their places in file order,
// in file order, and returns with them the order of their keys: keyOrder[j]
// is the place of the j-th row in key order. It moves the rows in place.
func fileOrder(rows []usersync.Record, index []int32) (recs []usersync.Record, keyOrder []int32) {
	byPlace := make([]int32, len(rows)) // rows' places in key order, in file order
	for j := range byPlace {
		byPlace[j] = int32(j)
	}
	slices.SortFunc(byPlace, func(a, b int32) int { return int(index[a] - index[b]) })
	keyOrder = make([]int32, len(rows))
	for i, j := range byPlace {
		keyOrder[j] = int32(i)
	}
	// Move each row to its place, following the cycles of the permutation.
	for j := range rows {
		for keyOrder[j] != int32(j) {
			to := keyOrder[j]
			rows[j], rows[to] = rows[to], rows[j]
			keyOrder[j], keyOrder[to] = keyOrder[to], keyOrder[j]
		}
	}
	// keyOrder is now the identity; rebuild it from byPlace.
	for i, j := range byPlace {
		keyOrder[j] = int32(i)
	}
	return rows, keyOrder
}

// inSync reports whether feed row d needs nothing done to Sink user s: s
// is managed, not missing, and holds exactly d's attributes, state and (if
// the feed says anything of them) groups. With accounts, the groups are
// always compared, d's account among them: a user in exactly those needs
// nothing, and any other goes to the planner, which knows which of the
// others it keeps (see accounts.memberships).
func (pl *planner) inSync(dg *usersync.Digester, d *usersync.Record, s *usersync.UserDigest) bool {
	if !s.Known {
		return false
	}
	want := *d
	want.Managed, want.MissingRuns, want.MissingSince = true, 0, 0
	if pl.acct != nil {
		want.Groups = pl.acct.want(nil, d)
	}
	w := dg.Digest(&want)
	return w.Attrs == s.Attrs && (want.Groups == nil || w.Groups == s.Groups)
}

// prefetchBatch is how many digests the listing hands over at a time.
const prefetchBatch = 1024

// prefetch lists the digests in a goroutine of their own, a few batches
// ahead of next, so that the Sink's listing (a database query, typically)
// and the merge run on two cores rather than taking turns. stop ends the
// listing and waits for its goroutine.
func prefetch(ctx context.Context, list func(context.Context) iter.Seq2[usersync.UserDigest, error]) (next func() (usersync.UserDigest, error, bool), stop func()) {
	type batch struct {
		ds  []usersync.UserDigest
		err error
	}
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan batch, 4)
	go func() {
		defer close(ch)
		b := make([]usersync.UserDigest, 0, prefetchBatch)
		for d, err := range list(ctx) {
			if err != nil {
				ch <- batch{b, err}
				return
			}
			if b = append(b, d); len(b) == prefetchBatch {
				select {
				case ch <- batch{ds: b}:
				case <-ctx.Done():
					return
				}
				b = make([]usersync.UserDigest, 0, prefetchBatch)
			}
		}
		if len(b) > 0 {
			ch <- batch{ds: b}
		}
	}()
	var cur batch
	next = func() (usersync.UserDigest, error, bool) {
		for len(cur.ds) == 0 {
			if cur.err != nil {
				return usersync.UserDigest{}, cur.err, false
			}
			var ok bool
			if cur, ok = <-ch; !ok {
				return usersync.UserDigest{}, nil, false
			}
		}
		d := cur.ds[0]
		cur.ds = cur.ds[1:]
		return d, nil, true
	}
	stop = func() {
		cancel()
		for range ch { // until the goroutine is done with the listing
		}
	}
	return next, stop
}

// pullDigest pulls the next digest; more is false at the end.
func pullDigest(next func() (usersync.UserDigest, error, bool)) (usersync.UserDigest, error, bool) {
	d, err, ok := next()
	if err != nil {
		return d, fmt.Errorf("list users: %w", err), false
	}
	return d, nil, ok
}

// pullDigestAfter pulls the digest after the one of key prev, and checks
// that the Sink keeps its promise of key order: a merge of streams out of
// order would take users for missing.
func pullDigestAfter(next func() (usersync.UserDigest, error, bool), prev string) (usersync.UserDigest, error, bool) {
	d, err, ok := pullDigest(next)
	if err == nil && ok && d.Key <= prev {
		return d, fmt.Errorf("list users: %w: the Sink listed digests of key %q after %q", errOrder, d.Key, prev), false
	}
	return d, err, ok
}

// A lookahead reads Sink users in full in a goroutine of its own, a batch
// of keys at a time, as the merge finds them: the database's lookups then
// run beside the merge rather than after it. The keys come in key order,
// as LookupUsers wants them, and so do the users. The merge never waits
// for the lookups: batches queue (they are the keys a plain list would
// hold), so that a Sink whose pool has a single connection, held by the
// listing of digests until the merge ends, only delays them.
type lookahead struct {
	batch []string // keys not yet handed over

	mu      sync.Mutex
	pending [][]string
	closed  bool
	wake    chan struct{} // a batch was queued, or the queue closed

	done  chan struct{}
	users userList // set when done is closed
	err   error    // likewise
}

func lookAhead(ctx context.Context, current usersync.DigestLister) *lookahead {
	l := &lookahead{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for keys := range l.batches() {
			for u, err := range current.LookupUsers(ctx, keys) {
				if err != nil {
					l.err = fmt.Errorf("read users: %w", err)
					return
				}
				l.users = append(l.users, u)
			}
		}
	}()
	return l
}

// batches yields the queued batches until the queue is closed.
func (l *lookahead) batches() iter.Seq[[]string] {
	return func(yield func([]string) bool) {
		for {
			l.mu.Lock()
			if len(l.pending) == 0 {
				closed := l.closed
				l.mu.Unlock()
				if closed {
					return
				}
				<-l.wake
				continue
			}
			keys := l.pending[0]
			l.pending[0] = nil
			l.pending = l.pending[1:]
			l.mu.Unlock()
			if !yield(keys) {
				return
			}
		}
	}
}

// add asks for the user of key, which is greater than any asked for before.
// It keeps a clone: a listing's key may share its memory with many others
// (see usersync.UserDigest).
func (l *lookahead) add(key string) {
	if l.batch = append(l.batch, strings.Clone(key)); len(l.batch) == lookupBatch {
		l.queue(l.batch, false)
		l.batch = make([]string, 0, lookupBatch)
	}
}

// queue hands keys over, and closes the queue if last.
func (l *lookahead) queue(keys []string, last bool) {
	l.mu.Lock()
	if len(keys) > 0 && !l.closed {
		l.pending = append(l.pending, keys)
	}
	l.closed = l.closed || last
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// wait returns the users asked for, in key order.
func (l *lookahead) wait() (userList, error) {
	l.queue(l.batch, true)
	l.batch = nil
	<-l.done
	return l.users, l.err
}

// stop ends the lookups, dropping those not begun, and waits for them.
func (l *lookahead) stop() {
	l.mu.Lock()
	l.pending, l.closed = nil, true
	l.mu.Unlock()
	l.queue(nil, true)
	<-l.done
}

// userList is the users read in full, listed to the planner as a Sink's
// users.
type userList []usersync.Record

func (l userList) Users(context.Context) iter.Seq2[usersync.Record, error] {
	return func(yield func(usersync.Record, error) bool) {
		for _, u := range l {
			if !yield(u, nil) {
				return
			}
		}
	}
}

func (l userList) Groups(context.Context) iter.Seq2[usersync.Group, error] {
	return func(func(usersync.Group, error) bool) {}
}

// resolveManagersBeyond resolves the manager references that the rows and
// users the planner sees leave unresolved, against the users it does not
// see: those in sync, whose by-value is their row's. Rows in sync need no
// resolving: nothing of theirs is written.
func (pl *planner) resolveManagersBeyond(ctx context.Context, feed *usersync.Feed) error {
	m := &pl.managers
	if len(m.unresolved) == 0 {
		return nil
	}
	for r, err := range feed.Sorted(ctx) {
		if err != nil {
			return fmt.Errorf("read the feed: %w", err)
		}
		delete(m.unresolved, m.by.value(&r.Record))
		if len(m.unresolved) == 0 {
			return nil
		}
	}
	return nil
}

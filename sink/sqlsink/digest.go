package sqlsink

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"

	"github.com/usersync/usersync"
)

var _ usersync.DigestLister = (*Sink)(nil)

// lookupBatch is how many users LookupUsers reads at a time, and how many
// users a refresh of digests writes in one go.
const lookupBatch = 500

// Digests yields the key and digests of every user of the tenant, managed
// or not, in byte order of key, from one query on the index that covers
// them: it neither decodes attributes nor reads memberships. A user whose
// revision moved since the Sink wrote its digests (changed by hand, see
// the package doc) is listed with Known false, and digests made of its
// revision, which every change by hand moves.
//
// The query yields three columns, not five: the database compares the
// revisions, and a listing's cost is mostly the driver's per column.
func (s *Sink) Digests(ctx context.Context) iter.Seq2[usersync.UserDigest, error] {
	return func(yield func(usersync.UserDigest, error) bool) {
		n := s.n
		known := fmt.Sprintf("%s = %s", n.uRev, n.uDigestRev)
		q := fmt.Sprintf("SELECT %s, CASE WHEN %s THEN %s END, CASE WHEN %s THEN %s ELSE %s END FROM %s WHERE %s = ? ORDER BY %s%s",
			n.uKey, known, n.uAttrsDigest, known, n.uGroupsDigest, n.uRev, n.users, n.uTenant, n.uKey, s.d.keyOrder())
		stopped := false
		err := s.d.rawQuery(ctx, s, q, []any{s.tenant}, func(rows rowSource) error {
			for count := 1; rows.next(); count++ {
				d, err := listedDigest(rows)
				if err == nil && count%ctxCheckEvery == 0 {
					err = ctx.Err()
				}
				if err != nil {
					return err
				}
				if !yield(d, nil) {
					stopped = true
					return nil
				}
			}
			return rows.err()
		})
		if err != nil && !stopped {
			yield(usersync.UserDigest{}, fmt.Errorf("sqlsink: listing digests: %w", s.ctxErr(ctx, err)))
		}
	}
}

// listedDigest reads a row of Digests' query: the key, then either the
// two digests, or NULL and the revision.
func listedDigest(rows rowSource) (usersync.UserDigest, error) {
	d := usersync.UserDigest{Key: rows.str(0)}
	var v [2]int64
	for i := range v {
		if rows.null(i + 1) {
			continue
		}
		var err error
		if v[i], err = rows.int(i + 1); err != nil {
			return d, fmt.Errorf("user %q: %w", d.Key, err)
		}
	}
	d.Known = !rows.null(1) && !rows.null(2)
	if d.Known {
		d.Attrs, d.Groups = usersync.Digest(v[0]), usersync.Digest(v[1])
	} else {
		rev := uint64(v[1])
		d.Attrs, d.Groups = usersync.Digest(mix(rev, 1)), usersync.Digest(mix(rev, 2))
	}
	return d, nil
}

// mix returns a version of a user at revision rev: SplitMix64's
// finalizer, so that every revision gives another value. Revisions start
// at random, for users inserted by the Sink or by hand, and only grow.
func mix(rev, salt uint64) uint64 {
	x := (rev + salt) * 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// LookupUsers yields the users of the tenant with the given keys, which
// are sorted and distinct, as Users would yield them, in the order of
// keys, leaving out keys the Sink does not hold. It reads them in one read
// transaction, lookupBatch at a time: the users in one query, and their
// memberships in another.
func (s *Sink) LookupUsers(ctx context.Context, keys []string) iter.Seq2[usersync.Record, error] {
	return func(yield func(usersync.Record, error) bool) {
		if len(keys) == 0 {
			return
		}
		fail := func(err error) {
			yield(usersync.Record{}, fmt.Errorf("sqlsink: looking up users: %w", s.ctxErr(ctx, err)))
		}
		tx, err := s.begin(ctx, s.d.beginRead(), false)
		if err != nil {
			fail(err)
			return
		}
		defer tx.rollback() // it only read
		dec := newDecoder(s.n)
		var batch []listed
		lists := make(map[string][]string)
		for part := range slices.Chunk(keys, lookupBatch) {
			if err := ctx.Err(); err != nil {
				fail(err)
				return
			}
			if batch, err = s.readUsers(ctx, tx, dec, "", part, batch[:0]); err != nil {
				fail(err)
				return
			}
			ids := make([]int64, len(batch))
			for i := range batch {
				ids[i] = batch[i].id
			}
			groups, err := s.groupsOf(ctx, tx, ids, lists)
			if err != nil {
				fail(err)
				return
			}
			for i := range batch {
				batch[i].r.Groups = groups[batch[i].id]
				if !yield(batch[i].r, nil) {
					return
				}
			}
		}
	}
}

// readUsers appends to batch the users of the tenant with the given keys,
// in key order (then with their revisions in listed.rev), or, when keys is
// nil, up to lookupBatch users of any tenant whose digests are not of
// their revision, after ID after, in ID order. Their Groups are left nil.
func (s *Sink) readUsers(ctx context.Context, tx *txn, dec *decoder, cond string, keys []string, batch []listed, args ...any) ([]listed, error) {
	n := s.n
	var q string
	if keys != nil {
		in, inArgs := in(s.d, n.uKey, keys)
		q = fmt.Sprintf("SELECT %s, %s, %s FROM %s WHERE %s = ? AND %s ORDER BY %s%s",
			n.uID, n.uRev, s.userColumns(), n.users, n.uTenant, in, n.uKey, s.d.keyOrder())
		args = append([]any{s.tenant}, inArgs...)
	} else {
		q = fmt.Sprintf("SELECT %s, %s, %s FROM %s WHERE %s ORDER BY %s LIMIT %d%s",
			n.uID, n.uRev, s.userColumns(), n.users, cond, n.uID, lookupBatch, s.d.forUpdate())
	}
	rows, err := tx.QueryContext(ctx, s.d.bind(q), args...)
	if err != nil {
		return nil, err
	}
	src, err := newSQLRows(rows)
	if err != nil {
		return nil, err
	}
	defer src.close()
	for src.next() {
		id, err := src.int(0)
		if err != nil {
			return nil, err
		}
		rev, err := src.int(1)
		if err != nil {
			return nil, err
		}
		r, err := s.decodeUser(dec, src, 2)
		if err != nil {
			return nil, err
		}
		batch = append(batch, listed{id: id, rev: rev, r: r})
	}
	return batch, src.err()
}

// groupsOf returns the sorted external IDs of the groups of users ids, as
// Users lists them: groups of the user's tenant with an external ID. Users
// in no group have no entry. Users in the same groups share a slice of
// lists, which it fills.
func (s *Sink) groupsOf(ctx context.Context, tx *txn, ids []int64, lists map[string][]string) (map[int64][]string, error) {
	n := s.n
	byUser := make(map[int64][]string)
	err := chunks(s.d, ids, 0, func(ids []int64) error {
		cond, args := in(s.d, "m."+n.mUser, ids)
		// CROSS JOIN keeps SQLite's planner to this order: each user's
		// memberships, then their groups. Left to itself it takes every
		// group of the tenant for each user and probes the memberships
		// for each pair, 50 probes a user for 50 groups (a OneRoster bundle's 38,000 classes
		// took 85% of a nightly sync there). PostgreSQL
		// plans cross joins as inner joins.
		q := fmt.Sprintf(`SELECT m.%s, g.%s FROM %s m CROSS JOIN %s g CROSS JOIN %s u
WHERE g.%s = m.%s AND u.%s = m.%s AND g.%s = u.%s AND g.%s IS NOT NULL AND %s`, n.mUser, n.gExtID, n.members, n.groups, n.users,
			n.gID, n.mGroup, n.uID, n.mUser, n.gTenant, n.uTenant, n.gExtID, cond)
		rows, err := tx.QueryContext(ctx, s.d.bind(q), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var ext string
			if err := rows.Scan(&id, &ext); err != nil {
				return err
			}
			byUser[id] = append(byUser[id], ext)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	var key []byte
	for id, gs := range byUser {
		slices.Sort(gs)
		gs = slices.Compact(gs)
		key = key[:0]
		for _, g := range gs {
			key = append(append(key, g...), 0)
		}
		if l, ok := lists[string(key)]; ok {
			gs = l
		} else if len(lists) < maxGroupLists {
			lists[string(key)] = gs
		}
		byUser[id] = gs
	}
	return byUser, nil
}

// insertDigests sets the digests of users about to be inserted, whose
// memberships are the groups they join. It returns groups, the scratch
// slice it lists them in, for the next call to reuse.
func insertDigests(dg *usersync.Digester, u *touched, r *row, groups []string) []string {
	groups = u.sortedGroups(groups, true)
	rec := u.now.record(u.key, nil) // nil for none, as groupsOf gives
	if len(groups) > 0 {
		rec.Groups = groups
	}
	d := dg.Digest(&rec)
	r.attrsDigest, r.groupsDigest, r.rev = d.Attrs, d.Groups, rand.Int64()
	return groups
}

func (st *state) record(key string, groups []string) usersync.Record {
	return usersync.Record{Key: key, Attrs: st.attrs, Groups: groups, Inactive: st.inactive, Managed: st.managed,
		MissingRuns: st.missingRuns, MissingSince: st.missingSince}
}

// A digested user is what an update writes of a user's digests.
type digested struct {
	id, rev       int64
	attrs, groups usersync.Digest
}

// digestsAfter computes, before the batch writes anything, the digests of
// the users that are in the database and stay in the same row, as the
// batch leaves them: their state after it, and their memberships as the
// database holds them with the batch's joins and leaves applied, as of the
// revision the batch read (the batch's own writes do not move it). The
// memberships are read only for users whose memberships the batch touches,
// or whose stored digests were not of the revision it read. So an update
// writes a user's data and digests in one statement, and the database
// writes the row once.
func (s *Sink) digestsAfter(ctx context.Context, tx *txn, b *batch, users []*touched) (map[*touched]digested, error) {
	var reread []int64
	for _, u := range users {
		if stays(u) && !u.keepsGroups() {
			reread = append(reread, u.id)
		}
	}
	var groups map[int64][]string
	if len(reread) > 0 {
		var err error
		if groups, err = s.groupsOf(ctx, tx, reread, make(map[string][]string)); err != nil {
			return nil, err
		}
	}
	var dg usersync.Digester
	ds := make(map[*touched]digested)
	for _, u := range users {
		if !stays(u) {
			continue
		}
		if u.keepsGroups() {
			r := u.now.record(u.key, nil)
			ds[u] = digested{u.id, u.rev, dg.Digest(&r).Attrs, u.groupsDigest}
			continue
		}
		r := u.now.record(u.key, u.groupsAfter(groups[u.id], b))
		d := dg.Digest(&r)
		ds[u] = digested{u.id, u.rev, d.Attrs, d.Groups}
	}
	return ds, nil
}

// groupsAfter returns the sorted external IDs of u's groups once the batch
// has joined and left groups for u, from those it is in before (had,
// sorted): nil for none, as groupsOf gives.
func (u *touched) groupsAfter(had []string, b *batch) []string {
	if len(u.member) == 0 {
		return had
	}
	var gs []string
	for _, g := range had {
		if in, ok := u.member[g]; !ok || in {
			gs = append(gs, g)
		}
	}
	for g, in := range u.member {
		if in && b.groups[g].id != 0 && !slices.Contains(had, g) {
			gs = append(gs, g)
		}
	}
	slices.Sort(gs)
	return gs
}

// stays reports whether u is in the database before the batch and after
// it, in the same row: not a new user, nor one deleted (and perhaps
// created again as a new row).
func stays(u *touched) bool {
	return u.live && u.id != 0 && !u.drop
}

// keepsGroups reports whether u's stored groups digest still holds: it was
// of the revision the batch read, and the batch neither joined nor left a
// group for u.
func (u *touched) keepsGroups() bool {
	return u.groupsKnown && len(u.member) == 0
}

// putDigests writes digests: one statement of arrays on PostgreSQL, one
// of many rows per changeRows users on SQLite.
func (s *Sink) putDigests(ctx context.Context, tx *txn, ds []digested) error {
	n := s.n
	if s.d.arrays() {
		ids, revs, attrs, groups := make([]int64, len(ds)), make([]int64, len(ds)), make([]int64, len(ds)), make([]int64, len(ds))
		for i, d := range ds {
			ids[i], revs[i], attrs[i], groups[i] = d.id, d.rev, int64(d.attrs), int64(d.groups)
		}
		_, err := tx.ExecContext(ctx, s.d.bind(fmt.Sprintf(`UPDATE %s AS u SET %s = v.a, %s = v.g, %s = v.r
FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[]) AS v(id, r, a, g) WHERE u.%s = v.id`,
			n.users, n.uAttrsDigest, n.uGroupsDigest, n.uDigestRev, n.uID)), ids, revs, attrs, groups)
		return err
	}
	q := func(rows int) string {
		return fmt.Sprintf("UPDATE %s SET %s = v.column2, %s = v.column3, %s = v.column4 FROM (VALUES %s) AS v WHERE %s = v.column1",
			n.users, n.uAttrsDigest, n.uGroupsDigest, n.uDigestRev, rowsOf(rows, 4), n.uID)
	}
	return multiRow(ctx, tx, q, changeRows, len(ds), 4, func(i int, args []any) []any {
		return append(args, ds[i].id, int64(ds[i].attrs), int64(ds[i].groups), ds[i].rev)
	})
}

// RefreshDigests computes the digests of the tenant's users that list
// them as not Known: users changed by hand since the Sink last wrote them,
// or inserted by hand. A sync reads such users in full, and repairs those
// the directory disagrees with, which makes their digests Known again; a
// user changed by hand to what the directory says anyway stays unknown,
// and is read in full by every sync, until this runs. It writes lookupBatch
// users per transaction, and reads each user as it is then.
func (s *Sink) RefreshDigests(ctx context.Context) error {
	n := s.n
	cond := fmt.Sprintf("%s = ? AND %s > ? AND (%s IS NULL OR %s <> %s)", n.uTenant, n.uID, n.uDigestRev, n.uDigestRev, n.uRev)
	for after := int64(0); ; {
		var last int64
		err := s.inTx(ctx, func(tx *txn) error {
			var err error
			last, err = s.refreshBatch(ctx, tx, cond, s.tenant, after)
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlsink: refreshing digests: %w", err)
		}
		if last == 0 {
			return nil
		}
		after = last
	}
}

// refreshAll computes the digests of every user of every tenant that has
// none, in tx: a migration's.
func (s *Sink) refreshAll(ctx context.Context, tx *txn) error {
	n := s.n
	cond := fmt.Sprintf("%s > ? AND (%s IS NULL OR %s <> %s)", n.uID, n.uDigestRev, n.uDigestRev, n.uRev)
	for after := int64(0); ; {
		last, err := s.refreshBatch(ctx, tx, cond, after)
		if err != nil || last == 0 {
			return err
		}
		after = last
	}
}

// refreshBatch digests the users cond selects with args, up to
// lookupBatch of them, and returns the last one's ID, or 0 if there was
// none.
func (s *Sink) refreshBatch(ctx context.Context, tx *txn, cond string, args ...any) (int64, error) {
	batch, err := s.readUsers(ctx, tx, newDecoder(s.n), cond, nil, nil, args...)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	ids := make([]int64, len(batch))
	for i := range batch {
		ids[i] = batch[i].id
	}
	groups, err := s.groupsOf(ctx, tx, ids, make(map[string][]string))
	if err != nil {
		return 0, err
	}
	var dg usersync.Digester
	ds := make([]digested, len(batch))
	for i := range batch {
		b := &batch[i]
		b.r.Groups = groups[b.id]
		d := dg.Digest(&b.r)
		ds[i] = digested{b.id, b.rev, d.Attrs, d.Groups}
	}
	if err := s.putDigests(ctx, tx, ds); err != nil {
		return 0, err
	}
	return slices.MaxFunc(batch, func(a, b listed) int { return cmp.Compare(a.id, b.id) }).id, nil
}

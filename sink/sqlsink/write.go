package sqlsink

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/usersync/usersync"
)

// load reads the users and groups the valid changes of cs name.
func (s *Sink) load(ctx context.Context, tx *txn, cs []usersync.Change, errs []error) (*batch, error) {
	b := &batch{users: make(map[string]*touched), groups: make(map[string]*group)}
	for i := range cs {
		if errs[i] != nil {
			continue
		}
		c := &cs[i]
		if c.Kind.IsGroup() {
			b.groups[c.Group.ID] = &group{}
			continue
		}
		b.user(c.User.Key)
		if c.OldKey != "" {
			b.user(c.OldKey)
		}
		for _, g := range c.Join {
			b.groups[g] = &group{}
		}
		for _, g := range c.Leave {
			b.groups[g] = &group{}
		}
	}
	if err := s.loadGroups(ctx, tx, b); err != nil {
		return nil, err
	}
	if err := s.loadUsers(ctx, tx, b); err != nil {
		return nil, err
	}
	return b, nil
}

// loadGroups reads the batch's groups, locking them against deletion where
// the database locks rows: the memberships the batch adds name them.
func (s *Sink) loadGroups(ctx context.Context, tx *txn, b *batch) error {
	n := s.n
	ids := slices.Sorted(maps.Keys(b.groups))
	return chunks(s.d, ids, 1, func(ids []string) error {
		cond, args := in(s.d, n.gExtID, ids)
		q := fmt.Sprintf("SELECT %s, %s, %s, COALESCE(%s, ''), COALESCE(%s, '') FROM %s WHERE %s = ? AND %s%s",
			n.gID, n.gExtID, n.gName, n.gParent, n.gAccount, n.groups, n.gTenant, cond, s.d.keyShare())
		rows, err := tx.QueryContext(ctx, s.d.bind(q), append([]any{s.tenant}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var ext, name string
			var l links
			if err := rows.Scan(&id, &ext, &name, &l.parent, &l.account); err != nil {
				return err
			}
			*b.groups[ext] = group{id: id, name: name, oldName: name, links: l, oldLinks: l, live: true}
		}
		return rows.Err()
	})
}

// loadUsers reads the batch's users in key order, locking their rows where
// the database locks rows, so that concurrent batches take their locks in
// one order and do not deadlock.
func (s *Sink) loadUsers(ctx context.Context, tx *txn, b *batch) error {
	n := s.n
	keys := slices.Sorted(maps.Keys(b.users))
	if len(keys) == 0 {
		return nil
	}
	if held, err := s.holdsBetween(ctx, tx, keys[0], keys[len(keys)-1]); err != nil || !held {
		return err
	}
	dec := newDecoder(n)
	return chunks(s.d, keys, 1, func(keys []string) error {
		cond, args := in(s.d, n.uKey, keys)
		q := fmt.Sprintf("SELECT %s, %s, CASE WHEN %s = %s THEN %s END, %s FROM %s WHERE %s = ? AND %s ORDER BY %s%s",
			n.uID, n.uRev, n.uRev, n.uDigestRev, n.uGroupsDigest, s.userColumns(), n.users, n.uTenant, cond, n.uKey, s.d.forUpdate())
		rows, err := tx.QueryContext(ctx, s.d.bind(q), append([]any{s.tenant}, args...)...)
		if err != nil {
			return err
		}
		src, err := newSQLRows(rows)
		if err != nil {
			return err
		}
		defer src.close()
		for src.next() {
			id, err := src.int(0)
			if err != nil {
				return err
			}
			rev, err := src.int(1)
			if err != nil {
				return err
			}
			var groups int64
			known := !src.null(2)
			if known {
				if groups, err = src.int(2); err != nil {
					return err
				}
			}
			r, err := s.decodeUser(dec, src, 3)
			if err != nil {
				return err
			}
			st := state{attrs: r.Attrs, inactive: r.Inactive, managed: r.Managed, missingRuns: r.MissingRuns, missingSince: r.MissingSince}
			u := b.users[r.Key]
			u.id, u.rev, u.was, u.now, u.live = id, rev, st, st, true
			u.groupsDigest, u.groupsKnown = usersync.Digest(groups), known
		}
		return src.err()
	})
}

// holdsBetween reports whether the tenant has a user whose key sorts
// between first and last, both included: one probe of the key index. A
// batch of new users finds none there, since a plan lists creates in key
// order, and so skips looking up its keys one by one, which took about 7%
// of a first load of 1M users into SQLite. No lock is taken: a key
// another writer inserts meanwhile fails the batch's insert, as it would
// after a lookup that found nothing.
func (s *Sink) holdsBetween(ctx context.Context, tx *txn, first, last string) (bool, error) {
	n := s.n
	q := fmt.Sprintf("SELECT 1 FROM %s WHERE %s = ? AND %s%s BETWEEN ? AND ? LIMIT 1", n.users, n.uTenant, n.uKey, s.d.keyOrder())
	var one int
	switch err := tx.QueryRowContext(ctx, s.d.bind(q), s.tenant, first, last).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// userColumns lists the columns decodeUser reads, in its order.
func (s *Sink) userColumns() string {
	n := s.n
	cols := []string{n.uKey, n.uInactive, n.uManaged, n.uMissingRuns, n.uMissingSince}
	if n.uAttrs != "" {
		cols = append(cols, n.uAttrs)
	}
	for _, c := range n.attrCols {
		cols = append(cols, c.col)
	}
	return strings.Join(cols, ", ")
}

// decodeUser makes a Record, without groups, of the columns userColumns
// lists, which src holds from column from on.
func (s *Sink) decodeUser(dec *decoder, src rowSource, from int) (usersync.Record, error) {
	r := usersync.Record{Key: src.str(from)}
	var err error
	if r.Inactive, err = src.bool(from + 1); err != nil {
		return r, err
	}
	if r.Managed, err = src.bool(from + 2); err != nil {
		return r, err
	}
	runs, err := src.int(from + 3)
	if err != nil || runs < 0 || runs > math.MaxUint16 {
		return r, cmpErr(err, fmt.Errorf("user %q: missing runs out of range: %d", r.Key, runs))
	}
	r.MissingRuns = uint16(runs)
	if r.MissingSince, err = src.int(from + 4); err != nil {
		return r, err
	}
	var js string
	cols := from + 5
	if s.n.uAttrs != "" {
		js, _ = src.text(cols)
		cols++
	}
	if r.Attrs, err = dec.attrs(js, src, cols); err != nil {
		return r, fmt.Errorf("user %q: %w", r.Key, err)
	}
	return r, nil
}

// write writes what the played batch changed: groups, then users (an
// update with its digests), then memberships, the digests of users whose
// rows the update did not write, and invitations, each kind with as few
// statements as the dialect allows.
func (s *Sink) write(ctx context.Context, tx *txn, b *batch) error {
	if err := s.writeGroups(ctx, tx, b); err != nil {
		return err
	}
	users := slices.SortedFunc(slices.Values(b.all), func(a, b *touched) int { return cmp.Compare(a.key, b.key) })
	digests, err := s.digestsAfter(ctx, tx, b, users)
	if err != nil {
		return err
	}
	fresh, err := s.writeUsers(ctx, tx, users, digests)
	if err != nil {
		return err
	}
	if err := s.writeMembers(ctx, tx, b, users, fresh); err != nil {
		return err
	}
	if len(digests) > 0 {
		ds := make([]digested, 0, len(digests))
		for _, u := range users {
			if d, ok := digests[u]; ok {
				ds = append(ds, d)
			}
		}
		if err := s.putDigests(ctx, tx, ds); err != nil {
			return err
		}
	}
	return s.writeInvites(ctx, tx, b.invites)
}

// writeGroups creates the new groups and renames (or re-links) the changed
// ones, and learns the new ones' IDs.
func (s *Sink) writeGroups(ctx context.Context, tx *txn, b *batch) error {
	n := s.n
	q := s.d.bind(fmt.Sprintf("INSERT INTO %s (%s, %s, %s, %s, %s) VALUES (?, ?, ?, ?, ?) ON CONFLICT (%s, %s) DO UPDATE SET %s = excluded.%s, %s = excluded.%s, %s = excluded.%s RETURNING %s",
		n.groups, n.gTenant, n.gExtID, n.gName, n.gParent, n.gAccount, n.gTenant, n.gExtID,
		n.gName, n.gName, n.gParent, n.gParent, n.gAccount, n.gAccount, n.gID))
	for _, ext := range slices.Sorted(maps.Keys(b.groups)) {
		g := b.groups[ext]
		if !g.live || g.id != 0 && g.name == g.oldName && g.links == g.oldLinks {
			continue
		}
		if err := tx.QueryRowContext(ctx, q, s.tenant, ext, g.name, nullIfEmpty(g.links.parent), nullIfEmpty(g.links.account)).Scan(&g.id); err != nil {
			return err
		}
	}
	return nil
}

// writeUsers deletes, re-keys, updates and inserts users, and returns the
// users it inserted, whose memberships are all new. An update writes the
// user's digests too, and takes them out of digests: what is left there
// is for putDigests.
func (s *Sink) writeUsers(ctx context.Context, tx *txn, users []*touched, digests map[*touched]digested) (map[*touched]bool, error) {
	var drop, updIDs []int64
	var upd, ins []row
	var inserted, rekeyed []*touched
	var dg usersync.Digester
	var scratch []string
	for _, u := range users {
		if u.drop {
			drop = append(drop, u.id)
		}
		switch {
		case !u.live:
		case u.id == 0 || u.drop:
			r := s.n.encode(u.key, &u.now)
			scratch = insertDigests(&dg, u, &r, scratch)
			ins, inserted = append(ins, r), append(inserted, u)
		default:
			if u.key != u.dbKey {
				rekeyed = append(rekeyed, u)
			}
			if !u.now.equal(&u.was) {
				r := s.n.encode(u.key, &u.now)
				d := digests[u]
				r.attrsDigest, r.groupsDigest, r.rev = d.attrs, d.groups, d.rev
				delete(digests, u)
				upd, updIDs = append(upd, r), append(updIDs, u.id)
			}
		}
	}
	if err := s.deleteUsers(ctx, tx, drop); err != nil {
		return nil, err
	}
	if err := s.rekey(ctx, tx, rekeyed); err != nil {
		return nil, err
	}
	if len(upd) > 0 {
		if err := s.d.updateUsers(ctx, tx, s, updIDs, upd); err != nil {
			return nil, err
		}
	}
	fresh := make(map[*touched]bool, len(inserted))
	if len(ins) == 0 {
		return fresh, nil
	}
	ids, err := s.d.insertUsers(ctx, tx, s, ins)
	if err != nil {
		return nil, err
	}
	for _, u := range inserted {
		if u.id = ids[u.key]; u.id == 0 {
			return nil, fmt.Errorf("user %q: the database gave no ID for the new row", u.key)
		}
		fresh[u] = true
	}
	return fresh, nil
}

// rekey gives users their new keys in two steps, through keys no feed
// holds, so that keys that move along a chain (A to B, B to C) never meet
// in the unique index.
func (s *Sink) rekey(ctx context.Context, tx *txn, users []*touched) error {
	if len(users) == 0 {
		return nil
	}
	q := s.d.bind(fmt.Sprintf("UPDATE %s SET %s = ? WHERE %s = ?", s.n.users, s.n.uKey, s.n.uID))
	tmp := "usersync-rekey-" + rand.Text() + "-"
	for _, step := range []func(*touched) string{
		func(u *touched) string { return tmp + strconv.FormatInt(u.id, 10) },
		func(u *touched) string { return u.key },
	} {
		for _, u := range users {
			if _, err := tx.ExecContext(ctx, q, step(u), u.id); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeMembers adds and removes the memberships the changes joined and
// left.
func (s *Sink) writeMembers(ctx context.Context, tx *txn, b *batch, users []*touched, fresh map[*touched]bool) error {
	var add, addFresh, remove []membership
	var groups []string // scratch: u's, in order
	for _, u := range users {
		if !u.live {
			continue
		}
		groups = u.sortedGroups(groups, false)
		for _, g := range groups {
			m := membership{u.id, b.groups[g].id}
			switch {
			case m.group == 0: // leaving a group that does not exist
			case !u.member[g]:
				if !fresh[u] {
					remove = append(remove, m)
				}
			case fresh[u]:
				addFresh = append(addFresh, m)
			default:
				add = append(add, m)
			}
		}
	}
	if len(remove) > 0 {
		if err := s.d.removeMembers(ctx, tx, s, remove); err != nil {
			return err
		}
	}
	if len(add) > 0 {
		if err := s.d.addMembers(ctx, tx, s, add, false); err != nil {
			return err
		}
	}
	if len(addFresh) > 0 {
		return s.d.addMembers(ctx, tx, s, addFresh, true)
	}
	return nil
}

// writeInvites queues invitations for the host to send; see
// [Sink.PendingInvites].
func (s *Sink) writeInvites(ctx context.Context, tx *txn, keys []string) error {
	q := s.d.bind(`INSERT INTO ` + s.n.invites + ` ("tenant", "key", "since") VALUES (?, ?, ?) ON CONFLICT DO NOTHING`)
	for _, k := range keys {
		if _, err := tx.ExecContext(ctx, q, s.tenant, k, s.now().UnixMilli()); err != nil {
			return err
		}
	}
	return nil
}

// deleteUsers deletes users and their memberships.
func (s *Sink) deleteUsers(ctx context.Context, tx *txn, ids []int64) error {
	n := s.n
	return chunks(s.d, ids, 0, func(ids []int64) error {
		for _, t := range []struct{ table, col string }{{n.members, n.mUser}, {n.users, n.uID}} {
			cond, args := in(s.d, t.col, ids)
			if _, err := tx.ExecContext(ctx, s.d.bind("DELETE FROM "+t.table+" WHERE "+cond), args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// appendRowArgs appends the values of r for the columns writeColumns
// lists: into the batch's buffer, not a slice of each row's own.
func (n *names) appendRowArgs(args []any, tenant string, r *row) []any {
	args = append(args, tenant, r.key)
	if n.uAttrs != "" {
		args = append(args, r.attrs)
	}
	for _, c := range r.cols {
		if c == nil {
			args = append(args, nil)
		} else {
			args = append(args, *c)
		}
	}
	return append(args, r.inactive, r.managed, int64(r.missingRuns), r.missingSince,
		int64(r.attrsDigest), int64(r.groupsDigest), r.rev, r.rev)
}

// digestColumns is how many columns end writeColumns' list for the digests
// of an inserted user and its revision.
const digestColumns = 4

// updateColumns lists the users columns an update sets: the data, the
// digests, and the revision they are of; not the tenant nor the key (see
// rekey), nor the revision itself, which only changes made by hand move.
func (n *names) updateColumns() []string {
	cols := n.writeColumns()
	return append(cols[2:len(cols)-digestColumns], n.uAttrsDigest, n.uGroupsDigest, n.uDigestRev)
}

// appendUpdateArgs appends r's values of updateColumns, r.rev being the
// revision its digests are of: appendRowArgs' less the tenant, the key and
// an insert's digests.
func (n *names) appendUpdateArgs(args []any, r *row) []any {
	start := len(args)
	args = n.appendRowArgs(args, "", r)
	args = append(args[:start], args[start+2:len(args)-digestColumns]...)
	return append(args, int64(r.attrsDigest), int64(r.groupsDigest), r.rev)
}

// writeColumns lists the users columns an insert sets: the data, then
// the digests and revisions (the last digestColumns).
func (n *names) writeColumns() []string {
	cols := []string{n.uTenant, n.uKey}
	if n.uAttrs != "" {
		cols = append(cols, n.uAttrs)
	}
	for _, c := range n.attrCols {
		cols = append(cols, c.col)
	}
	return append(cols, n.uInactive, n.uManaged, n.uMissingRuns, n.uMissingSince,
		n.uAttrsDigest, n.uGroupsDigest, n.uRev, n.uDigestRev)
}

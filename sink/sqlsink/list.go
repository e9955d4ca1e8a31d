package sqlsink

import (
	"context"
	"fmt"
	"iter"
	"slices"

	"github.com/usersync/usersync"
)

// ctxCheckEvery is how many groups a listing yields between two looks at
// its ctx.
const ctxCheckEvery = 1024

// listBatch is how many users a listing decodes, and finds the groups of,
// at a time, between two looks at its ctx.
const listBatch = 256

// maxGroupLists bounds the distinct group lists a listing shares between
// users.
const maxGroupLists = 1 << 14

// Users yields every user of the tenant, managed or not, in the order of
// their row IDs, with their groups that have an external ID. It reads one
// consistent snapshot: the users in one streaming query, and their
// memberships the way the dialect reads them fastest (a second stream on
// PostgreSQL; on SQLite, a lookup per batch of users, while a goroutine of
// the listing's steps the next batch), merged as they come: nothing is
// loaded whole but the tenant's groups. Users whose attributes have the
// same names share one usersync.Layout, and users in the same groups share
// one Groups slice.
//
// The listing holds two database connections until the loop ends (on
// SQLite, one when the pool has fewer than three), and no lock: the loop
// may call Apply, which does not see the snapshot, nor the snapshot it.
func (s *Sink) Users(ctx context.Context) iter.Seq2[usersync.Record, error] {
	return func(yield func(usersync.Record, error) bool) {
		stopped := false
		err := s.d.snapshot(ctx, s, func(snap snapshot) error {
			var err error
			stopped, err = s.listUsers(ctx, snap, yield)
			return err
		})
		if err != nil && !stopped {
			yield(usersync.Record{}, fmt.Errorf("sqlsink: listing users: %w", s.ctxErr(ctx, err)))
		}
	}
}

// A listed user is a Record and its row ID.
type listed struct {
	id  int64
	rev int64 // the revision, where the reader asked for it
	r   usersync.Record
}

// listUsers lists the users of snap with their memberships. It returns
// stopped when yield asked to stop.
func (s *Sink) listUsers(ctx context.Context, snap snapshot, yield func(usersync.Record, error) bool) (stopped bool, err error) {
	n := s.n
	groups, err := s.groupIDs(ctx, snap)
	if err != nil {
		return false, err
	}
	users, members, err := snap.users(ctx, fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s = ? ORDER BY %s",
		n.uID, s.userColumns(), n.users, n.uTenant, n.uID), s.tenant)
	if err != nil {
		return false, err
	}
	defer users.close()
	defer members.close()
	m := &merger{r: members, groups: groups, lists: make(map[string][]string)}
	dec := newDecoder(n)
	batch := make([]listed, 0, listBatch)
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if batch, err = s.readBatch(dec, users, batch[:0]); err != nil || len(batch) == 0 {
			return false, err
		}
		if err := m.attach(ctx, batch); err != nil {
			return false, err
		}
		for i := range batch {
			if !yield(batch[i].r, nil) {
				return true, nil
			}
		}
	}
}

// readBatch appends to batch the next users, up to listBatch of them.
func (s *Sink) readBatch(dec *decoder, users rowSource, batch []listed) ([]listed, error) {
	for len(batch) < listBatch && users.next() {
		id, err := users.int(0)
		if err != nil {
			return nil, err
		}
		r, err := s.decodeUser(dec, users, 1)
		if err != nil {
			return nil, err
		}
		batch = append(batch, listed{id: id, r: r})
	}
	return batch, users.err()
}

// groupIDs maps the database IDs of the tenant's groups that have an
// external ID to that ID.
func (s *Sink) groupIDs(ctx context.Context, q querier) (map[int64]string, error) {
	n := s.n
	rows, err := q.query(ctx, fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s = ? AND %s IS NOT NULL",
		n.gID, n.gExtID, n.groups, n.gTenant, n.gExtID), s.tenant)
	if err != nil {
		return nil, err
	}
	defer rows.close()
	ids := make(map[int64]string)
	for rows.next() {
		id, err := rows.int(0)
		if err != nil {
			return nil, err
		}
		ids[id] = rows.str(1)
	}
	return ids, rows.err()
}

// A memberReader reads the memberships of a listing's users, batch by
// batch.
type memberReader interface {
	// batch readies the memberships of users ids, which are ascending and
	// follow the previous batch's.
	batch(ctx context.Context, ids []int64) error
	// nextMember returns the next membership in user ID order, and false
	// at the end of the batch's or on an error. Memberships of users not
	// in the batch may come too: the merge skips them.
	nextMember() (membership, bool)
	err() error
	close()
}

// A merger walks the memberships, ordered by user ID, alongside the users.
type merger struct {
	r      memberReader
	cur    membership // read ahead: the first of a later user's
	has    bool       // whether cur holds one
	groups map[int64]string
	users  []int64
	ids    []string
	key    []byte
	// lists holds the group lists handed out, keyed by their IDs joined
	// with NUL, so that users in the same groups share one slice.
	lists map[string][]string
}

// attach sets the groups of a batch of users.
func (m *merger) attach(ctx context.Context, batch []listed) error {
	m.users = m.users[:0]
	for i := range batch {
		m.users = append(m.users, batch[i].id)
	}
	if err := m.r.batch(ctx, m.users); err != nil {
		return err
	}
	for i := range batch {
		var err error
		if batch[i].r.Groups, err = m.groupsOf(batch[i].id); err != nil {
			return err
		}
	}
	return nil
}

// groupsOf returns the sorted external IDs of user id's groups; nil if
// none. Users come in ascending ID order.
func (m *merger) groupsOf(id int64) ([]string, error) {
	m.ids = m.ids[:0]
	for {
		if !m.has {
			if m.cur, m.has = m.r.nextMember(); !m.has {
				if err := m.r.err(); err != nil {
					return nil, err
				}
				break
			}
		}
		if m.cur.user > id {
			break
		}
		if ext, ok := m.groups[m.cur.group]; ok && m.cur.user == id {
			m.ids = append(m.ids, ext)
		}
		m.has = false
	}
	return m.list(), nil
}

// list returns the collected IDs sorted, as a shared slice.
func (m *merger) list() []string {
	if len(m.ids) == 0 {
		return nil
	}
	slices.Sort(m.ids)
	m.ids = slices.Compact(m.ids)
	m.key = m.key[:0]
	for _, id := range m.ids {
		m.key = append(append(m.key, id...), 0)
	}
	if l, ok := m.lists[string(m.key)]; ok {
		return l
	}
	l := slices.Clone(m.ids)
	if len(m.lists) < maxGroupLists {
		m.lists[string(m.key)] = l
	}
	return l
}

// Groups yields every group of the tenant that has an external ID, sorted
// by it.
func (s *Sink) Groups(ctx context.Context) iter.Seq2[usersync.Group, error] {
	return func(yield func(usersync.Group, error) bool) {
		n := s.n
		rows, err := s.db.QueryContext(ctx, s.d.bind(fmt.Sprintf("SELECT %s, %s, COALESCE(%s, ''), COALESCE(%s, '') FROM %s WHERE %s = ? AND %s IS NOT NULL ORDER BY %s",
			n.gExtID, n.gName, n.gParent, n.gAccount, n.groups, n.gTenant, n.gExtID, n.gExtID)), s.tenant)
		if err != nil {
			yield(usersync.Group{}, fmt.Errorf("sqlsink: listing groups: %w", s.ctxErr(ctx, err)))
			return
		}
		defer rows.Close()
		for count := 1; rows.Next(); count++ {
			var g usersync.Group
			err := rows.Scan(&g.ID, &g.Name, &g.Parent, &g.Account)
			if err == nil && count%ctxCheckEvery == 0 {
				err = ctx.Err()
			}
			if err != nil {
				yield(usersync.Group{}, fmt.Errorf("sqlsink: listing groups: %w", s.ctxErr(ctx, err)))
				return
			}
			if !yield(g, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(usersync.Group{}, fmt.Errorf("sqlsink: listing groups: %w", s.ctxErr(ctx, err)))
		}
	}
}

package sqlsink

import (
	"context"
	"fmt"
	"iter"
	"slices"

	"github.com/usersync/usersync"
)

// ctxCheckEvery is how many rows a listing yields between two looks at
// its ctx.
const ctxCheckEvery = 1024

// maxGroupLists bounds the distinct group lists a listing shares between
// users.
const maxGroupLists = 1 << 14

// Users yields every user of the tenant, managed or not, in the order of
// their row IDs, with their groups that have an external ID. It reads one
// consistent snapshot with two streaming queries, the users and their
// memberships, both in user ID order, and merges them as they come: nothing
// is loaded whole but the tenant's groups. Users whose attributes have the
// same names share one usersync.Layout, and users in the same groups share
// one Groups slice.
//
// The listing holds its database connections until the loop ends, and no
// lock: the loop may call Apply, which does not see the snapshot, nor the
// snapshot it.
func (s *Sink) Users(ctx context.Context) iter.Seq2[usersync.Record, error] {
	return func(yield func(usersync.Record, error) bool) {
		stopped := false
		err := s.d.snapshot(ctx, s, func(a, b querier) error {
			var err error
			stopped, err = s.listUsers(ctx, a, b, yield)
			return err
		})
		if err != nil && !stopped {
			yield(usersync.Record{}, fmt.Errorf("sqlsink: listing users: %w", s.ctxErr(ctx, err)))
		}
	}
}

// listUsers merges the users from a with their memberships from b. It
// returns stopped when yield asked to stop.
func (s *Sink) listUsers(ctx context.Context, a, b querier, yield func(usersync.Record, error) bool) (stopped bool, err error) {
	n := s.n
	groups, err := s.groupIDs(ctx, a)
	if err != nil {
		return false, err
	}
	users, err := a.query(ctx, fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s = ? ORDER BY %s",
		n.uID, s.userColumns(), n.users, n.uTenant, n.uID), s.tenant)
	if err != nil {
		return false, err
	}
	defer users.close()
	members, err := b.query(ctx, fmt.Sprintf("SELECT m.%s, m.%s FROM %s m JOIN %s u ON u.%s = m.%s WHERE u.%s = ? ORDER BY u.%s",
		n.mUser, n.mGroup, n.members, n.users, n.uID, n.mUser, n.uTenant, n.uID), s.tenant)
	if err != nil {
		return false, err
	}
	defer members.close()
	m, err := newMerger(members, groups)
	if err != nil {
		return false, err
	}
	dec := newDecoder(n)
	for count := 1; users.next(); count++ {
		if count%ctxCheckEvery == 0 && ctx.Err() != nil {
			return false, ctx.Err()
		}
		v := users.values()
		id, err := parseInt(v[0])
		if err != nil {
			return false, err
		}
		r, err := s.decodeUser(dec, v[1:])
		if err != nil {
			return false, err
		}
		if r.Groups, err = m.groupsOf(id); err != nil {
			return false, err
		}
		if !yield(r, nil) {
			return true, nil
		}
	}
	return false, users.err()
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
		v := rows.values()
		id, err := parseInt(v[0])
		if err != nil {
			return nil, err
		}
		ids[id] = string(v[1])
	}
	return ids, rows.err()
}

// A merger walks the memberships, ordered by user ID, alongside the users.
type merger struct {
	members rowSource
	cur     membership // read ahead: the first of the next user's
	done    bool
	groups  map[int64]string
	ids     []string
	key     []byte
	// lists holds the group lists handed out, keyed by their IDs joined
	// with NUL, so that users in the same groups share one slice.
	lists map[string][]string
}

func newMerger(members rowSource, groups map[int64]string) (*merger, error) {
	m := &merger{members: members, groups: groups, lists: make(map[string][]string)}
	return m, m.advance()
}

// groupsOf returns the sorted external IDs of user id's groups; nil if
// none. Users come in ascending ID order.
func (m *merger) groupsOf(id int64) ([]string, error) {
	m.ids = m.ids[:0]
	for !m.done && m.cur.user <= id {
		if ext, ok := m.groups[m.cur.group]; ok && m.cur.user == id {
			m.ids = append(m.ids, ext)
		}
		if err := m.advance(); err != nil {
			return nil, err
		}
	}
	return m.list(), nil
}

func (m *merger) advance() error {
	if !m.members.next() {
		m.done = true
		return m.members.err()
	}
	v := m.members.values()
	var err error
	if m.cur.user, err = parseInt(v[0]); err != nil {
		return err
	}
	m.cur.group, err = parseInt(v[1])
	return err
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
		rows, err := s.db.QueryContext(ctx, s.d.bind(fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s = ? AND %s IS NOT NULL ORDER BY %s",
			n.gExtID, n.gName, n.groups, n.gTenant, n.gExtID, n.gExtID)), s.tenant)
		if err != nil {
			yield(usersync.Group{}, fmt.Errorf("sqlsink: listing groups: %w", s.ctxErr(ctx, err)))
			return
		}
		defer rows.Close()
		for count := 1; rows.Next(); count++ {
			var g usersync.Group
			err := rows.Scan(&g.ID, &g.Name)
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

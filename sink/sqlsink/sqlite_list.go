package sqlsink

import (
	"cmp"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Listing from SQLite. The driver, modernc.org/sqlite, is SQLite compiled
// to Go: stepping rows and reading their columns, each read taking the
// connection's mutex, is the cost of a listing. So a listing reads rows
// through the driver's own interface, without database/sql's copy of every
// value, and makes as few trips through it as it can: a batch of users'
// memberships comes as one row. A goroutine of the listing's steps the
// users on one connection, a batch ahead, while the listing decodes the
// batch before and looks up its memberships on a second connection, which
// reads the same snapshot: SQLite cannot hand a snapshot over, so the
// second connection starts reading while the first is, and the first then
// starts again; PRAGMA data_version tells whether anything was committed
// in between.

// sqliteConn is what a listing needs of the driver's connections.
type sqliteConn interface {
	driver.QueryerContext
	driver.ConnPrepareContext
}

// snapshotAttempts is how often a listing tries to open its second
// connection on the first one's snapshot, as writes commit in between,
// before it reads from the first alone.
const snapshotAttempts = 8

// snapshot reads in read transactions, which in WAL mode neither wait for
// writers nor hold them up.
func (d *sqliteDialect) snapshot(ctx context.Context, s *Sink, fn func(snapshot) error) error {
	a, err := s.begin(ctx, "BEGIN", false)
	if err != nil {
		return err
	}
	defer a.rollback() // it only read
	b, err := s.sameSnapshot(ctx, a)
	if err != nil {
		return err
	}
	if b != nil {
		defer b.rollback()
	}
	return a.Raw(func(ac any) error {
		ca, err := driverConn(ac)
		if err != nil {
			return err
		}
		if b == nil {
			return fn(sqliteSnapshot{driverQuerier{ca}, s, nil})
		}
		return b.Raw(func(bc any) error {
			cb, err := driverConn(bc)
			if err != nil {
				return err
			}
			return fn(sqliteSnapshot{driverQuerier{ca}, s, cb})
		})
	})
}

func driverConn(dc any) (sqliteConn, error) {
	c, ok := dc.(sqliteConn)
	if !ok {
		return nil, fmt.Errorf("the SQLite dialect needs the modernc.org/sqlite driver, not %T", dc)
	}
	return c, nil
}

// sameSnapshot begins a second read transaction on the state that a's
// holds, which it may restart, and returns it; or nil, when writes commit
// too often or the pool would lend no other connection to a loop body
// that applies changes. The second transaction starts while a holds one,
// and a then starts another: if PRAGMA data_version, which changes when
// another connection commits, is the same in both of a's, so is the
// state all three see.
func (s *Sink) sameSnapshot(ctx context.Context, a *txn) (*txn, error) {
	if limit := s.db.Stats().MaxOpenConnections; limit > 0 && limit < 3 {
		return nil, nil
	}
	before, err := dataVersion(ctx, a)
	if err != nil {
		return nil, err
	}
	for range snapshotAttempts {
		b, err := s.begin(ctx, "BEGIN", false)
		if err != nil {
			return nil, err
		}
		if _, err := dataVersion(ctx, b); err != nil { // b's snapshot starts
			b.rollback()
			return nil, err
		}
		if s.testHookSnapshot != nil {
			s.testHookSnapshot()
		}
		after, err := restartRead(ctx, a)
		if err != nil {
			b.rollback()
			return nil, err
		}
		if after == before {
			return b, nil
		}
		b.rollback()
		before = after
	}
	return nil, nil
}

// dataVersion starts tx's read transaction if it has none, and returns
// PRAGMA data_version.
func dataVersion(ctx context.Context, tx *txn) (int64, error) {
	var v int64
	err := tx.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v)
	return v, err
}

// restartRead ends tx's read transaction and starts another.
func restartRead(ctx context.Context, tx *txn) (int64, error) {
	for _, stmt := range []string{"COMMIT", "BEGIN"} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return 0, err
		}
	}
	return dataVersion(ctx, tx)
}

// sqliteSnapshot reads from a connection of the driver, and the
// memberships from a second one on the same snapshot, if it has one.
type sqliteSnapshot struct {
	driverQuerier
	s       *Sink
	members sqliteConn // nil: c reads them
}

func (q sqliteSnapshot) users(ctx context.Context, query string, args ...any) (rowSource, memberReader, error) {
	rows, err := q.rows(ctx, query, args...)
	if err != nil {
		return nil, nil, err
	}
	m := &sqliteMembers{c: q.c, n: q.s.n}
	if q.members != nil {
		m.c = q.members
	}
	u := newSQLiteUsers(ctx, rows, m, q.members == nil)
	return u, u, nil
}

// sqliteMembers looks up the memberships of a batch of listed users: with
// a range of user IDs where the batch's IDs are dense, as when the tenant
// has the table to itself, reading the memberships table in order; with
// the batch's IDs otherwise, seeking each. One query for every user's
// memberships would seek them user by user, SQLite joining with nested
// loops only; and a row per membership would cost a trip through the
// driver each, so the batch's come as two lists of IDs.
type sqliteMembers struct {
	c               sqliteConn
	n               *names
	inRange, inList driver.Stmt
	args            []driver.NamedValue
	vals            []driver.Value
}

// lookup appends to ms the memberships of users ids, ascending, sorted by
// user ID.
func (m *sqliteMembers) lookup(ctx context.Context, ids []int64, ms []membership) ([]membership, error) {
	first, last := ids[0], ids[len(ids)-1]
	stmt := &m.inRange
	m.args = m.args[:0]
	if last-first < 2*int64(len(ids)) {
		m.args = append(m.args, driver.NamedValue{Ordinal: 1, Value: first}, driver.NamedValue{Ordinal: 2, Value: last})
	} else {
		stmt = &m.inList
		for i := range listBatch {
			// The statement takes listBatch IDs: a short batch repeats its last.
			m.args = append(m.args, driver.NamedValue{Ordinal: i + 1, Value: ids[min(i, len(ids)-1)]})
		}
	}
	if *stmt == nil {
		var err error
		if *stmt, err = m.c.PrepareContext(ctx, m.query(stmt == &m.inRange)); err != nil {
			return nil, err
		}
	}
	q, ok := (*stmt).(driver.StmtQueryContext)
	if !ok {
		return nil, fmt.Errorf("the SQLite driver's statements take no context (%T)", *stmt)
	}
	rows, err := q.QueryContext(ctx, m.args)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if m.vals == nil {
		m.vals = make([]driver.Value, 2)
	}
	if err := rows.Next(m.vals); err != nil {
		return nil, err // an aggregate has a row, even of no rows
	}
	users, _ := m.vals[0].(string) // NULL when there is none
	groups, _ := m.vals[1].(string)
	return parseMemberships(users, groups, ms)
}

// query returns the statement for a range of user IDs, or for a list of
// listBatch of them. The two lists are aggregated from the same rows in
// the same order, which is no promised one: parseMemberships sorts them.
func (m *sqliteMembers) query(inRange bool) string {
	cond := "BETWEEN ? AND ?"
	if !inRange {
		cond = "IN (" + placeholders(listBatch) + ")"
	}
	return fmt.Sprintf("SELECT group_concat(%s), group_concat(%s) FROM %s WHERE %s %s",
		m.n.mUser, m.n.mGroup, m.n.members, m.n.mUser, cond)
}

// parseMemberships appends to ms the memberships of two lists of IDs,
// "user,user...", "group,group...", sorted by user ID.
func parseMemberships(users, groups string, ms []membership) ([]membership, error) {
	for users != "" || groups != "" {
		var m membership
		var err error
		if m.user, users, err = nextID(users); err != nil {
			return nil, err
		}
		if m.group, groups, err = nextID(groups); err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b membership) int { return cmp.Compare(a.user, b.user) })
	return ms, nil
}

// nextID parses the first ID of a comma-separated list.
func nextID(list string) (int64, string, error) {
	n := strings.IndexByte(list, ',')
	if n < 0 {
		n = len(list)
	}
	id, err := parseInt(list[:n])
	if err != nil {
		return 0, "", fmt.Errorf("memberships: %w", err)
	}
	return id, list[min(n+1, len(list)):], nil
}

func (m *sqliteMembers) close() {
	for _, s := range []driver.Stmt{m.inRange, m.inList} {
		if s != nil {
			s.Close()
		}
	}
}

// driverQuerier runs queries on a connection of the driver.
type driverQuerier struct{ c sqliteConn }

func (q driverQuerier) query(ctx context.Context, query string, args ...any) (rowSource, error) {
	return q.rows(ctx, query, args...)
}

// rows runs query with args, which must be driver.Values.
func (q driverQuerier) rows(ctx context.Context, query string, args ...any) (*driverRows, error) {
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	rows, err := q.c.QueryContext(ctx, query, named)
	if err != nil {
		return nil, err
	}
	return &driverRows{rows: rows, vals: make([]driver.Value, len(rows.Columns()))}, nil
}

// driverRows is a rowSource over the driver's rows, which hands over each
// value once: text comes as a string of its own.
type driverRows struct {
	rows driver.Rows
	vals []driver.Value
	done bool // a step past the end would run the statement again
	e    error
}

func (r *driverRows) next() bool {
	if r.done {
		return false
	}
	if r.e = r.rows.Next(r.vals); r.e != nil {
		if r.e == io.EOF {
			r.e = nil
		}
		r.done = true
		return false
	}
	return true
}

// text converts a value to text as database/sql would.
func (r *driverRows) text(i int) (string, bool) {
	switch v := r.vals[i].(type) {
	case nil:
		return "", false
	case string:
		return v, true
	case []byte:
		return view(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	case time.Time:
		return v.Format(time.RFC3339Nano), true
	default:
		return fmt.Sprint(v), true
	}
}

func (r *driverRows) str(i int) string {
	if v, ok := r.vals[i].(string); ok {
		return v
	}
	v, _ := r.text(i)
	return strings.Clone(v)
}

func (r *driverRows) null(i int) bool { return r.vals[i] == nil }

func (r *driverRows) int(i int) (int64, error) {
	if v, ok := r.vals[i].(int64); ok {
		return v, nil
	}
	v, _ := r.text(i)
	return parseInt(v)
}

// bool reads SQLite's booleans, the integers 0 and 1, and text as parseBool
// does.
func (r *driverRows) bool(i int) (bool, error) {
	switch v := r.vals[i].(type) {
	case int64:
		if v == 0 || v == 1 {
			return v == 1, nil
		}
	case bool:
		return v, nil
	}
	v, _ := r.text(i)
	return parseBool(v)
}

func (r *driverRows) err() error { return r.e }
func (r *driverRows) close()     { r.rows.Close() }

// sqliteUsers steps a listing's users and looks up their memberships, a
// batch at a time, on a goroutine of its own, while the listing decodes
// the batch before. It relies on the driver giving every value an
// allocation of its own, as modernc.org/sqlite does, so that a batch's
// values outlive the step after them. It is the listing's rowSource and
// memberReader; the listing's batches are the stepper's.
type sqliteUsers struct {
	driverRows // vals is the current row's, in cur
	members    *sqliteMembers
	stepperMs  bool // whether the stepper looks up the memberships
	ctx        context.Context
	width      int
	full       chan *rowBatch // stepped, for the reader
	empty      chan *rowBatch // read, for the stepper
	stop       chan struct{}  // closed when the reader is done
	stopped    chan struct{}  // closed when the stepper is
	cur        *rowBatch
	read       int // rows of cur the reader has had
	readMs     int // memberships of cur the reader has had
}

// A rowBatch holds rows of values, one after another, and the memberships
// of their users.
type rowBatch struct {
	vals []driver.Value
	n    int
	ids  []int64
	ms   []membership
	last bool  // no rows follow
	err  error // why, if not the end of the rows
}

// stepBatches is how many batches the reader and the stepper share: one
// for each, and one ready.
const stepBatches = 3

func newSQLiteUsers(ctx context.Context, r *driverRows, members *sqliteMembers, stepperMs bool) *sqliteUsers {
	u := &sqliteUsers{
		driverRows: driverRows{rows: r.rows},
		members:    members,
		stepperMs:  stepperMs,
		ctx:        ctx,
		width:      len(r.vals),
		full:       make(chan *rowBatch, stepBatches),
		empty:      make(chan *rowBatch, stepBatches),
		stop:       make(chan struct{}),
		stopped:    make(chan struct{}),
	}
	for range stepBatches {
		u.empty <- &rowBatch{vals: make([]driver.Value, listBatch*u.width)}
	}
	go u.step()
	return u
}

// step fills batches until the rows end, an error, or the reader stops.
func (u *sqliteUsers) step() {
	defer close(u.stopped)
	for {
		var b *rowBatch
		select {
		case b = <-u.empty:
		case <-u.stop:
			return
		}
		u.fill(b)
		u.full <- b // never blocks: it has room for every batch
		if b.last {
			return
		}
	}
}

// fill steps a batch of rows and looks up their memberships.
func (u *sqliteUsers) fill(b *rowBatch) {
	b.n, b.ids, b.ms = 0, b.ids[:0], b.ms[:0]
	row := driverRows{}
	for b.n < listBatch {
		row.vals = b.vals[b.n*u.width : (b.n+1)*u.width]
		if err := u.rows.Next(row.vals); err != nil {
			b.last = true
			if err != io.EOF {
				b.err = err
			}
			break
		}
		id, err := row.int(0)
		if err != nil {
			b.n, b.last, b.err = 0, true, err
			return
		}
		b.ids = append(b.ids, id)
		b.n++
	}
	if b.n > 0 && u.stepperMs {
		var err error
		if b.ms, err = u.members.lookup(u.ctx, b.ids, b.ms); err != nil {
			b.n, b.last, b.err = 0, true, err // no user without their groups
		}
	}
}

func (u *sqliteUsers) next() bool {
	for u.cur == nil || u.read == u.cur.n {
		if u.cur != nil {
			if u.cur.last {
				u.e = u.cur.err
				return false
			}
			u.empty <- u.cur
		}
		u.cur, u.read, u.readMs = <-u.full, 0, 0
	}
	u.vals = u.cur.vals[u.read*u.width : (u.read+1)*u.width]
	u.read++
	return true
}

// batch serves the memberships of the batch of users just read, which the
// stepper looked up with them, or looks them up.
func (u *sqliteUsers) batch(ctx context.Context, ids []int64) error {
	if u.cur == nil || !slices.Equal(ids, u.cur.ids) {
		return errors.New("the listing's batches are not the stepper's")
	}
	if u.stepperMs {
		return nil
	}
	var err error
	u.cur.ms, err = u.members.lookup(ctx, ids, u.cur.ms[:0])
	return err
}

func (u *sqliteUsers) nextMember() (membership, bool) {
	if u.readMs == len(u.cur.ms) {
		return membership{}, false
	}
	u.readMs++
	return u.cur.ms[u.readMs-1], true
}

// close stops the stepper before it closes the rows and statements.
func (u *sqliteUsers) close() {
	select {
	case <-u.stop: // closed already, as memberReader or as rowSource
		return
	default:
	}
	close(u.stop)
	<-u.stopped
	u.rows.Close()
	u.members.close()
}

package reconcile

import (
	"maps"
	"slices"
	"strings"

	"github.com/usersync/usersync"
)

// managers resolves the manager references of Policy.Manager.
type managers struct {
	attr string
	by   MatchKey
	// refs holds every reference of the feed's rows, as MatchKey.value
	// gives them: of the rows held, and of those planned as creates as the
	// merge read them. It takes a string per manager, not per row.
	refs map[string]struct{}
	// unresolved holds the references that no user matched so far: refs,
	// less those the feed's users match, less those the Sink's users match.
	unresolved map[string]struct{}
	// idle holds the inactive rows new to the Sink that have a reference:
	// the merge plans nothing for them, and warnUnresolved warns of their
	// references as of a held row's.
	idle []idleRow
}

// An idleRow is what a warning of an inactive new row says.
type idleRow struct {
	key    string
	origin usersync.Position
	value  string // the reference as the row gives it
}

func newManagers(m Manager) managers {
	if m.Attr == "" {
		return managers{}
	}
	return managers{attr: m.Attr, by: m.By, refs: make(map[string]struct{})}
}

// note collects r's reference.
func (m *managers) note(r *usersync.Record) {
	if m.attr == "" {
		return
	}
	if v := m.ref(r); v != "" {
		m.refs[v] = struct{}{}
	}
}

// resolveManagers collects the held rows' manager references and resolves
// those that a user in the feed matches: a held row, or a user whose rows
// were rejected (they are in the file too, and match by key). The feed's
// other rows resolve theirs later (resolveManagersBeyond), and so do the
// Sink's users as the planner reads them (seeSinkUser).
func (pl *planner) resolveManagers() {
	m := &pl.managers
	if m.attr == "" {
		return
	}
	for i := range pl.recs {
		m.note(&pl.recs[i])
	}
	m.unresolved = maps.Clone(m.refs)
	for i := range pl.recs {
		delete(m.unresolved, m.by.value(&pl.recs[i]))
	}
	if m.by.Attr == "" {
		for k := range pl.present {
			delete(m.unresolved, m.by.value(&usersync.Record{Key: k}))
		}
	}
}

// noteIdle collects the reference of r, an inactive new row, and keeps
// what a warning of it would say.
func (m *managers) noteIdle(r *usersync.Record) {
	if m.attr == "" {
		return
	}
	if v := m.ref(r); v != "" {
		m.refs[v] = struct{}{}
		m.idle = append(m.idle, idleRow{r.Key, r.Origin, r.Attrs.Value(m.attr)})
	}
}

// ref returns r's manager reference, as the key it refers by compares.
func (m *managers) ref(r *usersync.Record) string {
	return m.refOf(r.Attrs.Value(m.attr))
}

// refOf returns the reference v, as the key it refers by compares.
func (m *managers) refOf(v string) string {
	if m.by.IgnoreCase {
		v = strings.ToLower(v)
	}
	return v
}

// seeSinkUser resolves the references u matches.
func (m *managers) seeSinkUser(u *usersync.Record) {
	if len(m.unresolved) > 0 {
		delete(m.unresolved, m.by.value(u))
	}
}

// resolved reports whether r's manager reference, if any, matches a user.
func (m *managers) resolved(r *usersync.Record) bool {
	if len(m.unresolved) == 0 {
		return true
	}
	_, missing := m.unresolved[m.ref(r)]
	return !missing
}

// resolvedRef returns r's reference if a user matches it, else "".
func (m *managers) resolvedRef(r *usersync.Record) string {
	if !m.resolved(r) {
		return ""
	}
	return m.ref(r)
}

// warnUnresolved puts a warning on each held row, and each inactive new
// row, whose manager reference matches nobody: the reference is not
// written. (listOrdered warns of the creates planned as the merge read
// them.)
func (pl *planner) warnUnresolved() {
	m := &pl.managers
	if len(m.unresolved) == 0 {
		return
	}
	for i := range pl.recs {
		if pl.state[i] == rejected || pl.state[i] == merged {
			continue
		}
		if r := &pl.recs[i]; !m.resolved(r) {
			pl.warnings.add(r, m.attr, r.Attrs.Value(m.attr), ErrManagerNotFound)
		}
	}
	for _, x := range m.idle {
		if _, back := pl.takenBack[x.key]; back {
			continue // held now, and warned of above
		}
		if _, missing := m.unresolved[m.refOf(x.value)]; missing {
			pl.warnings.add(&usersync.Record{Key: x.key, Origin: x.origin}, m.attr, x.value, ErrManagerNotFound)
		}
	}
}

// maxLevels bounds the levels of a plan's creates: a create deeper than
// that in a chain of created managers gets its manager from an update.
// Real organizations are far shallower; the bound keeps the files of the
// levels few whatever a file says.
const maxLevels = 64

// A level orders the creates when managers are resolved: a create's level
// is 0 unless its manager is created too, and then one more than its
// manager's. Creates are listed level by level, each in key order, so
// that every manager is created before the users who report to them.
//
// Only the creates that someone reports to (their by-value is a
// reference) need theirs remembered: anyone's level follows from their
// manager's. So ordering costs memory per manager, not per create, and two
// reads of the creates, which may be on disk.
type levels struct {
	bosses  map[string]*boss // by by-value
	deepest int
}

// A boss is a create someone reports to.
type boss struct {
	key   string // the create's key: with by-values shared, the last create in key order is the boss
	ref   string // its manager's by-value, if resolved
	level int
	late  bool  // its manager is set by an update after every create
	state uint8 // of the walk in levels.place
}

// The states of a boss in levels.place.
const (
	unplaced = iota
	onChain
	placed
)

// orderCreates reads the creates once and returns their levels. It plans
// a manager update after every create for a re-keyed or adopted user whose
// manager is created in this plan.
func (pl *planner) orderCreates(read usersync.ChangeList) (*levels, error) {
	m := &pl.managers
	lv := &levels{bosses: make(map[string]*boss)}
	var order []string // the bosses' by-values, in key order
	rekeyRefs := make(map[string]bool)
	for k := range pl.rekeys {
		if v := m.ref(&pl.rekeys[k].User); v != "" {
			rekeyRefs[v] = false
		}
	}
	for c, err := range pl.allCreates(read) {
		if err != nil {
			return nil, err
		}
		by := m.by.value(&c.User)
		if _, ok := m.refs[by]; !ok || by == "" {
			continue
		}
		if _, ok := rekeyRefs[by]; ok {
			rekeyRefs[by] = true
		}
		b, ok := lv.bosses[by]
		if !ok {
			b = &boss{}
			lv.bosses[by] = b
			order = append(order, by)
		}
		b.key, b.ref = c.User.Key, m.resolvedRef(&c.User)
	}
	for _, by := range order {
		lv.place(by)
	}
	for k := range pl.rekeys {
		if rekeyRefs[m.ref(&pl.rekeys[k].User)] {
			pl.setManagerLater(&pl.rekeys[k])
		}
	}
	return lv, nil
}

// place gives levels to the chain of bosses that starts at by: walking up
// to a boss placed before, or to one whose manager is not created, or
// back into the chain. In that cycle, the chain's last boss gets its
// manager later (as it does when it reports to itself).
func (lv *levels) place(by string) {
	var chain []*boss
	for b := lv.bosses[by]; b != nil && b.state == unplaced; b = lv.bosses[b.ref] {
		b.state = onChain
		chain = append(chain, b)
		by = b.ref
	}
	level := 0
	if top := lv.bosses[by]; top != nil {
		if top.state == onChain {
			chain[len(chain)-1].late = true
		} else {
			level = top.level + 1
		}
	}
	for k := len(chain) - 1; k >= 0; k-- {
		b := chain[k]
		if level >= maxLevels {
			b.late, level = true, 0
		}
		b.level, b.state = level, placed
		lv.deepest = max(lv.deepest, level)
		level++
	}
}

// of returns c's level, and whether its manager is set later.
func (lv *levels) of(m *managers, c *usersync.Change) (level int, late bool) {
	if b := lv.bosses[m.by.value(&c.User)]; b != nil && b.key == c.User.Key {
		return b.level, b.late
	}
	b := lv.bosses[m.resolvedRef(&c.User)]
	switch {
	case b == nil:
		return 0, false
	case b.level+1 >= maxLevels:
		return 0, true
	}
	return b.level + 1, false
}

// listOrdered writes the creates level by level. A create planned as the
// merge read it loses a reference that matches nobody, with a warning, as
// a held row did when it was planned.
func (pl *planner) listOrdered(w *usersync.ChangeWriter, read usersync.ChangeList, lv *levels) error {
	m := &pl.managers
	ws := pl.feed.ChangeWriters(lv.deepest + 2) // a boss's reports are one deeper
	for c, err := range pl.allCreates(read) {
		if err != nil {
			return err
		}
		if !m.resolved(&c.User) {
			pl.warnings.add(&c.User, m.attr, c.User.Attrs.Value(m.attr), ErrManagerNotFound)
			c.User.Attrs = pl.withoutManager(c.User.Attrs)
		}
		level, late := lv.of(m, &c)
		if late {
			pl.setManagerLater(&c)
		}
		if err := ws[level].Write(&c); err != nil {
			return err
		}
	}
	for _, lw := range ws {
		l, err := lw.List()
		if err != nil {
			return err
		}
		if err := w.WriteList(l); err != nil {
			return err
		}
	}
	return nil
}

// withoutManager returns a without the manager attribute.
func (pl *planner) withoutManager(a usersync.Attrs) usersync.Attrs {
	names := a.Layout().Names()
	i := slices.Index(names, pl.managers.attr)
	if i < 0 {
		return a
	}
	return pl.layouts.project(a, slices.Delete(slices.Clone(names), i, i+1))
}

// setManagerLater takes the manager out of c and plans an UpdateUser that
// sets it once every user is created.
func (pl *planner) setManagerLater(c *usersync.Change) {
	m := &pl.managers
	later := usersync.Change{Kind: usersync.UpdateUser, User: c.User, Attrs: []string{m.attr}}
	switch c.Kind {
	case usersync.CreateUser:
		if !slices.Contains(c.User.Attrs.Layout().Names(), m.attr) {
			return
		}
		c.User.Attrs = pl.withoutManager(c.User.Attrs)
	default:
		i := slices.Index(c.Attrs, m.attr)
		if i < 0 {
			return
		}
		old := usersync.Record{Attrs: c.Before}
		later.Before = pl.before(&old, later.Attrs)
		c.Attrs = slices.Delete(slices.Clone(c.Attrs), i, i+1)
		c.Before = pl.before(&old, c.Attrs)
		if len(c.Attrs) == 0 {
			c.Attrs = nil
		}
	}
	pl.add(pl.updates, later)
}

package usersync

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync/atomic"
)

// A Layout is a fixed, ordered list of attribute names shared by many
// [Attrs]. A Mapper builds one Layout per file and packs every row with it, so
// a million records share one copy of the names and comparing two records of
// the same layout is a single string comparison.
//
// A Layout is immutable and safe for concurrent use.
type Layout struct {
	names []string
	index map[string]int
	// sorted lists the indexes of names in order of name, nil when names
	// are in order already, and sortedNames encodes them in that order:
	// digests see attributes in name order.
	sorted      []int
	sortedNames []byte
	// same caches the last other Layout found to hold the same names in the
	// same order, so that comparing records of two runs (the feed's layout and
	// the one a Sink stored yesterday) takes the fast path after one check.
	same atomic.Pointer[Layout]
}

// NewLayout returns a Layout with the given attribute names, in that order.
// It panics if a name is empty or repeated: layouts come from schemas, which
// are validated before this is called.
func NewLayout(names ...string) *Layout {
	l := &Layout{names: slices.Clone(names), index: make(map[string]int, len(names))}
	for i, n := range l.names {
		if n == "" {
			panic("usersync: NewLayout: empty attribute name")
		}
		if _, dup := l.index[n]; dup {
			panic(fmt.Sprintf("usersync: NewLayout: attribute %q named twice", n))
		}
		l.index[n] = i
	}
	l.sorted = sortedOrder(l.names)
	l.sortedNames = encodeSortedNames(l.names, l.sorted)
	return l
}

// Len returns the number of attribute names.
func (l *Layout) Len() int {
	if l == nil {
		return 0
	}
	return len(l.names)
}

// Names returns a copy of the attribute names in layout order.
func (l *Layout) Names() []string {
	if l == nil {
		return nil
	}
	return slices.Clone(l.names)
}

// Index returns the position of name in the layout, or -1.
func (l *Layout) Index(name string) int {
	if l == nil {
		return -1
	}
	if i, ok := l.index[name]; ok {
		return i
	}
	return -1
}

// Make packs values, given in layout order, into Attrs with a single
// allocation. It panics if len(values) != l.Len().
func (l *Layout) Make(values []string) Attrs {
	if len(values) != l.Len() {
		panic(fmt.Sprintf("usersync: Layout.Make: %d values for %d names", len(values), l.Len()))
	}
	if len(values) == 0 {
		return Attrs{}
	}
	n := 0
	for _, v := range values {
		n += uvarintLen(len(v)) + len(v)
	}
	var b strings.Builder
	b.Grow(n)
	var tmp [binary.MaxVarintLen64]byte
	for _, v := range values {
		b.Write(tmp[:binary.PutUvarint(tmp[:], uint64(len(v)))])
		b.WriteString(v)
	}
	return Attrs{layout: l, data: b.String()}
}

// sameNames reports whether l and m hold the same names in the same order.
func (l *Layout) sameNames(m *Layout) bool {
	if l == m {
		return true
	}
	if l.Len() == 0 || m.Len() == 0 { // nil is the layout of the zero Attrs
		return l.Len() == m.Len()
	}
	if l.same.Load() == m {
		return true
	}
	if !slices.Equal(l.names, m.names) {
		return false
	}
	l.same.Store(m)
	return true
}

func uvarintLen(n int) int {
	i := 1
	for n >= 0x80 {
		n >>= 7
		i++
	}
	return i
}

// Attrs is an immutable set of attribute values, such as a user's name,
// email and title. The zero value holds no attributes.
//
// An attribute that is part of the set but empty ("") is different from one
// that is not part of it: the first says "this user has no title", the second
// says nothing about titles. Reconcilers compare and write only the
// attributes a feed holds.
//
// Attrs is a small value (a pointer and a string) and is meant to be copied.
type Attrs struct {
	layout *Layout
	data   string // uvarint length + bytes, for each name in layout order
}

// NewAttrs returns Attrs from alternating names and values:
//
//	usersync.NewAttrs("email", "ann@example.com", "title", "Nurse")
//
// It panics on an odd number of arguments or a repeated name. It builds a new
// Layout on every call; code that makes many Attrs uses [Layout.Make].
func NewAttrs(nameValues ...string) Attrs {
	if len(nameValues)%2 != 0 {
		panic("usersync: NewAttrs: odd number of arguments")
	}
	names := make([]string, 0, len(nameValues)/2)
	values := make([]string, 0, len(nameValues)/2)
	for i := 0; i < len(nameValues); i += 2 {
		names = append(names, nameValues[i])
		values = append(values, nameValues[i+1])
	}
	return NewLayout(names...).Make(values)
}

// AttrsFromMap returns Attrs holding the entries of m, with names sorted.
func AttrsFromMap(m map[string]string) Attrs {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	values := make([]string, len(names))
	for i, n := range names {
		values[i] = m[n]
	}
	return NewLayout(names...).Make(values)
}

// Layout returns the layout the attributes were packed with (nil when empty).
func (a Attrs) Layout() *Layout { return a.layout }

// Len returns the number of attributes.
func (a Attrs) Len() int { return a.layout.Len() }

// Get returns the value of the named attribute and whether it is in the set.
func (a Attrs) Get(name string) (string, bool) {
	i := a.layout.Index(name)
	if i < 0 {
		return "", false
	}
	return a.at(i), true
}

// Value returns the value of the named attribute, or "" if it is not in the set.
func (a Attrs) Value(name string) string {
	v, _ := a.Get(name)
	return v
}

// at returns the i-th value by skipping i length-prefixed values.
func (a Attrs) at(i int) string {
	d := a.data
	for {
		n, w := uvarint(d)
		d = d[w:]
		if i == 0 {
			return d[:n]
		}
		d = d[n:]
		i--
	}
}

// All iterates over the attributes in layout order.
func (a Attrs) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		d := a.data
		for _, name := range a.layout.names0() {
			var v string
			v, d = nextValue(d)
			if !yield(name, v) {
				return
			}
		}
	}
}

func (l *Layout) names0() []string {
	if l == nil {
		return nil
	}
	return l.names
}

// Equal reports whether a and b hold the same names with the same values,
// in any order.
func (a Attrs) Equal(b Attrs) bool {
	if a.layout.sameNames(b.layout) {
		return a.data == b.data
	}
	if a.Len() != b.Len() {
		return false
	}
	return a.Diff(b) == nil
}

// Diff returns the names of the attributes in a whose value differs from
// the same attribute in cur, in a's layout order; an attribute missing from
// cur counts as "". Attributes only in cur are not looked at. Diff returns
// nil when nothing differs, without allocating.
func (a Attrs) Diff(cur Attrs) []string {
	if a.layout.sameNames(cur.layout) {
		if a.data == cur.data {
			return nil
		}
		var changed []string
		d, e := a.data, cur.data
		for _, name := range a.layout.names {
			var v, w string
			v, d = nextValue(d)
			w, e = nextValue(e)
			if v != w {
				changed = append(changed, name)
			}
		}
		return changed
	}
	var changed []string
	for name, v := range a.All() {
		if cur.Value(name) != v {
			changed = append(changed, name)
		}
	}
	return changed
}

// nextValue splits the first length-prefixed value off d.
func nextValue(d string) (v, rest string) {
	n, w := uvarint(d)
	return d[w : w+n], d[w+n:]
}

// uvarint decodes the length prefix at the start of d (written by
// binary.PutUvarint) and returns it with its width in bytes.
func uvarint(d string) (n, width int) {
	var shift uint
	for i := 0; i < len(d); i++ {
		b := d[i]
		n |= int(b&0x7f) << shift
		if b < 0x80 {
			return n, i + 1
		}
		shift += 7
	}
	panic("usersync: corrupt Attrs")
}

// Merge returns a with the named attributes set from b: the result holds
// every attribute of a and every named one, valued from b (an attribute b
// lacks counts as ""). With no names it returns a. It is what a Sink does
// for an update: write the changed attributes, keep the others.
//
// The result shares a Layout wherever it can, so that a million users
// updated from one feed do not each get their own: b itself when the named
// attributes are all of b and cover a, a's Layout when a already holds every
// named attribute (a itself when no value changes).
func (a Attrs) Merge(b Attrs, names ...string) Attrs {
	switch {
	case len(names) == 0:
		return a
	case len(names) == b.Len() && b.layout.hasAll(names) && b.layout.hasAll(a.layout.names0()):
		return b
	case a.layout.hasAll(names):
		return a.override(b, names)
	}
	m := a.Map()
	for _, n := range names {
		m[n] = b.Value(n)
	}
	return AttrsFromMap(m)
}

// MergeAll returns a with every attribute of b set from b, as a Sink does
// when it creates a user over an existing one.
func (a Attrs) MergeAll(b Attrs) Attrs {
	return a.Merge(b, b.layout.names0()...)
}

// override returns a with the named attributes, all in a's Layout, set from b.
func (a Attrs) override(b Attrs, names []string) Attrs {
	values := make([]string, 0, a.Len())
	for _, v := range a.All() {
		values = append(values, v)
	}
	changed := false
	for _, n := range names {
		i, v := a.layout.Index(n), b.Value(n)
		changed = changed || values[i] != v
		values[i] = v
	}
	if !changed {
		return a
	}
	return a.layout.Make(values)
}

// hasAll reports whether every one of names is in the layout.
func (l *Layout) hasAll(names []string) bool {
	for _, n := range names {
		if l.Index(n) < 0 {
			return false
		}
	}
	return true
}

// Map returns the attributes as a new map.
func (a Attrs) Map() map[string]string {
	m := make(map[string]string, a.Len())
	for n, v := range a.All() {
		m[n] = v
	}
	return m
}

// String formats the attributes as name=value pairs, for debugging.
func (a Attrs) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for n, v := range a.All() {
		if b.Len() > 1 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%q", n, v)
	}
	b.WriteByte('}')
	return b.String()
}

// MarshalJSON encodes the attributes as a JSON object in layout order.
func (a Attrs) MarshalJSON() ([]byte, error) {
	var b []byte
	b = append(b, '{')
	for n, v := range a.All() {
		if len(b) > 1 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(n)
		val, _ := json.Marshal(v)
		b = append(append(append(b, k...), ':'), val...)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON decodes a JSON object of string values; names are sorted.
func (a *Attrs) UnmarshalJSON(data []byte) error {
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	*a = AttrsFromMap(m)
	return nil
}

package sqlsink

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/usersync/usersync"
)

// maxLayouts bounds the layouts a decoder remembers: users share a handful
// (one per feed that wrote them), and a directory where every user differs
// should not grow the cache without end.
const maxLayouts = 256

// A decoder turns the raw columns of user rows into Attrs. Users whose
// attributes have the same names in the same order share one
// usersync.Layout, so a million listed users hold one copy of the names.
// A decoder serves one goroutine.
type decoder struct {
	n         *names
	last      *usersync.Layout
	lastNames []string
	layouts   map[string]*usersync.Layout // by names joined with NUL
	joined    []byte
	names     []string // the current row's, views into it
	values    []string
	scratch   []byte // decoded escapes of the current row
}

func newDecoder(n *names) *decoder {
	return &decoder{n: n, layouts: make(map[string]*usersync.Layout)}
}

// attrs decodes the JSON column (nil when NULL or when there is none) and
// the attribute columns (nil entries for NULL) of one row. The result owns
// its memory; the row's buffers may be reused once it returns.
func (d *decoder) attrs(js []byte, cols [][]byte) (usersync.Attrs, error) {
	d.names, d.values, d.scratch = d.names[:0], d.values[:0], d.scratch[:0]
	if len(js) > 0 {
		err := jsonObject(js, &d.scratch, func(name, value []byte) {
			d.names = append(d.names, view(name))
			d.values = append(d.values, view(value))
		})
		if err != nil {
			return usersync.Attrs{}, err
		}
	}
	for i, c := range cols {
		if c != nil {
			d.names = append(d.names, d.n.attrCols[i].attr)
			d.values = append(d.values, view(c))
		}
	}
	if len(d.names) == 0 {
		return usersync.Attrs{}, nil
	}
	l, err := d.layout()
	if err != nil {
		return usersync.Attrs{}, err
	}
	return l.Make(d.values), nil
}

// view returns b as a string without copying. It is only ever handed to
// Layout.Make, which copies it, or compared: the row's buffer is reused.
func view(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// layout returns the Layout of the current row's names.
func (d *decoder) layout() (*usersync.Layout, error) {
	if equalNames(d.lastNames, d.names) {
		return d.last, nil
	}
	d.joined = d.joined[:0]
	for _, n := range d.names {
		d.joined = append(append(d.joined, n...), 0)
	}
	l, ok := d.layouts[string(d.joined)]
	if !ok {
		if dup := firstDuplicate(d.names); dup != "" {
			return nil, fmt.Errorf("attribute %q is stored twice", dup)
		}
		owned := make([]string, len(d.names))
		for i, n := range d.names {
			owned[i] = strings.Clone(n)
		}
		l = usersync.NewLayout(owned...)
		if len(d.layouts) < maxLayouts {
			d.layouts[string(d.joined)] = l
		}
	}
	d.last, d.lastNames = l, l.Names()
	return l, nil
}

func equalNames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// firstDuplicate returns a name that occurs twice, as when a host's JSON
// column repeats a key or also holds an attribute mapped to a column.
func firstDuplicate(names []string) string {
	seen := make(map[string]struct{}, len(names))
	for _, n := range names {
		if _, ok := seen[n]; ok {
			return n
		}
		seen[n] = struct{}{}
	}
	return ""
}

// A row is a user as written to the users table.
type row struct {
	key          string
	attrs        string    // the JSON column's object; "" when there is no JSON column
	cols         []*string // one per names.attrCols; nil for an absent attribute
	inactive     bool
	managed      bool
	missingRuns  uint16
	missingSince int64
}

// encode makes the row of a user, splitting the attributes between their
// own columns and the JSON object. Every attribute has a place: validate
// refuses changes that bring one without.
func (n *names) encode(key string, st *state) row {
	r := row{key: key, inactive: st.inactive, managed: st.managed, missingRuns: st.missingRuns, missingSince: st.missingSince}
	if len(n.attrCols) > 0 {
		r.cols = make([]*string, len(n.attrCols))
	}
	js := make([]byte, 0, 64)
	js = append(js, '{')
	for name, v := range st.attrs.All() {
		if i := n.attrIndex(name); i >= 0 {
			r.cols[i] = &v
			continue
		}
		if len(js) > 1 {
			js = append(js, ',')
		}
		js = appendJSONString(append(appendJSONString(js, name), ':'), v)
	}
	if n.uAttrs != "" {
		r.attrs = string(append(js, '}'))
	}
	return r
}

// parseBool reads a boolean column as drivers deliver it in text: SQLite
// gives 0 and 1, PostgreSQL t and f, database/sql true and false.
func parseBool(b []byte) (bool, error) {
	switch string(b) {
	case "1", "t", "true", "TRUE":
		return true, nil
	case "0", "f", "false", "FALSE":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", b)
}

// parseInt reads an integer column delivered as text.
func parseInt(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, fmt.Errorf("not an integer: %q", b)
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' || n > (1<<63-1-9)/10 {
			return 0, fmt.Errorf("not an integer: %q", b)
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, nil
}

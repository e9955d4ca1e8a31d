package sqlsink

import (
	"errors"
	"fmt"
	"slices"
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
//
// Rows mostly repeat the previous row's names, spelled alike (the Sink
// writes compact JSON; PostgreSQL's JSONB prints its own way), so a row is
// first matched against the last one's shape: the text around its values,
// and which attribute columns are set. That takes no copy and no lookup. A
// row that differs, or holds an escape, takes the general path.
type decoder struct {
	n       *names
	last    *shape
	shapes  map[string]*shape // by key
	key     []byte
	names   []string // the current row's, views into it
	values  []string
	ends    []int  // where each JSON value ends in the row's object
	scratch []byte // decoded escapes of the current row
}

// A shape is the layout of rows whose JSON object has the same members in
// the same order, and whose attribute columns are set alike.
type shape struct {
	l *usersync.Layout
	// around is the JSON object of a row of the shape whose values are
	// all strings without escapes, but for its values: the text up to
	// each value, opening quote included, and the text after the last
	// one's closing quote. Nil until such a row comes.
	around []string
	set    []bool // per names.attrCols, whether the column is not NULL
}

func newDecoder(n *names) *decoder {
	return &decoder{n: n, shapes: make(map[string]*shape)}
}

// attrs decodes the JSON object js (none when "") and the attribute
// columns of src from column cols on. The result owns its memory; the
// row's may be reused once it returns.
func (d *decoder) attrs(js string, src rowSource, cols int) (usersync.Attrs, error) {
	if d.last != nil {
		if a, ok := d.fast(js, src, cols); ok {
			return a, nil
		}
	}
	d.names, d.values, d.ends, d.scratch = d.names[:0], d.values[:0], d.ends[:0], d.scratch[:0]
	if js != "" {
		err := jsonObject(js, &d.scratch, func(name, value string, end int) {
			d.names = append(d.names, name)
			d.values = append(d.values, value)
			d.ends = append(d.ends, end)
		})
		if err != nil {
			return usersync.Attrs{}, err
		}
	}
	inJSON := len(d.names)
	for i, c := range d.n.attrCols {
		if v, ok := src.text(cols + i); ok {
			d.names = append(d.names, c.attr)
			d.values = append(d.values, v)
		}
	}
	if len(d.names) == 0 {
		return usersync.Attrs{}, nil
	}
	sh, err := d.shape(inJSON)
	if err != nil {
		return usersync.Attrs{}, err
	}
	if sh.around == nil {
		sh.around = d.around(js)
	}
	d.last = sh
	return sh.l.Make(d.values), nil
}

// fastMax is how many attributes the fast path takes: their values are
// gathered on the stack, where storing them costs no write barrier.
const fastMax = 32

// fast decodes a row of the last row's shape, and reports whether it was
// one.
func (d *decoder) fast(js string, src rowSource, cols int) (usersync.Attrs, bool) {
	sh := d.last
	var buf [fastMax]string
	if sh.around == nil || sh.l.Len() > len(buf) {
		return usersync.Attrs{}, false
	}
	values := buf[:0]
	inJSON := len(sh.around) - 1
	if inJSON > 0 && strings.IndexByte(js, '\\') >= 0 { // an escape
		return usersync.Attrs{}, false
	}
	for _, before := range sh.around[:inJSON] {
		if len(js) < len(before) || js[:len(before)] != before {
			return usersync.Attrs{}, false
		}
		js = js[len(before):]
		n := 0
		for n < len(js) && js[n] != '"' {
			n++
		}
		if n == len(js) {
			return usersync.Attrs{}, false
		}
		values = append(values, js[:n])
		js = js[n+1:]
	}
	if js != sh.around[inJSON] {
		return usersync.Attrs{}, false
	}
	for i, set := range sh.set {
		v, ok := src.text(cols + i)
		if ok != set {
			return usersync.Attrs{}, false
		}
		if ok {
			values = append(values, v)
		}
	}
	return sh.l.Make(values), true
}

// around returns the text around the values of the current row's JSON
// object js, or nil if they are not all strings without escapes.
func (d *decoder) around(js string) []string {
	if strings.IndexByte(js, '\\') >= 0 {
		return nil
	}
	around := make([]string, 0, len(d.ends)+1)
	from := 0
	for i, end := range d.ends {
		if js[end-1] != '"' { // not a string
			return nil
		}
		around = append(around, strings.Clone(js[from:end-1-len(d.values[i])]))
		from = end
	}
	return append(around, strings.Clone(js[from:]))
}

// shape returns the shape of the current row, whose first inJSON names
// come from its JSON object.
func (d *decoder) shape(inJSON int) (*shape, error) {
	d.key = d.key[:0]
	for i, n := range d.names {
		if i == inJSON {
			d.key = append(d.key, 1) // names from columns follow
		}
		d.key = append(append(d.key, n...), 0)
	}
	if sh, ok := d.shapes[string(d.key)]; ok {
		return sh, nil
	}
	if dup := firstDuplicate(d.names); dup != "" {
		return nil, fmt.Errorf("attribute %q is stored twice", dup)
	}
	if slices.Contains(d.names, "") {
		return nil, errors.New("an attribute has an empty name")
	}
	owned := make([]string, len(d.names))
	for i, n := range d.names {
		owned[i] = strings.Clone(n)
	}
	sh := &shape{l: usersync.NewLayout(owned...), set: make([]bool, len(d.n.attrCols))}
	for _, n := range owned[inJSON:] {
		sh.set[d.n.attrIndex(n)] = true
	}
	if len(d.shapes) < maxLayouts {
		d.shapes[string(d.key)] = sh
	}
	return sh, nil
}

// view returns b as a string without copying. It is only ever handed to
// Layout.Make, which copies it, or compared: the row's buffer is reused.
func view(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
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
	// The digests of the user; and for an insert, its first revision,
	// random (see mix), which its digests are of; for an update, the
	// revision its digests are of.
	attrsDigest, groupsDigest usersync.Digest
	rev                       int64
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
func parseBool[T string | []byte](b T) (bool, error) {
	switch string(b) {
	case "1", "t", "true", "TRUE":
		return true, nil
	case "0", "f", "false", "FALSE":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", b)
}

// parseInt reads an integer column delivered as text.
func parseInt[T string | []byte](b T) (int64, error) {
	if len(b) == 0 {
		return 0, fmt.Errorf("not an integer: %q", b)
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	var n int64
	for i := range len(b) {
		c := b[i]
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

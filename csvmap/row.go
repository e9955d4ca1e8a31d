package csvmap

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/usersync/usersync"
)

// mapRow turns the current row into a Record, or says the row is skipped.
// kind says what the row's text is, so that its values skip the checks it
// makes needless.
//
// This is the hot path. A row costs its record's Attrs string and nothing
// else of its own: the row's text and the values made from it are in the
// scanner's arena until Layout.Make copies them, and keys and Groups slices
// come from an arena and a slab of their own.
func (r *reader) mapRow(row []string, kind textKind) (rec usersync.Record, skipped bool, err error) {
	r.tx.ascii = kind == asciiText
	if r.skip != nil {
		if skipped, err = r.skipRow(row, kind); skipped || err != nil {
			return rec, skipped, err
		}
	}
	for i := range r.fields {
		f := &r.fields[i]
		v := row[f.index]
		if kind != asciiText || f.col.rules || len(v) > r.m.maxField {
			if v, err = r.value(f, v, kind); err != nil {
				return rec, false, err
			}
		} else if v != "" && (v[0] <= ' ' || v[len(v)-1] <= ' ') {
			v = strings.TrimSpace(v)
		}
		switch c := f.col; {
		case c.simple:
			r.values[f.slot] = v
			continue
		case c.source || c.from != nil || c.def != "" || c.late:
			r.vals[f.ci] = v // for the columns made from it, or made later
			if c.from != nil || c.def != "" || c.late {
				continue
			}
		}
		if err := r.set(&rec, f, v); err != nil {
			return rec, false, err
		}
	}
	for i := range r.derived {
		f := &r.derived[i]
		v, err := r.derivedValue(f)
		if err != nil {
			return rec, false, err
		}
		r.vals[f.ci] = v
		if err := r.set(&rec, f, v); err != nil {
			return rec, false, err
		}
	}
	rec.Attrs = r.layout.Make(r.values)
	rec.Origin = usersync.Position{File: r.file, Line: r.line}
	return rec, false, nil
}

// value returns the raw value of f, checked and normalized.
func (r *reader) value(f *field, v string, kind textKind) (string, error) {
	if kind == asciiText && len(v) <= r.m.maxField {
		if v != "" && (v[0] <= ' ' || v[len(v)-1] <= ' ') {
			v = strings.TrimSpace(v)
		}
	} else if c, ok := r.clean(v, kind); ok {
		v = c
	} else {
		return "", r.valueError(f, v)
	}
	if f.col.steps != nil {
		if f.col.late {
			return v, nil // made later, when what it reads is known
		}
		var err error
		if v, err = r.transform(f, v); err != nil {
			return "", err
		}
	}
	if !f.col.checks || v == "" {
		return v, nil
	}
	nv, err := r.norm.normalize(f.col, v)
	if err != nil {
		return "", r.rowError(f, v, err)
	}
	return nv, nil
}

// derive returns the value of a column made From others or with a Default:
// its own value if the file has it and it is not empty, else the one made.
func (r *reader) derive(f *field) (string, error) {
	if f.index >= 0 && r.vals[f.ci] != "" {
		return r.vals[f.ci], nil
	}
	v := r.compose(f.col.from)
	if v == "" {
		return f.col.def, nil
	}
	nv, err := r.norm.normalize(f.col, v)
	if err != nil {
		return "", r.rowError(f, v, err)
	}
	return nv, nil
}

// set gives the value v of f its place in rec.
func (r *reader) set(rec *usersync.Record, f *field, v string) error {
	if v == "" && f.required() {
		return r.rowError(f, v, ErrRequired)
	}
	switch f.col.Role {
	case Key:
		rec.Key = r.keys.clone(v)
	case Attribute:
		r.values[f.slot] = v
	case Groups:
		ids, err := r.splitGroups(f, v)
		if err != nil {
			return err
		}
		if len(ids) == 0 && f.required() {
			return r.rowError(f, v, ErrRequired)
		}
		rec.Groups = ids
	case Status:
		active, ok := parseStatus(v)
		if !ok {
			return r.rowError(f, v, ErrInvalidStatus)
		}
		rec.Inactive = !active
	}
	return nil
}

// compose joins the non-empty values of the columns idx with spaces.
func (r *reader) compose(idx []int) string {
	switch len(idx) {
	case 0:
		return ""
	case 1:
		return r.vals[idx[0]]
	}
	n, at := 0, r.mapped.start(0)
	for _, j := range idx {
		if v := r.vals[j]; v != "" {
			if n > 0 {
				r.mapped.b.WriteByte(' ')
			}
			r.mapped.b.WriteString(v)
			n++
		}
	}
	return r.mapped.since(at)
}

// joinNonEmpty joins the non-empty parts with spaces, as compose does.
func joinNonEmpty(parts []string) string {
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), " ")
}

// skipRow reports whether the Skip column says to leave the row out.
func (r *reader) skipRow(row []string, kind textKind) (bool, error) {
	raw := row[r.skip.index]
	v, ok := r.clean(raw, kind)
	if !ok {
		return false, r.valueError(r.skip, raw)
	}
	skip, ok := parseSkip(v)
	if !ok {
		return false, r.rowError(r.skip, v, ErrInvalidSkip)
	}
	return skip, nil
}

// clean returns v trimmed, and whether it is at most MaxFieldBytes of valid
// text: valid UTF-8 without NUL or U+FFFD, which it brings to NFC. A value
// of an ASCII row only needs trimming, and so does an ASCII or Latin value
// of another row.
func (r *reader) clean(v string, kind textKind) (string, bool) {
	if len(v) > r.m.maxField {
		return "", false
	}
	if kind == otherText {
		kind = classify(v)
	}
	switch kind {
	case asciiText:
		if v != "" && (v[0] <= ' ' || v[len(v)-1] <= ' ') {
			v = strings.TrimSpace(v)
		}
		return v, true
	case latinText:
		return strings.TrimSpace(v), true
	}
	return cleanSlow(v, r.m.maxField)
}

// replacementChar is U+FFFD in UTF-8.
const replacementChar = "\uFFFD"

// cleanSlow is clean for any value.
func cleanSlow(v string, max int) (string, bool) {
	if len(v) > max || !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 || strings.Contains(v, replacementChar) {
		return "", false
	}
	v = strings.TrimSpace(v)
	if !norm.NFC.IsNormalString(v) {
		v = norm.NFC.String(v)
	}
	return v, true
}

// A textKind says what a record's text, or a value's, needs before its
// values can be used.
type textKind uint8

const (
	// asciiText is ASCII without NUL: it only needs trimming.
	asciiText textKind = iota
	// latinText is valid UTF-8 of ASCII without NUL and the letters of
	// Latin-1 Supplement and Latin Extended-A (U+0080 to U+017F), which
	// write the names of most of Europe: Åsa Ström, Jörg Müller, Łukasz
	// Wałęsa. It is in NFC already, since none of these characters combines
	// with another (TestLatinTextIsNFC), so it only needs trimming too.
	latinText
	// otherText needs its values checked one by one.
	otherText
)

// classify says what text is.
func classify(text string) textKind {
	if isPlainASCII(text) {
		return asciiText
	}
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == 0:
			return otherText
		case c < utf8.RuneSelf:
		case 0xC2 <= c && c <= 0xC5 && i+1 < len(text) && text[i+1]&0xC0 == 0x80:
			i++
		default:
			return otherText
		}
	}
	return latinText
}

// valueError says what is wrong with the value v of f, which clean refused.
func (r *reader) valueError(f *field, v string) error {
	var err error
	switch {
	case len(v) > r.m.maxField:
		err = fmt.Errorf("%w: %d bytes, the limit is %d", ErrFieldTooLong, len(v), r.m.maxField)
	case !utf8.ValidString(v):
		err = fmt.Errorf("%w: not valid UTF-8; is the file saved in another encoding, such as windows-1252 (see Options.Encoding)?", ErrInvalidEncoding)
	case strings.IndexByte(v, 0) >= 0:
		err = ErrNULByte
	case r.in != nil && r.in.decoded:
		err = fmt.Errorf("%w: bytes that are not valid %s, or a U+FFFD replacement character", ErrInvalidEncoding, r.format.Encoding)
	default:
		err = fmt.Errorf("%w: U+FFFD, the replacement character: an earlier conversion lost characters here", ErrInvalidEncoding)
	}
	return r.rowError(f, v, err)
}

// splitGroups splits a Groups value into sorted, unique, interned IDs. An
// empty value gives an empty, non-nil slice: the user is in no group (nil
// would say the file has nothing to say about groups). A value like the
// last row's, as in a file sorted by department, gets the same slice:
// Record's slices are read-only, and their capacity is their length, so an
// append copies. (A cache of more values than the last costs more in
// lookups than it saves in splitting.)
func (r *reader) splitGroups(f *field, v string) ([]string, error) {
	if v == "" {
		return noGroups, nil
	}
	if r.lastIDs != nil && v == r.lastValue {
		return r.lastIDs, nil
	}
	parts := r.groups[:0]
	for rest := v; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, r.sep)
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		if f.col.Fold {
			part = foldCase(part, r.norm.a)
		}
		if err := checkLength(f.col, part); err != nil {
			return nil, r.rowError(f, part, err)
		}
		parts = append(parts, part)
	}
	r.groups = parts
	if len(parts) == 0 {
		return noGroups, nil
	}
	sortSmall(parts)
	parts = slices.Compact(parts)
	ids := r.idSlice(len(parts))
	for i, p := range parts {
		ids[i] = r.internGroup(p)
	}
	r.lastValue, r.lastIDs = v, ids
	return ids, nil
}

// idSlice returns a slice for n group IDs, cut from a slab shared by many
// records, with a capacity of n: an append copies it. Records live as long
// as one another, so the slab pins nothing that would be freed sooner.
func (r *reader) idSlice(n int) []string {
	if cap(r.slab)-len(r.slab) < n {
		r.slab = make([]string, 0, max(n, 1024))
	}
	at := len(r.slab)
	r.slab = r.slab[:at+n]
	return r.slab[at : at+n : at+n]
}

// noGroups is the Groups of a user in no group. It has no capacity, so
// nothing can be written through it.
var noGroups = []string{}

// sortSmall sorts a list of a few group IDs, where an insertion sort beats
// slices.Sort's setup.
func sortSmall(s []string) {
	if len(s) > 12 {
		slices.Sort(s)
		return
	}
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// internGroup returns the file's one copy of the group ID: IDs repeat across
// rows, and a copy also keeps the row's string from being pinned.
func (r *reader) internGroup(id string) string {
	if s, ok := r.intern[id]; ok {
		return s
	}
	s := strings.Clone(id)
	r.intern[s] = s
	return s
}

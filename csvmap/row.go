package csvmap

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/usersync/usersync"
)

// mapRow turns the current row into a Record, or says the row is skipped.
//
// This is the hot path: a row costs the Attrs string, the Key copy and the
// Groups slice, and nothing else. Values are substrings of the row until
// Layout.Make copies them, so that no Record pins the row's memory.
func (r *reader) mapRow(row []string) (rec usersync.Record, skipped bool, err error) {
	if r.skip != nil {
		if skipped, err = r.skipRow(row); skipped || err != nil {
			return rec, skipped, err
		}
	}
	key, err := r.value(&r.key, row)
	if err != nil {
		return rec, false, err
	}
	if key, err = r.normalize(&r.key, key); err != nil {
		return rec, false, err
	}
	for i := range r.fields {
		f := &r.fields[i]
		v, err := r.value(f, row)
		if err != nil {
			return rec, false, err
		}
		switch f.role {
		case Attribute:
			if f.kind != Text {
				if v, err = r.normalize(f, v); err != nil {
					return rec, false, err
				}
			}
			r.values[f.slot] = v
		case Groups:
			if rec.Groups = r.splitGroups(v); len(rec.Groups) == 0 && f.required {
				return rec, false, r.rowError(f, v, ErrRequired)
			}
		case Status:
			active, ok := parseStatus(v)
			if !ok {
				return rec, false, r.rowError(f, v, ErrInvalidStatus)
			}
			rec.Inactive = !active
		}
	}
	// A copy, so that the Key does not pin the row's string.
	rec.Key = strings.Clone(key)
	rec.Attrs = r.layout.Make(r.values)
	rec.Origin = usersync.Position{File: r.file, Line: r.line}
	return rec, false, nil
}

// skipRow reports whether the Skip column says to leave the row out.
func (r *reader) skipRow(row []string) (bool, error) {
	v, err := r.value(r.skip, row)
	if err != nil {
		return false, err
	}
	skip, ok := parseSkip(v)
	if !ok {
		return false, r.rowError(r.skip, v, ErrInvalidSkip)
	}
	return skip, nil
}

// value returns the value of f in the row, trimmed, after the checks every
// value passes: bounded length, valid UTF-8, no NUL byte, and not empty if
// required.
func (r *reader) value(f *field, row []string) (string, error) {
	v, ok := clean(row[f.index], r.maxField)
	if !ok || v == "" && f.required {
		return "", r.valueError(f, row[f.index])
	}
	return v, nil
}

// clean returns v trimmed, and whether it is at most max bytes of valid
// UTF-8 without NUL. Most values are short and ASCII: one pass over their
// bytes says so, where utf8.ValidString and a search for NUL would take a
// call each. The error, rare, is worked out again by valueError.
func clean(v string, max int) (string, bool) {
	if len(v) > max || !isPlainASCII(v) {
		return cleanSlow(v, max)
	}
	if v != "" && (v[0] <= ' ' || v[len(v)-1] <= ' ') {
		v = strings.TrimSpace(v)
	}
	return v, true
}

// cleanSlow is clean for values that are long or not plain ASCII.
func cleanSlow(v string, max int) (string, bool) {
	if len(v) > max || !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
		return "", false
	}
	return strings.TrimSpace(v), true
}

// valueError says what is wrong with the value v of f.
func (r *reader) valueError(f *field, v string) error {
	var err error
	switch {
	case len(v) > r.maxField:
		err = fmt.Errorf("%w: %d bytes, the limit is %d", ErrFieldTooLong, len(v), r.maxField)
	case !utf8.ValidString(v):
		err = ErrInvalidUTF8
	case strings.IndexByte(v, 0) >= 0:
		err = ErrNULByte
	default:
		err = ErrRequired
		v = strings.TrimSpace(v)
	}
	return r.rowError(f, v, err)
}

// isPlainASCII reports whether every byte of v is ASCII but NUL.
func isPlainASCII(v string) bool {
	// Eight bytes at a time: w-0x01… sets a byte's top bit when the byte is
	// NUL, and w sets it when the byte is not ASCII. A byte above a NUL may
	// be flagged too, which only sends the value to the full check.
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	if len(v) < 8 {
		for i := 0; i < len(v); i++ {
			if v[i]-1 >= utf8.RuneSelf-1 { // wraps around for NUL
				return false
			}
		}
		return true
	}
	// The last word overlaps the one before it rather than leave a tail.
	for i := 0; ; i += 8 {
		i = min(i, len(v)-8)
		w := uint64(v[i]) | uint64(v[i+1])<<8 | uint64(v[i+2])<<16 | uint64(v[i+3])<<24 |
			uint64(v[i+4])<<32 | uint64(v[i+5])<<40 | uint64(v[i+6])<<48 | uint64(v[i+7])<<56
		if (w|(w-ones))&tops != 0 {
			return false
		}
		if i == len(v)-8 {
			return true
		}
	}
}

// normalize checks and normalizes a trimmed value by the Kind of f.
func (r *reader) normalize(f *field, v string) (string, error) {
	switch f.kind {
	case Email:
		if v == "" {
			return v, nil
		}
		e, ok := normalizeEmail(v)
		if !ok {
			return "", r.rowError(f, v, ErrInvalidEmail)
		}
		return e, nil
	}
	return v, nil
}

// splitGroups splits a Groups value into sorted, unique, interned IDs. An
// empty value gives an empty, non-nil slice: the user is in no group (nil
// would say the file has nothing to say about groups). The returned slice
// is the only allocation.
func (r *reader) splitGroups(v string) []string {
	if !strings.Contains(v, r.sep) { // the common case: one group
		if v == "" { // trimmed already
			return noGroups
		}
		return []string{r.internGroup(v)}
	}
	parts := r.groups[:0]
	for v != "" {
		part, rest, _ := strings.Cut(v, r.sep)
		if part = strings.TrimSpace(part); part != "" {
			parts = append(parts, part)
		}
		v = rest
	}
	r.groups = parts
	if len(parts) == 0 {
		return noGroups
	}
	sortSmall(parts)
	parts = slices.Compact(parts)
	ids := make([]string, len(parts))
	for i, p := range parts {
		ids[i] = r.internGroup(p)
	}
	return ids
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

// parseStatus reads a trimmed Status value; ok is false for an unknown word.
func parseStatus(v string) (active, ok bool) {
	switch {
	case v == "" || v == "1" || strings.EqualFold(v, "true") || strings.EqualFold(v, "yes") ||
		strings.EqualFold(v, "active") || strings.EqualFold(v, "enabled"):
		return true, true
	case v == "0" || strings.EqualFold(v, "false") || strings.EqualFold(v, "no") ||
		strings.EqualFold(v, "inactive") || strings.EqualFold(v, "disabled"):
		return false, true
	}
	return false, false
}

// parseSkip reads a trimmed Skip value; ok is false for an unknown word.
func parseSkip(v string) (skip, ok bool) {
	switch {
	case v == "1" || strings.EqualFold(v, "true") || strings.EqualFold(v, "yes") || strings.EqualFold(v, "x"):
		return true, true
	case v == "" || v == "0" || strings.EqualFold(v, "false") || strings.EqualFold(v, "no"):
		return false, true
	}
	return false, false
}

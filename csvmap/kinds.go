package csvmap

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// A normalizer checks and normalizes values by their column's rules. Values
// it makes (a lower-cased domain, a number in E.164) are built in an arena:
// they live until Layout.Make copies them. Each reader has its own.
type normalizer struct {
	m      *Mapper
	a      *arena
	phones phoneCache
	parts  []string // scratch for lists
	buf    []byte   // scratch for times
}

func newNormalizer(m *Mapper, a *arena) *normalizer {
	return &normalizer{m: m, a: a, phones: phoneCache{region: m.region}}
}

// normalize checks and normalizes the trimmed, non-empty value v of c: a
// list part by part, then by Kind, Fold and length.
func (n *normalizer) normalize(c *column, v string) (string, error) {
	if c.Separator == "" || c.Role != Attribute {
		return n.one(c, v)
	}
	parts := n.parts[:0]
	for p := range strings.SplitSeq(v, c.Separator) {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		p, err := n.one(c, p)
		if err != nil {
			return "", err
		}
		parts = append(parts, p)
	}
	n.parts = parts
	slices.Sort(parts)
	parts = slices.Compact(parts)
	at := n.a.start(len(v))
	for i, p := range parts {
		if i > 0 {
			n.a.b.WriteString(c.Separator)
		}
		n.a.b.WriteString(p)
	}
	return n.a.since(at), nil
}

// one normalizes a single value: by Kind, then Fold, then length bounds.
func (n *normalizer) one(c *column, v string) (string, error) {
	var err error
	switch c.Kind {
	case Email:
		var ok bool
		if v, ok = normalizeEmail(v, n.a); !ok {
			return "", ErrInvalidEmail
		}
	case Phone:
		v, err = n.phones.normalize(v, n.a)
	case Bool:
		v, err = parseBool(v)
	case Date:
		v, err = n.parseTime(c, v, dateLayouts, time.DateOnly)
	case Timestamp:
		v, err = n.parseTime(c, v, timestampLayouts, time.RFC3339)
	case Enum:
		v, err = enumValue(c, v)
	}
	if err != nil {
		return "", err
	}
	if c.Fold {
		v = foldCase(v, n.a)
	}
	return v, checkLength(c, v)
}

// checkLength checks v against the bounds of c.
func checkLength(c *column, v string) error {
	if c.MinLen == 0 && c.MaxLen == 0 {
		return nil
	}
	n := len(v)
	if !isPlainASCII(v) {
		n = utf8.RuneCountInString(v)
	}
	switch {
	case n < c.MinLen && c.MaxLen > 0:
		return fmt.Errorf("%w: %d characters, want %d to %d", ErrLength, n, c.MinLen, c.MaxLen)
	case n < c.MinLen:
		return fmt.Errorf("%w: %d characters, want at least %d", ErrLength, n, c.MinLen)
	case c.MaxLen > 0 && n > c.MaxLen:
		return fmt.Errorf("%w: %d characters, want at most %d", ErrLength, n, c.MaxLen)
	}
	return nil
}

// foldCase lower-cases v; ASCII in the arena, the rest with strings.ToLower.
func foldCase(v string, a *arena) string {
	if !isPlainASCII(v) {
		return strings.ToLower(v)
	}
	return foldASCII(v, a)
}

// foldASCII is foldCase for ASCII text.
func foldASCII(v string, a *arena) string {
	i := 0
	for i < len(v) && (v[i] < 'A' || v[i] > 'Z') {
		i++
	}
	if i == len(v) {
		return v
	}
	at := a.start(len(v))
	a.b.WriteString(v[:i])
	for j := i; j < len(v); j++ {
		c := v[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		a.b.WriteByte(c)
	}
	return a.since(at)
}

// The words of a Bool value.
func parseBool(v string) (string, error) {
	if isWord(v, "1", "true", "yes", "y", "on") {
		return "true", nil
	}
	if isWord(v, "0", "false", "no", "n", "off") {
		return "false", nil
	}
	return "", ErrInvalidBool
}

// isWord reports whether v is one of words, ignoring case.
func isWord(v string, words ...string) bool {
	for _, w := range words {
		if strings.EqualFold(v, w) {
			return true
		}
	}
	return false
}

// The layouts Date and Timestamp values have when the column lists none.
var (
	dateLayouts      = []string{time.DateOnly}
	timestampLayouts = []string{time.RFC3339, time.DateTime, "2006-01-02T15:04:05", "2006-01-02 15:04"}
)

// parseTime reads v in the column's layouts (or defaults) and writes it in
// layout out, in UTC for timestamps.
func (n *normalizer) parseTime(c *column, v string, defaults []string, out string) (string, error) {
	layouts := c.Layouts
	if layouts == nil {
		layouts = defaults
	}
	for _, l := range layouts {
		t, err := time.ParseInLocation(l, v, n.m.loc)
		if err != nil {
			continue
		}
		if c.Kind == Timestamp {
			t = t.UTC()
		}
		n.buf = t.AppendFormat(n.buf[:0], out)
		at := n.a.start(len(n.buf))
		n.a.b.Write(n.buf)
		return n.a.since(at), nil
	}
	return "", fmt.Errorf("%w: want %s", ErrInvalidTime, strings.Join(layouts, " or "))
}

// enumValue returns the spelling c lists for v.
func enumValue(c *column, v string) (string, error) {
	for _, w := range c.Values {
		if strings.EqualFold(v, w) {
			return w, nil
		}
	}
	return "", fmt.Errorf("%w: want %s", ErrInvalidEnum, strings.Join(c.Values, ", "))
}

// parseStatus reads a trimmed Status value; ok is false for an unknown word.
func parseStatus(v string) (active, ok bool) {
	switch {
	case v == "" || isWord(v, "1", "true", "yes", "active", "enabled"):
		return true, true
	case isWord(v, "0", "false", "no", "inactive", "disabled"):
		return false, true
	}
	return false, false
}

// parseSkip reads a trimmed Skip value; ok is false for an unknown word.
func parseSkip(v string) (skip, ok bool) {
	switch {
	case v == "" || isWord(v, "0", "false", "no"):
		return false, true
	case isWord(v, "1", "true", "yes", "x"):
		return true, true
	}
	return false, false
}

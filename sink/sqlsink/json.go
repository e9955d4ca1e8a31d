package sqlsink

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Attributes live in one JSON object per user, {"name":"value",...}: one
// column read per user when listing a million of them, and one value
// written per user in a batched insert, where a row per attribute would
// multiply both by the number of attributes. The object is written and read
// here, without encoding/json: listing decodes a million of them, and the
// values it yields are views into the row that Layout.Make copies once.

// appendJSONString appends s to b as a JSON string. Non-ASCII text is kept
// as is; control characters, quotes and backslashes are escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hex = "0123456789abcdef"

// errJSON reports a JSON attribute column that does not hold an object.
var errJSON = errors.New("the attributes column does not hold a JSON object")

// jsonObject decodes a JSON object from data, calling fn with each member's
// name and value in order, and where the value ends in data. Strings are
// decoded; numbers, true and false give their literal text; members that
// are null are skipped; arrays and objects give their JSON text. Unless
// they hold escapes, name and value share data's memory; escaped text is
// decoded into *scratch, which the caller must not touch until it is done
// with them.
func jsonObject(data string, scratch *[]byte, fn func(name, value string, end int)) error {
	p := jsonParser{data: data, scratch: scratch}
	p.space()
	if !p.consume('{') {
		return errJSON
	}
	if p.space(); p.consume('}') {
		return p.end()
	}
	for {
		p.space()
		name, ok := p.str()
		if !ok {
			return errJSON
		}
		if p.space(); !p.consume(':') {
			return errJSON
		}
		p.space()
		value, isNull, ok := p.value()
		if !ok {
			return errJSON
		}
		if !isNull {
			fn(name, value, p.i)
		}
		p.space()
		if p.consume('}') {
			return p.end()
		}
		if !p.consume(',') {
			return errJSON
		}
	}
}

type jsonParser struct {
	data    string
	i       int
	scratch *[]byte
}

func (p *jsonParser) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) consume(c byte) bool {
	if p.i < len(p.data) && p.data[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *jsonParser) end() error {
	if p.space(); p.i != len(p.data) {
		return errJSON
	}
	return nil
}

// value parses any JSON value.
func (p *jsonParser) value() (v string, isNull, ok bool) {
	if p.i >= len(p.data) {
		return "", false, false
	}
	switch c := p.data[p.i]; {
	case c == '"':
		v, ok = p.str()
		return v, false, ok
	case c == '{' || c == '[':
		start := p.i
		ok = p.skipNested()
		return p.data[start:p.i], false, ok
	}
	start := p.i
	for p.i < len(p.data) && !isDelim(p.data[p.i]) {
		p.i++
	}
	v = p.data[start:p.i]
	return v, v == "null", len(v) > 0
}

func isDelim(c byte) bool {
	return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// skipNested moves past an array or object, minding strings.
func (p *jsonParser) skipNested() bool {
	depth := 0
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case '"':
			if _, ok := p.str(); !ok {
				return false
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		}
		p.i++
		if depth == 0 {
			return true
		}
	}
	return false
}

// str parses a string, decoding escapes into the scratch buffer.
func (p *jsonParser) str() (string, bool) {
	if !p.consume('"') {
		return "", false
	}
	n, ok := plainString(p.data[p.i:])
	if ok {
		v := p.data[p.i : p.i+n]
		p.i += n + 1
		return v, true
	}
	if n < 0 {
		return "", false
	}
	start := p.i
	p.i += n
	return p.escaped(start)
}

// plainString returns the length of the string that s starts with, up to
// its closing quote, and true if it holds no escape. Otherwise it returns
// the offset of the first backslash, or -1 if the string does not end.
func plainString(s string) (int, bool) {
	q := strings.IndexByte(s, '"')
	if q < 0 {
		return -1, false
	}
	if b := strings.IndexByte(s[:q], '\\'); b >= 0 {
		return b, false
	}
	return q, true
}

// escaped decodes the rest of a string that holds an escape at p.i.
func (p *jsonParser) escaped(start int) (string, bool) {
	buf := *p.scratch
	from := len(buf)
	buf = append(buf, p.data[start:p.i]...)
	defer func() { *p.scratch = buf }()
	for p.i < len(p.data) {
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			return view(buf[from:]), true
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.data) {
			return "", false
		}
		e := p.data[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.unicode()
			if !ok {
				return "", false
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", false
		}
	}
	return "", false
}

// unicode decodes the hex digits of a \u escape, and of the low half of a
// surrogate pair that follows.
func (p *jsonParser) unicode() (rune, bool) {
	r, ok := p.hex4()
	if !ok {
		return 0, false
	}
	if utf16.IsSurrogate(r) && p.i+1 < len(p.data) && p.data[p.i] == '\\' && p.data[p.i+1] == 'u' {
		save := p.i
		p.i += 2
		if r2, ok := p.hex4(); ok {
			if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
				return d, true
			}
		}
		p.i = save
	}
	return r, true
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.data) {
		return 0, false
	}
	n, err := strconv.ParseUint(p.data[p.i:p.i+4], 16, 16)
	p.i += 4
	return rune(n), err == nil
}

package csvmap

import (
	"net/mail"
	"strings"
	"unicode"
)

// normalizeEmail returns the trimmed value v with its domain lower-cased, and
// whether it is a bare email address (see [Email]). A copy is made, in a,
// only when the domain has upper case.
func normalizeEmail(v string, a *arena) (string, bool) {
	at := strings.IndexByte(v, '@')
	if at < 0 || strings.IndexByte(v[at+1:], '@') >= 0 {
		return "", false
	}
	// net/mail allocates a parser and an Address for every call; nearly all
	// addresses are plain ASCII dot-atoms, which it would accept unchanged,
	// so they are checked here and only the rest go to net/mail.
	if isDotAtom(v[:at]) {
		switch simple, upper := scanDomain(v[at+1:]); {
		case simple && !upper:
			return v, true
		case simple:
			return lowerASCIIDomain(v, at, a), true
		}
	}
	if !isBareAddress(v) {
		return "", false
	}
	return lowerDomain(v, at), true
}

// isBareAddress reports whether net/mail parses v as an address without a
// display name, angle brackets, quotes or comments.
func isBareAddress(v string) bool {
	if strings.ContainsFunc(v, unicode.IsSpace) {
		return false
	}
	a, err := mail.ParseAddress(v)
	return err == nil && a.Name == "" && a.Address == v
}

// The ASCII characters RFC 5322 allows in an atom (atext), as bit masks of
// the characters 0-63 and 64-127: letters, digits and !#$%&'*+-/=?^_`{|}~.
const (
	atextLow  uint64 = 0xa3ffacfa00000000
	atextHigh uint64 = 0x7fffffffc7fffffe
)

// isAtext reports whether c is ASCII atext.
func isAtext(c byte) bool {
	if c < 64 {
		return atextLow>>c&1 != 0
	}
	return c < 128 && atextHigh>>(c-64)&1 != 0
}

// isDotAtom reports whether s is ASCII atext in which a dot only separates
// two characters: a local part net/mail accepts unchanged.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	dot := false // the previous character was a dot
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			dot = false
		case c == '.':
			if dot {
				return false
			}
			dot = true
		case isAtext(c):
			dot = false
		default:
			return false
		}
	}
	return true
}

// scanDomain reports whether d is made of ASCII letters, digits and hyphens
// in which a dot only separates two characters (a domain net/mail accepts
// unchanged), and whether it has upper case.
func scanDomain(d string) (simple, upper bool) {
	if d == "" || d[0] == '.' || d[len(d)-1] == '.' {
		return false, false
	}
	for i := 0; i < len(d); i++ {
		switch c := d[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-':
		case 'A' <= c && c <= 'Z':
			upper = true
		case c == '.':
			if d[i-1] == '.' {
				return false, false
			}
		default:
			return false, false
		}
	}
	return true, upper
}

// lowerDomain returns v with the domain after v[at] in lower case. Domains
// are case-insensitive; local parts need not be, so they are kept.
func lowerDomain(v string, at int) string {
	if d := strings.ToLower(v[at+1:]); d != v[at+1:] {
		return v[:at+1] + d
	}
	return v
}

// lowerASCIIDomain is lowerDomain for an ASCII domain, built in a.
func lowerASCIIDomain(v string, at int, a *arena) string {
	start := a.start(len(v))
	a.b.WriteString(v[:at+1])
	for i := at + 1; i < len(v); i++ {
		c := v[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		a.b.WriteByte(c)
	}
	return a.since(start)
}

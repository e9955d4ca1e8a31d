package report

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"users.csv":         "users.csv",
		"Ann Å 東京 \ufffd":   "Ann Å 東京 \ufffd",
		"a\nb\r\tc":         `a\nb\r\tc`,
		"\x1b[2J":           `\x1b[2J`,
		"abc\u202etxt.exe":  `abc\u202etxt.exe`,
		"bad \xff\xfe utf8": `bad \xff\xfe utf8`,
		"nul\x00":           `nul\x00`,
		"zero\u200bwidth":   `zero\u200bwidth`,
		"":                  "",
	} {
		assert.Equal(t, want, clean(in), "clean(%q)", in)
	}
}

func TestDelimiterName(t *testing.T) {
	for d, want := range map[string]string{
		"": "-", ",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", ":": "':'", "\x1f": `'\x1f'`,
		"::": `"::"`,
	} {
		assert.Equal(t, want, delimiterName(d), "delimiterName(%q)", d)
	}
}

func TestTable(t *testing.T) {
	tb := table{indent: "  ", right: map[int]bool{1: true}}
	tb.add("Name", "Count", "Note")
	tb.add("a", "1", "")
	tb.add("longer", "12345", "the last cell is not padded")
	assert.Equal(t, []string{
		"  Name    Count  Note",
		"  a           1",
		"  longer  12345  the last cell is not padded",
	}, tb.lines())
}

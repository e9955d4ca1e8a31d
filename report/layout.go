package report

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A table lays out rows of cells in columns two spaces apart, for terminals
// and for emails read in a fixed-width font. A left-aligned last cell is not
// padded, so a long error message does not widen the table or leave trailing
// spaces.
type table struct {
	indent string
	right  map[int]bool // columns aligned right, such as numbers
	rows   [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// lines returns the rows laid out, one string per row.
func (t *table) lines() []string {
	var widths []int
	for _, row := range t.rows {
		for i, c := range row {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	out := make([]string, 0, len(t.rows))
	for _, row := range t.rows {
		var b strings.Builder
		b.WriteString(t.indent)
		for i, c := range row {
			if i > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			switch {
			case t.right[i]:
				b.WriteString(pad + c)
			case i == len(row)-1:
				b.WriteString(c)
			default:
				b.WriteString(c + pad)
			}
		}
		// An empty last cell would leave the separator behind.
		out = append(out, strings.TrimRight(b.String(), " "))
	}
	return out
}

// clean escapes the characters of s that are not printable, such as
// newlines, tabs, terminal escape sequences, bidirectional overrides and
// invalid UTF-8. Such text comes from outside (file names, column headers,
// server and sink errors) and could otherwise break the layout, forge lines
// of a report or drive a terminal.
func clean(s string) string {
	if printable(s) {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case strconv.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRune(r) // such as '\n' or '\u202e'
			b.WriteString(q[1 : len(q)-1])
		}
		s = s[size:]
	}
	return b.String()
}

func printable(s string) bool {
	for _, r := range s {
		if !strconv.IsPrint(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// oneLine returns a message on one line, escaped. The errors of errors.Join
// are put on one line, separated by semicolons.
func oneLine(msg string) string {
	return clean(strings.ReplaceAll(msg, "\n", "; "))
}

// delimiterName names a field delimiter for people.
func delimiterName(d string) string {
	switch d {
	case "":
		return "-"
	case ",":
		return "comma"
	case ";":
		return "semicolon"
	case "\t":
		return "tab"
	case "|":
		return "pipe"
	}
	if r, size := utf8.DecodeRuneInString(d); size == len(d) {
		return clean(strconv.QuoteRune(r))
	}
	return clean(strconv.Quote(d))
}

// count returns "1 change", "2 changes", ...
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

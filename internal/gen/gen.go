// Package gen writes synthetic user directory CSV files in the layout of
// Cosafe's SFTP user sync, for tests and benchmarks.
//
// Output is deterministic: the same Config gives the same bytes. Every row is
// generated from its own user number and the seed alone, so two files that
// overlap in user numbers agree on those users, except for the fraction of
// rows a Config varies. That gives an end-to-end benchmark its nightly
// change: yesterday's file is Config{Seed: s}, today's is Config{Seed: s,
// Vary: 0.02, VarySeed: 1}, and the First and Rows fields add or drop users.
//
// Writing is fast enough for million-row files: one buffered write per row,
// numbers appended with strconv, no fmt and no allocation per row.
package gen

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
)

// Columns returns the header of a generated file: Cosafe's fields.
func Columns() []string {
	return []string{
		"UniqueID", "Name", "Mail", "Title", "TelephoneNumber", "SecondaryTelephoneNumber",
		"TimeStamp", "Groups", "Skip", "FirstName", "LastName",
	}
}

// Config describes a generated file. The zero value is an empty file with a
// header.
type Config struct {
	// Rows is the number of users.
	Rows int
	// First is the number of the first user; UniqueIDs count up from it.
	First int
	// Seed picks the users' names, titles, phone numbers and groups.
	Seed uint64
	// Vary is the fraction of rows, from 0 to 1, whose title, phone numbers
	// and groups differ from what Seed alone gives.
	Vary float64
	// VarySeed picks which rows vary and their new values.
	VarySeed uint64
	// Groups is the number of distinct group IDs; 0 means 50.
	Groups int
	// SkipEvery marks every n-th user with Skip=1; 0 means 200, and a
	// negative value marks none.
	SkipEvery int
	// Comma is the field delimiter; 0 means ','.
	Comma byte
	// CRLF ends lines with "\r\n", as Excel does, instead of "\n".
	CRLF bool
	// BOM starts the file with a UTF-8 byte order mark, as Excel's
	// "CSV UTF-8" does.
	BOM bool
	// QuoteAll quotes every field, the header's too, as PowerShell's
	// Export-Csv does in Active Directory exports.
	QuoteAll bool
	// ManagerFanout, when positive, makes the Title column name each
	// user's manager instead of a title: user u reports to user
	// (u-1)/ManagerFanout, by UniqueID, and user 0 to nobody. An org chart
	// ManagerFanout wide, for policies that resolve managers.
	ManagerFanout int
}

// Bytes returns the file c describes.
func Bytes(c Config) []byte {
	var b bytes.Buffer
	b.Grow(c.Rows * 160)
	_ = Write(&b, c) // a bytes.Buffer does not fail
	return b.Bytes()
}

// Write writes the file c describes to w.
func Write(w io.Writer, c Config) error {
	g := newGenerator(c)
	bw := bufio.NewWriterSize(w, 64<<10)
	if c.BOM {
		bw.WriteString("\uFEFF")
	}
	h := g.quote(nil)
	for i, name := range Columns() {
		if i > 0 {
			h = g.delim(h)
		}
		h = append(h, name...)
	}
	bw.Write(g.quote(h))
	bw.WriteString(g.eol)
	for u := c.First; u < c.First+c.Rows; u++ {
		if _, err := bw.Write(g.row(u)); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// A person is a name as written and as it goes into an email address.
type person struct{ name, ascii string }

// A generator makes rows; its tables are built once per file.
type generator struct {
	c          Config
	comma      byte
	eol        string
	firsts     []person
	lasts      []person
	titles     []string
	domains    []string
	groups     []string
	timestamp  string
	skipEvery  int
	varyCutoff uint64 // a row varies when its draw is below this
	buf        []byte // the current row
	join       []byte // scratch for the Groups field
}

func newGenerator(c Config) *generator {
	g := &generator{
		c:     c,
		comma: c.Comma,
		eol:   "\n",
		firsts: []person{
			{"Anna", "anna"}, {"Erik", "erik"}, {"Åsa", "asa"}, {"Jörg", "jorg"}, {"Maria", "maria"},
			{"Lars", "lars"}, {"Sofia", "sofia"}, {"Johan", "johan"}, {"Elin", "elin"}, {"Karl", "karl"},
			{"Emma", "emma"}, {"Nils", "nils"}, {"Ingrid", "ingrid"}, {"Oskar", "oskar"}, {"Linnéa", "linnea"},
			{"Mohammed", "mohammed"}, {"Fatima", "fatima"}, {"Ali", "ali"}, {"Chloé", "chloe"}, {"José", "jose"},
			{"Pam", "pam"}, {"Jim", "jim"}, {"Dwight", "dwight"}, {"Angela", "angela"}, {"Oscar", "oscar"},
			{"Kevin", "kevin"}, {"Stanley", "stanley"}, {"Phyllis", "phyllis"}, {"Meredith", "meredith"},
			{"Creed", "creed"}, {"Ryan", "ryan"}, {"Kelly", "kelly"},
		},
		lasts: []person{
			{"Andersson", "andersson"}, {"Johansson", "johansson"}, {"Karlsson", "karlsson"}, {"Nilsson", "nilsson"},
			{"Eriksson", "eriksson"}, {"Larsson", "larsson"}, {"Olsson", "olsson"}, {"Persson", "persson"},
			{"Svensson", "svensson"}, {"Gustafsson", "gustafsson"}, {"Pettersson", "pettersson"}, {"Jönsson", "jonsson"},
			{"Müller", "muller"}, {"Schmidt", "schmidt"}, {"Nguyễn", "nguyen"}, {"O'Brien", "obrien"},
			{"García", "garcia"}, {"Martín", "martin"}, {"Halpert", "halpert"}, {"Beesly", "beesly"},
			{"Schrute", "schrute"}, {"Martinez", "martinez"}, {"Malone", "malone"}, {"Hudson", "hudson"},
			{"Vance", "vance"}, {"Palmer", "palmer"}, {"Bratton", "bratton"}, {"Howard", "howard"},
			{"Kapoor", "kapoor"}, {"Lindqvist", "lindqvist"}, {"Berg", "berg"}, {"Ström", "strom"},
		},
		titles: []string{
			"Teacher", "Nurse", "Principal", "Caretaker", "Sales Representative", "Accountant",
			"Regional Manager", "Assistant to the Regional Manager", "Receptionist", "HR Representative",
			"Head of Sales, Nordics", "IT Technician", "Social Worker", "Kitchen Staff", "Coordinator (\"Team Lead\")",
			"",
		},
		domains:   []string{"example.com", "example.org", "schools.example.net"},
		timestamp: "2025-11-21 02:00:00",
		skipEvery: c.SkipEvery,
	}
	if g.comma == 0 {
		g.comma = ','
	}
	if c.CRLF {
		g.eol = "\r\n"
	}
	if g.skipEvery == 0 {
		g.skipEvery = 200
	}
	g.groups = groupNames(c.Groups)
	switch {
	case c.Vary >= 1:
		g.varyCutoff = ^uint64(0)
	case c.Vary > 0:
		g.varyCutoff = uint64(c.Vary*(1<<53)) << 11
	}
	return g
}

// groupNames returns n group IDs (50 if n is 0), like "Scranton branch 07".
func groupNames(n int) []string {
	if n <= 0 {
		n = 50
	}
	units := []string{"Scranton branch", "Akron Branch", "School", "Management team", "Caretakers", "Office"}
	ids := make([]string, n)
	for i := range ids {
		b := []byte(units[i%len(units)])
		b = append(b, ' ')
		if i < 10 {
			b = append(b, '0')
		}
		ids[i] = string(strconv.AppendInt(b, int64(i), 10))
	}
	return ids
}

// row returns the CSV line of user u, valid until the next call.
func (g *generator) row(u int) []byte {
	base := newRand(g.c.Seed, uint64(u))
	first := g.firsts[base.intn(len(g.firsts))]
	last := g.lasts[base.intn(len(g.lasts))]
	domain := g.domains[base.intn(len(g.domains))]
	hasSecondary := base.intn(10) < 3

	// The values that vary come from their own stream, so that a varied
	// row keeps its name and email.
	vals := newRand(g.c.Seed^0x9e3779b97f4a7c15, uint64(u))
	if g.varyCutoff > 0 {
		if pick := newRand(g.c.VarySeed, uint64(u)); pick.next() < g.varyCutoff {
			vals = newRand(g.c.Seed^g.c.VarySeed^0x2545f4914f6cdd1d, uint64(u))
		}
	}

	b := g.quote(g.buf[:0])
	b = append(b, "EMP"...)
	b = appendPadded(b, u, 8)
	b = g.delim(b)
	b = append(b, first.name...)
	b = append(b, ' ')
	b = append(b, last.name...)
	b = g.delim(b)
	b = append(b, first.ascii...)
	b = append(b, '.')
	b = append(b, last.ascii...)
	b = strconv.AppendInt(b, int64(u), 10)
	b = append(b, '@')
	b = append(b, domain...)
	b = g.delim(b)
	title := g.titles[vals.intn(len(g.titles))]
	switch {
	case g.c.ManagerFanout <= 0:
		b = appendField(b, title, g.comma, g.c.QuoteAll)
	case u > 0:
		b = append(b, "EMP"...)
		b = appendPadded(b, (u-1)/g.c.ManagerFanout, 8)
	}
	b = g.delim(b)
	b = appendPhone(b, &vals)
	b = g.delim(b)
	if hasSecondary {
		b = appendPhone(b, &vals)
	}
	b = g.delim(b)
	b = append(b, g.timestamp...)
	b = g.delim(b)
	b = appendField(b, g.groupList(&vals), g.comma, g.c.QuoteAll)
	b = g.delim(b)
	if g.skipEvery > 0 && u%g.skipEvery == g.skipEvery-1 {
		b = append(b, '1')
	}
	b = g.delim(b)
	b = append(b, first.name...)
	b = g.delim(b)
	b = appendField(b, last.name, g.comma, g.c.QuoteAll)
	b = append(g.quote(b), g.eol...)
	g.buf = b
	return b
}

// groupList returns 1 to 3 group IDs joined by commas, as Cosafe's Groups
// column holds them, valid until the next call.
func (g *generator) groupList(r *rand) []byte {
	n := 1 + r.intn(3)
	j := g.join[:0]
	for i := range n {
		if i > 0 {
			j = append(j, ',')
		}
		j = append(j, g.groups[r.intn(len(g.groups))]...)
	}
	g.join = j
	return j
}

// quote appends the quote that opens or closes a field when every field is
// quoted.
func (g *generator) quote(b []byte) []byte {
	if g.c.QuoteAll {
		return append(b, '"')
	}
	return b
}

// delim appends what separates two fields.
func (g *generator) delim(b []byte) []byte {
	if g.c.QuoteAll {
		return append(b, '"', g.comma, '"')
	}
	return append(b, g.comma)
}

// appendField appends s, quoted if it holds the delimiter, a quote or a line
// break. A field quoted already (every field is, with QuoteAll) only gets its
// quotes doubled.
func appendField[S string | []byte](b []byte, s S, comma byte, quoted bool) []byte {
	wrap := !quoted && needsQuotes(s, comma)
	if !quoted && !wrap {
		return append(b, s...)
	}
	if wrap {
		b = append(b, '"')
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	if wrap {
		b = append(b, '"')
	}
	return b
}

func needsQuotes[S string | []byte](s S, comma byte) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case comma, '"', '\r', '\n':
			return true
		}
	}
	return false
}

// appendPhone appends a Swedish mobile number such as +46 70 123 45 67.
func appendPhone(b []byte, r *rand) []byte {
	b = append(b, "+46 7"...)
	b = append(b, byte('0'+r.intn(4)), ' ')
	b = appendPadded(b, r.intn(1000), 3)
	b = append(b, ' ')
	b = appendPadded(b, r.intn(100), 2)
	b = append(b, ' ')
	return appendPadded(b, r.intn(100), 2)
}

// appendPadded appends n in decimal, zero-padded to width digits.
func appendPadded(b []byte, n, width int) []byte {
	var d [20]byte
	s := strconv.AppendInt(d[:0], int64(n), 10)
	for range width - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}

// rand is a splitmix64 stream: tiny, fast, and seeded per row without
// allocating, so that each row depends on its user number alone.
type rand struct{ s uint64 }

func newRand(seed, u uint64) rand {
	return rand{s: mix(seed ^ mix(u))}
}

func (r *rand) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix(r.s)
}

// mix is splitmix64's finalizer: every input bit affects every output bit.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// intn returns a number in [0, n).
func (r *rand) intn(n int) int {
	return int(r.next() % uint64(n))
}

package csvmap

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/usersync/usersync"
)

// A Role says what a column feeds in a [usersync.Record].
type Role uint8

// The roles of a column.
const (
	// Attribute values go to Record.Attrs under the column's Name.
	Attribute Role = iota
	// Key values become Record.Key: trimmed, never empty. A schema has
	// exactly one Key column, and its header must be in every file.
	Key
	// Groups values become Record.Groups: split by Column.Separator, each
	// part trimmed, empty parts dropped, sorted and without duplicates. An
	// empty value means the user is in no group. In a file without the
	// column, Groups is nil: memberships are left as they are.
	Groups
	// Status values set Record.Inactive. The column says whether the user
	// is active: 1, true, yes, active and enabled (in any case) or an empty
	// value mean active; 0, false, no, inactive and disabled mean inactive.
	// Anything else rejects the row.
	Status
	// Skip values leave a row out on purpose, as Cosafe's Skip column does:
	// 1, true, yes or x (in any case) skip the row, which is then counted
	// in Format.Skipped and not reported as an error; empty, 0, false or no
	// keep it. Anything else rejects the row. A skipped row is not checked
	// any further, and its user counts as not in the file: a user imported
	// before is treated like one whose row was removed.
	Skip
)

// String returns the role's name, as in the constant.
func (r Role) String() string {
	switch r {
	case Attribute:
		return "Attribute"
	case Key:
		return "Key"
	case Groups:
		return "Groups"
	case Status:
		return "Status"
	case Skip:
		return "Skip"
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// A Kind says how the values of an Attribute or Key column are checked and
// normalized. Every value is first trimmed of surrounding white space and
// checked to be valid UTF-8 without NUL bytes.
type Kind uint8

// The kinds of values.
const (
	// Text values are kept as they are (trimmed).
	Text Kind = iota
	// Email values must be a bare address such as ann@example.com: exactly
	// one @, no spaces, no display name, angle brackets or comments, and
	// valid for net/mail.ParseAddress. A dot in the domain is not required.
	// The domain is lower-cased; the local part is kept as it is, since
	// mail servers may tell its case apart. An empty value is allowed
	// unless the column is Required.
	Email
)

// String returns the kind's name, as in the constant.
func (k Kind) String() string {
	switch k {
	case Text:
		return "Text"
	case Email:
		return "Email"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// A Column describes one column a file may hold.
type Column struct {
	// Name is the attribute name in Record.Attrs for an Attribute column,
	// and names the column in messages for every role. It is also the
	// header unless Header is set.
	Name string
	// Header is the column's header in the file; "" means Name.
	Header string
	// Aliases are other headers accepted for the column, such as "E-mail"
	// for "Mail".
	Aliases []string
	// Role says what the column feeds; the zero value is Attribute.
	Role Role
	// Kind says how an Attribute or Key value is checked; the zero value
	// is Text.
	Kind Kind
	// Required means the header must be in the file (or the file fails,
	// naming the column) and every row must have a non-empty value (or the
	// row is rejected with ErrRequired). A Key column is always required.
	//
	// An optional Attribute column missing from a file is left out of its
	// records' Attrs entirely, so that reconcilers leave that attribute
	// alone rather than clear it.
	Required bool
	// Separator splits a Groups value; "" means ",". Only for Groups.
	Separator string
}

// header returns the header the column is known by in the file.
func (c *Column) header() string {
	if c.Header != "" {
		return c.Header
	}
	return c.Name
}

// A Schema lists the columns a Mapper understands. Files may hold them in any
// order, along with other columns, which are ignored with a warning.
type Schema struct {
	Columns []Column
}

// Limits that apply when Options leave them zero.
const (
	// DefaultMaxFieldBytes bounds one value: 1 MiB.
	DefaultMaxFieldBytes = 1 << 20
	// maxRecordFields is the default MaxRecordBytes in fields of
	// MaxFieldBytes: room for a wide row of long values, yet a hard stop
	// for a file without line breaks.
	maxRecordFields = 16
)

// Options tune a Mapper. A nil *Options or a zero field means the default.
type Options struct {
	// Comma is the field delimiter; 0 means ','. It must be a valid rune
	// and not '"', '\r' or '\n'.
	Comma rune
	// MaxFieldBytes bounds a value, in bytes; a longer one rejects its row
	// with ErrFieldTooLong. 0 means DefaultMaxFieldBytes.
	MaxFieldBytes int
	// MaxRecordBytes bounds a record (a row, with any line breaks inside
	// quotes), in bytes. encoding/csv reads a record whole, so without a
	// bound a file without line breaks, or with a quote left open, would be
	// read into memory entirely; a longer record fails the file with
	// ErrRecordTooLong. 0 means 16 × MaxFieldBytes.
	MaxRecordBytes int
}

// A Mapper reads CSV files into Records according to a Schema. It
// implements usersync.Mapper, is immutable, and is safe for concurrent use:
// each file gets its own reader.
type Mapper struct {
	columns   []Column       // the schema, copied
	byHeader  map[string]int // normalized header or alias -> index in columns
	comma     rune
	maxField  int
	maxRecord int64
}

var _ usersync.Mapper = (*Mapper)(nil)

// New returns a Mapper for the schema. It checks the schema: exactly one Key
// column; at most one Groups, Status and Skip column; every column named,
// names unique; no header or alias that two columns share once normalized
// (see [Mapper.NewReader]); Kind and Separator only where they apply.
func New(s Schema, opts *Options) (*Mapper, error) {
	if opts == nil {
		opts = &Options{}
	}
	m := &Mapper{
		columns:  make([]Column, len(s.Columns)),
		byHeader: make(map[string]int),
	}
	if err := m.setOptions(opts); err != nil {
		return nil, err
	}
	for i, c := range s.Columns {
		c.Aliases = append([]string(nil), c.Aliases...)
		if c.Role == Groups && c.Separator == "" {
			c.Separator = ","
		}
		m.columns[i] = c
	}
	if err := m.checkColumns(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Mapper) setOptions(o *Options) error {
	m.comma = o.Comma
	if m.comma == 0 {
		m.comma = ','
	}
	if m.comma == '"' || m.comma == '\r' || m.comma == '\n' || m.comma == utf8.RuneError || !utf8.ValidRune(m.comma) {
		return fmt.Errorf("csvmap: invalid Comma %q", m.comma)
	}
	if o.MaxFieldBytes < 0 || o.MaxRecordBytes < 0 {
		return errors.New("csvmap: negative MaxFieldBytes or MaxRecordBytes")
	}
	m.maxField = o.MaxFieldBytes
	if m.maxField == 0 {
		m.maxField = DefaultMaxFieldBytes
	}
	m.maxRecord = int64(o.MaxRecordBytes)
	if m.maxRecord == 0 {
		m.maxRecord = maxRecordFields * int64(m.maxField)
	}
	return nil
}

// checkColumns validates the copied schema and fills byHeader.
func (m *Mapper) checkColumns() error {
	var roles [Skip + 1]int
	names := make(map[string]bool, len(m.columns))
	for i := range m.columns {
		c := &m.columns[i]
		if err := checkColumn(c); err != nil {
			return err
		}
		if names[c.Name] {
			return fmt.Errorf("csvmap: column name %q used twice", c.Name)
		}
		names[c.Name] = true
		roles[c.Role]++
		if c.Role != Attribute && roles[c.Role] > 1 {
			return fmt.Errorf("csvmap: more than one %v column", c.Role)
		}
		for _, h := range append([]string{c.header()}, c.Aliases...) {
			if err := m.addHeader(h, i); err != nil {
				return err
			}
		}
	}
	if roles[Key] == 0 {
		return errors.New("csvmap: the schema has no Key column")
	}
	return nil
}

func checkColumn(c *Column) error {
	switch {
	case c.Name == "":
		return errors.New("csvmap: a column has no Name")
	case c.Role > Skip:
		return fmt.Errorf("csvmap: column %q: unknown %v", c.Name, c.Role)
	case c.Kind > Email:
		return fmt.Errorf("csvmap: column %q: unknown %v", c.Name, c.Kind)
	case c.Kind != Text && c.Role != Attribute && c.Role != Key:
		return fmt.Errorf("csvmap: column %q: Kind %v is only for Attribute and Key columns", c.Name, c.Kind)
	case c.Separator != "" && c.Role != Groups:
		return fmt.Errorf("csvmap: column %q: Separator is only for Groups columns", c.Name)
	}
	return nil
}

// addHeader maps the normalized header h to column i, refusing a header that
// another column already claims: a file could not say which one it meant.
func (m *Mapper) addHeader(h string, i int) error {
	n := normalizeHeader(h)
	if n == "" {
		return fmt.Errorf("csvmap: column %q: header or alias %q is empty once normalized", m.columns[i].Name, h)
	}
	if j, ok := m.byHeader[n]; ok && j != i {
		return fmt.Errorf("csvmap: columns %q and %q both accept the header %q", m.columns[j].Name, m.columns[i].Name, h)
	}
	m.byHeader[n] = i
	return nil
}

// normalizeHeader folds a header so that the spellings exporters produce
// match: case, white space, underscores and hyphens are ignored, so
// "UniqueID", "unique_id" and " Unique ID " are all "uniqueid". A stray
// byte order mark is dropped too: it must never hide a column.
func normalizeHeader(h string) string {
	var b strings.Builder
	for _, r := range h {
		if r == '_' || r == '-' || r == '\uFEFF' || unicode.IsSpace(r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

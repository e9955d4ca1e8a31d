package csvmap

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/encoding"

	"github.com/usersync/usersync"
)

// Limits that apply when Options leave them zero. They are generous, yet
// finite: a file without line breaks, a gigabyte field or an endless stream
// stops with an error that says which limit it hit.
const (
	// DefaultMaxFieldBytes bounds one value: 1 MiB.
	DefaultMaxFieldBytes = 1 << 20
	// DefaultMaxRows bounds the rows of a file: ten million users.
	DefaultMaxRows = 10_000_000
	// DefaultMaxFileBytes bounds a file as the Mapper receives it: 4 GiB.
	DefaultMaxFileBytes = 4 << 30
	// maxRecordFields is the default MaxRecordBytes in fields of
	// MaxFieldBytes: room for a wide row of long values, yet a hard stop
	// for a file without line breaks.
	maxRecordFields = 16
)

// Options tune a Mapper. A nil *Options or a zero field means the default.
type Options struct {
	// Comma is the field delimiter. 0 means detect it from the header line
	// among ',', ';', tab and '|': the one that splits the header into the
	// most columns the schema knows, so that a semicolon file from a
	// European Excel just works. Another value forces that delimiter; it
	// must be an ASCII character other than a letter, a digit, '"', '\r'
	// or '\n'.
	Comma rune
	// Encoding names the file's character encoding, for files that cannot
	// say it themselves: an IANA name such as "windows-1252" (what Excel
	// saves as "CSV" on a Western Windows) or "ISO-8859-1". "" means
	// detect: UTF-8, with or without a byte order mark, or UTF-16 with a
	// byte order mark or, without one, recognized by its zero bytes. A byte
	// order mark always wins over this option: it cannot be mistaken.
	Encoding string
	// PhoneRegion is the region (ISO 3166 code, such as "SE") of Phone
	// numbers written without a country code; "" means such numbers are
	// rejected.
	PhoneRegion string
	// Location is the time zone of Timestamp values written without one;
	// nil means UTC.
	Location *time.Location
	// MaxFieldBytes bounds a value, in bytes; a longer one rejects its row
	// with ErrFieldTooLong. 0 means DefaultMaxFieldBytes.
	MaxFieldBytes int
	// MaxRecordBytes bounds a record (a row, with any line breaks inside
	// quotes), in bytes: a longer one fails the file with ErrRecordTooLong,
	// as does a file without line breaks or with a quote left open, before
	// it is read into memory. 0 means 16 × MaxFieldBytes.
	MaxRecordBytes int
	// MaxRows bounds the rows of a file; more fail it with ErrTooManyRows.
	// 0 means DefaultMaxRows.
	MaxRows int
	// MaxFileBytes bounds the bytes of a file; more fail it with
	// ErrFileTooLarge. 0 means DefaultMaxFileBytes.
	MaxFileBytes int64
	// Hold turns on the per-file error policy: a file in which too many
	// rows are rejected fails as a whole (ErrTooManyRejected), so nothing
	// is applied from it. nil keeps the per-row policy: bad rows are
	// rejected and the others apply.
	Hold *HoldPolicy
}

// A HoldPolicy holds a whole file when more than Rows of its rows, or more
// than Percent percent of them, are rejected. Rows left out on purpose (see
// Skip) and rows out of scope (see Filter) do not count. A negative field
// turns that limit off; the zero HoldPolicy holds a file at its first
// rejected row.
//
// The Rows limit trips as soon as it is passed; the Percent limit is
// checked at the end of the file.
type HoldPolicy struct {
	Rows    int
	Percent float64
}

// A Mapper reads CSV files into Records according to a Schema. It
// implements usersync.Mapper, is immutable, and is safe for concurrent use:
// each file gets its own reader.
type Mapper struct {
	name     string
	cols     []column
	byHeader map[string]int // normalized header or alias -> index in cols
	key      int            // index of the Key column
	headers  HeaderRule
	strict   bool
	file     FileKind

	comma     byte // 0: detect
	encoding  encoding.Encoding
	encName   string
	region    string
	loc       *time.Location
	maxField  int
	maxRecord int64
	maxRows   int
	maxFile   int64
	hold      *HoldPolicy

	filters    []filter
	filterCols []int // the columns filters read
}

var _ usersync.Mapper = (*Mapper)(nil)

// A column is a schema column, checked and prepared for reading.
type column struct {
	Column
	from   []int  // indexes of the From columns
	def    string // Default, normalized
	simple bool   // a Text attribute with no rule: read as it is
	rules  bool   // values need more than trimming: checks, or Transforms
	checks bool   // values need normalizing: a Kind, a list, Fold or bounds
	source bool   // another column is made From this one

	// Transforms: the compiled steps, the columns they read, and whether
	// the first makes the value without the column's own.
	steps []step
	refs  []int
	makes bool
	// late columns have steps and are made after the columns read from
	// the file, as From and Default columns are: they read other columns
	// or need their own value made first. rank orders them.
	late bool
	rank int
}

// New returns a Mapper for the schema. It checks the schema: exactly one Key
// column; at most one Groups, Status and Skip column; every column named,
// names unique; no header or alias that two columns share once normalized;
// every field used only where it applies, and valid (an Enum's Values, a
// Default for its Kind, the columns From names, headers that follow the
// schema's HeaderRule).
func New(s Schema, opts *Options) (*Mapper, error) {
	if opts == nil {
		opts = &Options{}
	}
	m := &Mapper{
		name:     s.Name,
		cols:     make([]column, len(s.Columns)),
		byHeader: make(map[string]int),
		key:      -1,
		headers:  s.Headers,
		strict:   s.Strict,
		file:     s.File,
	}
	if err := m.setOptions(opts); err != nil {
		return nil, err
	}
	for i, c := range s.Columns {
		c.Aliases = slices.Clone(c.Aliases)
		c.Values = slices.Clone(c.Values)
		c.Layouts = slices.Clone(c.Layouts)
		c.From = slices.Clone(c.From)
		c.Transforms = slices.Clone(c.Transforms)
		if c.Role == Groups && c.Separator == "" {
			c.Separator = ","
		}
		m.cols[i] = column{Column: c}
	}
	if s.Headers > LowerSnake {
		return nil, fmt.Errorf("csvmap: unknown HeaderRule %d", s.Headers)
	}
	if err := m.checkFileKind(); err != nil {
		return nil, err
	}
	if err := m.checkColumns(); err != nil {
		return nil, err
	}
	if err := m.compileFilters(s.Filters); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Mapper) setOptions(o *Options) error {
	if o.Comma != 0 {
		if !validComma(o.Comma) {
			return fmt.Errorf("csvmap: invalid Comma %q: want an ASCII character other than a letter, a digit, '\"', '\\r' or '\\n'", o.Comma)
		}
		m.comma = byte(o.Comma)
	}
	if o.Encoding != "" {
		enc, name, err := lookupEncoding(o.Encoding)
		if err != nil {
			return err
		}
		m.encoding, m.encName = enc, name
	}
	if o.PhoneRegion != "" {
		m.region = strings.ToUpper(o.PhoneRegion)
		if phonenumbers.GetCountryCodeForRegion(m.region) == 0 {
			return fmt.Errorf("csvmap: unknown PhoneRegion %q: want a region code such as \"SE\"", o.PhoneRegion)
		}
	}
	m.loc = o.Location
	if m.loc == nil {
		m.loc = time.UTC
	}
	if o.MaxFieldBytes < 0 || o.MaxRecordBytes < 0 || o.MaxRows < 0 || o.MaxFileBytes < 0 {
		return errors.New("csvmap: negative MaxFieldBytes, MaxRecordBytes, MaxRows or MaxFileBytes")
	}
	m.maxField = cmpOr(o.MaxFieldBytes, DefaultMaxFieldBytes)
	m.maxRecord = cmpOr(int64(o.MaxRecordBytes), maxRecordFields*int64(m.maxField))
	m.maxRows = cmpOr(o.MaxRows, DefaultMaxRows)
	m.maxFile = cmpOr(o.MaxFileBytes, DefaultMaxFileBytes)
	if o.Hold != nil {
		if o.Hold.Percent > 100 {
			return fmt.Errorf("csvmap: Hold.Percent %g is over 100", o.Hold.Percent)
		}
		h := *o.Hold
		m.hold = &h
	}
	return nil
}

// cmpOr returns v, or def when v is zero.
func cmpOr[T int | int64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

func validComma(r rune) bool {
	return r > 0 && r < unicode.MaxASCII && r != '"' && r != '\r' && r != '\n' &&
		!('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
}

// checkColumns validates the copied schema, fills byHeader and prepares
// each column.
func (m *Mapper) checkColumns() error {
	var roles [Ignore + 1]int
	names := make(map[string]int, len(m.cols))
	for i := range m.cols {
		c := &m.cols[i]
		if err := checkColumn(&c.Column); err != nil {
			return err
		}
		if _, dup := names[c.Name]; dup {
			return fmt.Errorf("csvmap: column name %q used twice", c.Name)
		}
		names[c.Name] = i
		roles[c.Role]++
		if c.Role != Attribute && c.Role != Ignore && roles[c.Role] > 1 {
			return fmt.Errorf("csvmap: more than one %v column", c.Role)
		}
		if c.Role == Key {
			m.key = i
		}
		for _, h := range append([]string{c.header()}, c.Aliases...) {
			if err := m.addHeader(h, i); err != nil {
				return err
			}
		}
	}
	if m.key < 0 {
		return errors.New("csvmap: the schema has no Key column")
	}
	for i := range m.cols {
		if err := m.compileTransforms(i, names); err != nil {
			return err
		}
		if err := m.prepare(&m.cols[i], names); err != nil {
			return err
		}
	}
	for i := range m.cols {
		for _, j := range m.cols[i].from {
			m.cols[j].simple, m.cols[j].source = false, true
		}
		for _, j := range m.cols[i].refs {
			m.cols[j].simple, m.cols[j].source = false, true
		}
	}
	return m.rankColumns()
}

// checkColumn checks that each field of c is set only where it applies.
func checkColumn(c *Column) error {
	valued := c.Role == Attribute || c.Role == Key
	problem := ""
	switch {
	case c.Name == "":
		return errors.New("csvmap: a column has no Name")
	case c.Role > Ignore:
		problem = "unknown " + c.Role.String()
	case c.Kind > Enum:
		problem = "unknown " + c.Kind.String()
	case c.Kind != Text && !valued:
		problem = fmt.Sprintf("Kind %v is only for Attribute and Key columns", c.Kind)
	case c.Separator != "" && c.Role != Groups && c.Role != Attribute:
		problem = "Separator is only for Groups and Attribute columns"
	case (c.Fold || c.MinLen != 0 || c.MaxLen != 0) && !valued && c.Role != Groups:
		problem = "Fold, MinLen and MaxLen are only for Attribute, Key and Groups columns"
	case c.MinLen < 0 || c.MaxLen < 0 || c.MaxLen > 0 && c.MinLen > c.MaxLen:
		problem = fmt.Sprintf("invalid length bounds %d to %d", c.MinLen, c.MaxLen)
	case c.Kind == Enum && len(c.Values) == 0:
		problem = "an Enum needs Values"
	case c.Kind != Enum && c.Values != nil:
		problem = "Values are only for Enum columns"
	case c.Layouts != nil && c.Kind != Date && c.Kind != Timestamp:
		problem = "Layouts are only for Date and Timestamp columns"
	case c.From != nil && !valued:
		problem = "From is only for Attribute and Key columns"
	case c.Default != "" && c.Role != Attribute:
		problem = "Default is only for Attribute columns"
	case c.Default != "" && c.Required:
		problem = "a column with a Default cannot be Required: the Default fills every empty value"
	case c.Required && c.Role == Ignore:
		problem = "an Ignore column cannot be Required"
	case c.Role == Ignore && (c.From != nil || c.Separator != ""):
		problem = "an Ignore column is not read"
	}
	if problem != "" {
		return fmt.Errorf("csvmap: column %q: %s", c.Name, problem)
	}
	return nil
}

// prepare resolves c's From columns, normalizes its Default and checks its
// Enum values.
func (m *Mapper) prepare(c *column, names map[string]int) error {
	for _, name := range c.From {
		j, ok := names[name]
		switch {
		case !ok:
			return fmt.Errorf("csvmap: column %q: From names %q, which is not a column", c.Name, name)
		case name == c.Name:
			return fmt.Errorf("csvmap: column %q: From names the column itself", c.Name)
		case m.cols[j].Role != Attribute && m.cols[j].Role != Key || m.cols[j].From != nil:
			return fmt.Errorf("csvmap: column %q: From names %q, which is not an Attribute or Key column read from the file", c.Name, name)
		}
		c.from = append(c.from, j)
	}
	seen := make(map[string]bool, len(c.Values))
	for _, v := range c.Values {
		if f := strings.ToLower(v); v == "" || seen[f] {
			return fmt.Errorf("csvmap: column %q: Enum value %q is empty or listed twice", c.Name, v)
		} else {
			seen[f] = true
		}
	}
	if c.Default != "" {
		v, err := newNormalizer(m, &arena{}).normalize(c, strings.TrimSpace(c.Default))
		if err != nil {
			return fmt.Errorf("csvmap: column %q: Default %q: %w", c.Name, c.Default, err)
		}
		c.def = v
	}
	c.checks = (c.Role == Attribute || c.Role == Key) &&
		(c.Kind != Text || c.Separator != "" || c.Fold || c.MinLen != 0 || c.MaxLen != 0)
	c.rules = c.checks || c.steps != nil
	c.late = c.steps != nil && (c.from != nil || c.Default != "" || c.refs != nil || c.makes)
	c.simple = c.Role == Attribute && !c.rules && !c.Required && c.From == nil && c.Default == ""
	return nil
}

// addHeader maps the normalized header h to column i, refusing a header that
// another column already claims: a file could not say which one it meant.
func (m *Mapper) addHeader(h string, i int) error {
	n := normalizeHeader(h)
	if n == "" {
		return fmt.Errorf("csvmap: column %q: header or alias %q is empty once normalized", m.cols[i].Name, h)
	}
	if m.headers == LowerSnake && !isLowerSnake(h) {
		return fmt.Errorf("csvmap: column %q: header or alias %q breaks the LowerSnake rule; write %q", m.cols[i].Name, h, lowerSnake(h))
	}
	if j, ok := m.byHeader[n]; ok && j != i {
		return fmt.Errorf("csvmap: columns %q and %q both accept the header %q", m.cols[j].Name, m.cols[i].Name, h)
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

// isLowerSnake reports whether h follows Opensense's header rule: no upper
// case and no white space.
func isLowerSnake(h string) bool {
	return h != "" && !strings.ContainsFunc(h, func(r rune) bool { return unicode.IsUpper(r) || unicode.IsSpace(r) })
}

// lowerSnake returns h as the LowerSnake rule wants it: lower case, with
// underscores for runs of spaces and hyphens.
func lowerSnake(h string) string {
	words := strings.FieldsFunc(strings.TrimSpace(h), func(r rune) bool { return r == '-' || unicode.IsSpace(r) })
	return strings.ToLower(strings.Join(words, "_"))
}

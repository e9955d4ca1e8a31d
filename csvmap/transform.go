package csvmap

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/expr-lang/expr/vm"
)

// A Transform rewrites the value of a column before its Kind checks it: a
// status word mapped to active or inactive, a name turned from "Lee, Ann"
// into "Ann Lee", a username taken from the email address. A Column's
// Transforms apply in order, each to the value the one before it gave.
//
// A Transform sets exactly one rule: Map (with Else or Reject), Template,
// EmailLocal, Trim, Case, Extract, LastFirst, Date, DefaultFrom or Expr. The
// rules other than Template, Expr and DefaultFrom leave an empty value
// empty. Like the rest of a Schema it is plain data; [New] compiles it once
// per Mapper, so that mapping a row costs no parsing.
//
// A row whose value a rule refuses is rejected with a *usersync.RowError
// naming the file, the line, the column and the rule, wrapping a
// [*RuleError] and a sentinel such as [ErrUnmapped].
type Transform struct {
	// Rule names the transform in errors ("rule status-words"); "" means
	// a name for its kind: "map", "template", "email-local", "trim",
	// "lower", "upper", "title", "extract", "last-first", "date",
	// "default-from" or "expr".
	Rule string

	// Map replaces a value by the one it maps to, the keys matching
	// without regard to case: {"Terminated": "inactive", "T": "inactive",
	// "On leave": "active"}. A key "" maps the empty value. A non-empty
	// value the map does not list is kept as it is, unless Else or Reject
	// says otherwise.
	Map map[string]string
	// Else is what Map makes of a non-empty value it does not list; ""
	// keeps the value.
	Else string
	// Reject rejects a row whose non-empty value Map does not list, with
	// ErrUnmapped: list every word accepted, a Status column's own words
	// (active, 1, yes, ...) too.
	Reject bool

	// Template makes the value from other columns' values, by Name in
	// braces: "{first_name} {last_name}", "{email}". The columns named
	// must be Attribute or Key columns; their values are final (after
	// their own transforms and Kind). The column's own value is "{}".
	// Runs of spaces left by empty values are closed up, and the result
	// is trimmed. "{{" and "}}" write a brace.
	Template string

	// EmailLocal keeps the local part of an email address, the part
	// before the last @: "ann.lee@example.com" becomes "ann.lee". A
	// value without an @ is rejected with ErrInvalidEmail.
	EmailLocal bool

	// Trim closes up runs of white space inside the value to one space.
	// (Every value is trimmed at both ends already.)
	Trim bool

	// Case changes the value's case: Lower, Upper or Title ("ANN-MARIE
	// O'NEIL" becomes "Ann-Marie O'Neil").
	Case Case

	// Extract is a regular expression (Go's RE2 syntax) with a capture
	// group: the value becomes what the first group matched, such as
	// `^EMP-(\d+)$` for the number of "EMP-00123". A value it does not
	// match is rejected with ErrNoMatch.
	Extract string

	// LastFirst reads a name written "Last, First" and writes it "First
	// Last": "Lee, Ann Marie" becomes "Ann Marie Lee". The value is split
	// at its first comma; a value without a comma is kept as it is.
	LastFirst bool

	// Date reads a date in one of these time.Parse layouts, such as
	// "02.01.2006" or "1/2/2006", and writes it in ISO 8601: 2006-01-02.
	// A value in none of them is rejected with ErrInvalidTime. (A Date
	// column's Layouts do the same for a column of that Kind.)
	Date []string

	// DefaultFrom names a column whose value an empty value takes, such
	// as a work phone that falls back on a mobile phone. The column must
	// be an Attribute or Key column.
	DefaultFrom string

	// Expr is an expression, in the language of github.com/expr-lang/expr,
	// that makes the value, a string: the column's own value is value,
	// and other Attribute and Key columns are variables by Name (or
	// $env["Name"] for a name that is not an identifier). For what the
	// other rules cannot say: `Type == "C" ? "contractor" : lower(value)`.
	// It is compiled once, checked to give a string, and run with a
	// bounded budget; an error at run time rejects the row with ErrExpr.
	Expr string
}

// Case says how [Transform.Case] changes a value.
type Case uint8

// The cases of a Transform.
const (
	// KeepCase leaves the case alone; it is the zero value.
	KeepCase Case = iota
	// Lower lower-cases the value.
	Lower
	// Upper upper-cases the value.
	Upper
	// Title upper-cases the first letter of each word and lower-cases the
	// others; a word starts after a space, a hyphen, an apostrophe, a dot
	// or a parenthesis.
	Title
)

var caseNames = [...]string{"KeepCase", "Lower", "Upper", "Title"}

// String returns the case's name, as in the constant.
func (c Case) String() string {
	if int(c) < len(caseNames) {
		return caseNames[c]
	}
	return fmt.Sprintf("Case(%d)", uint8(c))
}

// index returns the position of c in m's columns.
func (c *column) index(m *Mapper) int {
	for i := range m.cols {
		if &m.cols[i] == c {
			return i
		}
	}
	return -1
}

// Errors that reject a row, wrapped in a [*RuleError] that names the rule.
var (
	// ErrUnmapped: a value a Transform's Map does not list, when the
	// Transform rejects such values.
	ErrUnmapped = errors.New("value not in the map")
	// ErrNoMatch: a value a Transform's Extract does not match.
	ErrNoMatch = errors.New("value does not match the pattern")
	// ErrExpr: a Transform's or a Filter's Expr failed at run time.
	ErrExpr = errors.New("expression failed")
)

// A RuleError is a Transform or a Filter that refused a value: a
// *usersync.RowError wraps it, naming the file, the line and the column.
type RuleError struct {
	Rule string // the Transform's or Filter's Rule or Name, or the name of its kind
	Err  error
}

// Error says "rule NAME: reason".
func (e *RuleError) Error() string { return "rule " + e.Rule + ": " + e.Err.Error() }

// Unwrap returns the reason.
func (e *RuleError) Unwrap() error { return e.Err }

// A stepKind is the rule of a compiled Transform.
type stepKind uint8

const (
	stepMap stepKind = iota
	stepTemplate
	stepEmailLocal
	stepTrim
	stepCase
	stepExtract
	stepLastFirst
	stepDate
	stepDefaultFrom
	stepExpr
)

// A step is a Transform, compiled.
type step struct {
	kind stepKind
	rule string

	mapped map[string]string // keys lower-cased
	keys   []string          // a small map's keys and values, side by side,
	vals   []string          // which a linear search finds faster than a hash
	els    string
	reject bool
	tmpl   []tmplPart
	cas    Case
	re     *regexp.Regexp
	dates  []string
	from   int // DefaultFrom's column
	prog   *program
}

// A tmplPart is a literal, or the value of column col (-1: the column's
// own value) when lit is "".
type tmplPart struct {
	lit string
	col int
}

// compileTransforms compiles the Transforms of column i, recording the
// columns they read in its refs.
func (m *Mapper) compileTransforms(i int, names map[string]int) error {
	c := &m.cols[i]
	if len(c.Transforms) == 0 {
		return nil
	}
	if c.Role == Skip || c.Role == Ignore {
		return fmt.Errorf("csvmap: column %q: Transforms are only for Attribute, Key, Groups and Status columns", c.Name)
	}
	for k := range c.Transforms {
		s, err := m.compileStep(c, &c.Transforms[k], names)
		if err != nil {
			return fmt.Errorf("csvmap: column %q: transform %d (%s): %w", c.Name, k+1, s.rule, err)
		}
		c.steps = append(c.steps, s)
	}
	c.makes = c.steps[0].makesValue()
	return nil
}

// makesValue reports whether the step makes a value without the column's
// own: the column then needs no header of its own.
func (s *step) makesValue() bool {
	switch s.kind {
	case stepTemplate:
		for _, p := range s.tmpl {
			if p.lit == "" && p.col < 0 {
				return false
			}
		}
		return true
	case stepExpr:
		return !s.prog.usesValue
	case stepDefaultFrom:
		return true
	}
	return false
}

// ruleName is the name of a Transform's kind, for errors.
func ruleName(t *Transform) (stepKind, string, int) {
	kind, name, n := stepMap, "", 0
	set := func(k stepKind, s string, on bool) {
		if on {
			kind, name = k, s
			n++
		}
	}
	set(stepMap, "map", t.Map != nil)
	set(stepTemplate, "template", t.Template != "")
	set(stepEmailLocal, "email-local", t.EmailLocal)
	set(stepTrim, "trim", t.Trim)
	set(stepCase, strings.ToLower(t.Case.String()), t.Case != KeepCase)
	set(stepExtract, "extract", t.Extract != "")
	set(stepLastFirst, "last-first", t.LastFirst)
	set(stepDate, "date", t.Date != nil)
	set(stepDefaultFrom, "default-from", t.DefaultFrom != "")
	set(stepExpr, "expr", t.Expr != "")
	return kind, name, n
}

func (m *Mapper) compileStep(c *column, t *Transform, names map[string]int) (step, error) {
	kind, name, n := ruleName(t)
	s := step{kind: kind, rule: t.Rule}
	if s.rule == "" {
		s.rule = name
	}
	if s.rule == "" {
		s.rule = "?"
	}
	if err := checkLiterals(t); err != nil {
		return s, err
	}
	switch {
	case n == 0:
		return s, errors.New("sets no rule: give one of Map, Template, EmailLocal, Trim, Case, Extract, LastFirst, Date, DefaultFrom or Expr")
	case n > 1:
		return s, errors.New("sets more than one rule: give each its own Transform, in the order they apply")
	case (t.Else != "" || t.Reject) && kind != stepMap:
		return s, errors.New("the rule is not a Map: Else and Reject are only for one")
	case t.Else != "" && t.Reject:
		return s, errors.New("give Else or Reject, not both")
	case t.Case > Title:
		return s, fmt.Errorf("unknown %v", t.Case)
	}
	switch kind {
	case stepMap:
		s.mapped = make(map[string]string, len(t.Map))
		for k, v := range t.Map {
			lk := strings.ToLower(strings.TrimSpace(k))
			if _, dup := s.mapped[lk]; dup {
				return s, fmt.Errorf("the Map lists %q twice, ignoring case", k)
			}
			s.mapped[lk] = v
		}
		if len(s.mapped) <= maxLinear {
			for k, v := range s.mapped {
				s.keys, s.vals = append(s.keys, k), append(s.vals, v)
			}
		}
		s.els, s.reject = t.Else, t.Reject
	case stepTemplate:
		parts, err := parseTemplate(t.Template, c.Name, names)
		if err != nil {
			return s, err
		}
		s.tmpl = parts
		for _, p := range parts {
			if p.lit == "" && p.col >= 0 {
				if err := m.addRef(c, p.col); err != nil {
					return s, err
				}
			}
		}
	case stepCase:
		s.cas = t.Case
	case stepExtract:
		re, err := regexp.Compile(t.Extract)
		if err != nil {
			return s, fmt.Errorf("the Extract pattern: %w", err)
		}
		if re.NumSubexp() < 1 {
			return s, fmt.Errorf("the Extract pattern %q has no capture group: put the part to keep in parentheses, such as ^EMP-(\\d+)$", t.Extract)
		}
		s.re = re
	case stepDate:
		if len(t.Date) == 0 {
			return s, errors.New("the Date rule lists no layout: give one such as 02.01.2006")
		}
		s.dates = t.Date
	case stepDefaultFrom:
		j, ok := names[t.DefaultFrom]
		if !ok {
			return s, fmt.Errorf("DefaultFrom names %q, which is not a column", t.DefaultFrom)
		}
		s.from = j
		if err := m.addRef(c, j); err != nil {
			return s, err
		}
	case stepExpr:
		p, err := m.compileExpr(t.Expr, exprTransform, c.Name)
		if err != nil {
			return s, err
		}
		s.prog = p
		for _, v := range p.vars {
			if err := m.addRef(c, v.col); err != nil {
				return s, err
			}
		}
	}
	return s, nil
}

// checkLiterals checks that the text a Transform may write into a value is
// valid: UTF-8 without NUL, in NFC, as every value read from a file is.
func checkLiterals(t *Transform) error {
	lits := []string{t.Template, t.Else}
	for k, v := range t.Map {
		lits = append(lits, k, v)
	}
	for _, l := range lits {
		if c, ok := cleanSlow(l, len(l)); !ok || c != strings.TrimSpace(l) {
			return fmt.Errorf("%q is not valid text: want UTF-8 in NFC, without NUL", l)
		}
	}
	return nil
}

// addRef records that column c reads column j, which must be an Attribute
// or Key column other than c.
func (m *Mapper) addRef(c *column, j int) error {
	d := &m.cols[j]
	switch {
	case d.Name == c.Name:
		return errors.New("it names the column itself: write {} for its own value")
	case d.Role != Attribute && d.Role != Key:
		return fmt.Errorf("it names %q, which is not an Attribute or Key column", d.Name)
	}
	for _, r := range c.refs {
		if r == j {
			return nil
		}
	}
	c.refs = append(c.refs, j)
	return nil
}

// parseTemplate splits a template into literals and column references.
func parseTemplate(t, self string, names map[string]int) ([]tmplPart, error) {
	var parts []tmplPart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, tmplPart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c == '{' && i+1 < len(t) && t[i+1] == '{', c == '}' && i+1 < len(t) && t[i+1] == '}':
			lit.WriteByte(c)
			i++
		case c == '{':
			end := strings.IndexByte(t[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("template %q: a { is not closed", t)
			}
			name := strings.TrimSpace(t[i+1 : i+end])
			col := -1
			if name != "" {
				j, ok := names[name]
				if !ok {
					return nil, fmt.Errorf("template %q: {%s} is not a column", t, name)
				}
				if name != self {
					col = j
				}
			}
			flush()
			parts = append(parts, tmplPart{col: col})
			i += end
		case c == '}':
			return nil, fmt.Errorf("template %q: a } is not opened (write }} for a brace)", t)
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return parts, nil
}

// A transformer applies the steps of columns for one reader: scratch
// space, and the values of the columns they read.
type transformer struct {
	m    *Mapper
	a    *arena // the row arena: values live until Layout.Make copies them
	vals []string
	low  []byte // scratch for lower-casing map keys
	buf  []byte // scratch for dates
	vm   vm.VM
	env  map[string]any
	// ascii is set while the current row is plain ASCII: its values need
	// no check of their own.
	ascii bool
}

// apply runs the step on the trimmed value v.
func (t *transformer) apply(s *step, v string) (string, error) {
	switch s.kind {
	case stepMap:
		if s.keys != nil {
			if i := indexFold(s.keys, v); i >= 0 {
				return s.vals[i], nil
			}
		} else if out, ok := s.mapped[string(t.lower(v))]; ok {
			return out, nil
		}
		switch {
		case v == "":
		case s.reject:
			return "", ErrUnmapped
		case s.els != "":
			return s.els, nil
		}
		return v, nil
	case stepTemplate:
		return t.template(s.tmpl, v), nil
	case stepDefaultFrom:
		if v == "" {
			return t.vals[s.from], nil
		}
		return v, nil
	case stepExpr:
		return t.runExpr(s.prog, v)
	}
	if v == "" {
		return v, nil
	}
	switch s.kind {
	case stepEmailLocal:
		at := strings.LastIndexByte(v, '@')
		if at < 0 {
			return "", fmt.Errorf("%w: no @ to take the local part before", ErrInvalidEmail)
		}
		return strings.TrimSpace(v[:at]), nil
	case stepTrim:
		return t.squeeze(v), nil
	case stepCase:
		return t.changeCase(s.cas, v), nil
	case stepExtract:
		m := s.re.FindStringSubmatchIndex(v)
		if m == nil || m[2] < 0 {
			return "", fmt.Errorf("%w %s", ErrNoMatch, s.re)
		}
		return strings.TrimSpace(v[m[2]:m[3]]), nil
	case stepLastFirst:
		last, first, ok := strings.Cut(v, ",")
		if !ok {
			return v, nil
		}
		last, first = strings.TrimSpace(last), strings.TrimSpace(first)
		switch {
		case first == "":
			return last, nil
		case last == "":
			return first, nil
		}
		at := t.a.start(len(v))
		t.a.b.WriteString(first)
		t.a.b.WriteByte(' ')
		t.a.b.WriteString(last)
		return t.a.since(at), nil
	case stepDate:
		for _, l := range s.dates {
			d, err := time.ParseInLocation(l, v, t.m.loc)
			if err != nil {
				continue
			}
			t.buf = d.AppendFormat(t.buf[:0], time.DateOnly)
			at := t.a.start(len(t.buf))
			t.a.b.Write(t.buf)
			return t.a.since(at), nil
		}
		return "", fmt.Errorf("%w: want %s", ErrInvalidTime, strings.Join(s.dates, " or "))
	}
	return v, nil
}

// maxLinear is the most keys a value map or a filter's Values are searched
// in one by one, ignoring case, rather than lower-cased and hashed.
const maxLinear = 8

// indexFold returns the index of the first of keys (lower-cased) equal to
// v ignoring case, or -1.
func indexFold(keys []string, v string) int {
	for i, k := range keys {
		if strings.EqualFold(k, v) {
			return i
		}
	}
	return -1
}

// lower returns v lower-cased in scratch space, for a map lookup that does
// not allocate.
func (t *transformer) lower(v string) []byte {
	b := t.low[:0]
	if isPlainASCII(v) {
		for i := 0; i < len(v); i++ {
			c := v[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
	} else {
		for _, r := range v {
			b = utf8.AppendRune(b, unicode.ToLower(r))
		}
	}
	t.low = b
	return b
}

// template fills in the parts; own is the column's own value.
func (t *transformer) template(parts []tmplPart, own string) string {
	at := t.a.start(64)
	space := true // at the start: drop leading spaces
	for _, p := range parts {
		s := p.lit
		if s == "" {
			s = own
			if p.col >= 0 {
				s = t.vals[p.col]
			}
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c == ' ' {
				if space {
					continue
				}
				space = true
			} else {
				space = false
			}
			t.a.b.WriteByte(c)
		}
	}
	out := t.a.since(at)
	return strings.TrimRight(out, " ")
}

// squeeze closes up runs of white space to one space.
func (t *transformer) squeeze(v string) string {
	if !needsSqueeze(v) {
		return v
	}
	at := t.a.start(len(v))
	for i, w := range strings.Fields(v) {
		if i > 0 {
			t.a.b.WriteByte(' ')
		}
		t.a.b.WriteString(w)
	}
	return t.a.since(at)
}

// needsSqueeze reports whether v holds white space other than single
// spaces.
func needsSqueeze(v string) bool {
	prev := false
	for _, r := range v {
		sp := unicode.IsSpace(r)
		if sp && (prev || r != ' ') {
			return true
		}
		prev = sp
	}
	return false
}

// changeCase writes v in case c; a value already in that case is returned
// as it is, without a copy.
func (t *transformer) changeCase(c Case, v string) string {
	if t.ascii || isPlainASCII(v) {
		if c == Lower {
			return foldASCII(v, t.a)
		}
		if !recaseASCII(c, v, nil) {
			return v
		}
		at := t.a.start(len(v))
		recaseASCII(c, v, &t.a.b)
		return t.a.since(at)
	}
	if !t.recase(c, v, false) {
		return v
	}
	at := t.a.start(len(v))
	t.recase(c, v, true)
	return t.a.since(at)
}

// recaseASCII is recase for ASCII text, Upper or Title: it reports whether
// case c changes v, and writes v in case c to w unless w is nil.
func recaseASCII(c Case, v string, w *strings.Builder) bool {
	start, changed := true, false
	for i := 0; i < len(v); i++ {
		b := v[i]
		o := b
		upper := c == Upper || start
		switch {
		case upper && 'a' <= b && b <= 'z':
			o = b - ('a' - 'A')
		case !upper && 'A' <= b && b <= 'Z':
			o = b + ('a' - 'A')
		}
		if c == Title {
			start = b == ' ' || b == '-' || b == '\'' || b == '.' || b == '(' || b == ')' || b == '/' || b == '\t'
		}
		if o != b {
			if w == nil {
				return true
			}
			changed = true
		}
		if w != nil {
			w.WriteByte(o)
		}
	}
	return changed
}

// recase reports whether case c changes v, and writes v in case c to the
// arena when write is set.
func (t *transformer) recase(c Case, v string, write bool) bool {
	start, changed := true, false
	for _, r := range v {
		if !write && r <= unicode.MaxLatin1 {
			// Latin-1's case is in a table: no search of the case ranges.
			switch {
			case c == Upper && unicode.IsLower(r), c == Lower && unicode.IsUpper(r),
				c == Title && start && unicode.IsLower(r), c == Title && !start && unicode.IsUpper(r):
				return true
			}
			start = isWordBreak(r)
			continue
		}
		var o rune
		switch c {
		case Lower:
			o = unicode.ToLower(r)
		case Upper:
			o = unicode.ToUpper(r)
		default:
			if start {
				o = unicode.ToTitle(r)
			} else {
				o = unicode.ToLower(r)
			}
			start = isWordBreak(r)
		}
		if o != r {
			if !write {
				return true
			}
			changed = true
		}
		if write {
			t.a.b.WriteRune(o)
		}
	}
	return changed
}

// isWordBreak reports whether a letter after r starts a word, for Title.
func isWordBreak(r rune) bool {
	switch r {
	case ' ', '-', '\'', '’', '.', '(', ')', '/':
		return true
	}
	return unicode.IsSpace(r)
}

// rankColumns orders the columns made from others: a column's rank is one
// more than the highest of the columns it is made From or its Transforms
// read, so that making the columns in order of rank makes each after those
// it reads. A cycle fails the schema.
func (m *Mapper) rankColumns() error {
	const (
		todo = iota
		doing
		done
	)
	state := make([]uint8, len(m.cols))
	var visit func(i int) error
	visit = func(i int) error {
		c := &m.cols[i]
		switch state[i] {
		case done:
			return nil
		case doing:
			return fmt.Errorf("csvmap: column %q is made from itself, through From, Template, DefaultFrom or Expr", c.Name)
		}
		state[i] = doing
		for _, deps := range [][]int{c.from, c.refs} {
			for _, j := range deps {
				if err := visit(j); err != nil {
					return err
				}
				c.rank = max(c.rank, m.cols[j].rank+1)
			}
		}
		state[i] = done
		return nil
	}
	for i := range m.cols {
		if err := visit(i); err != nil {
			return err
		}
	}
	return nil
}

// transform runs the steps of f on its trimmed value v.
func (r *reader) transform(f *field, v string) (string, error) {
	for i := range f.col.steps {
		s := &f.col.steps[i]
		out, err := r.tx.apply(s, v)
		if err != nil {
			return "", r.rowError(f, v, &RuleError{Rule: s.rule, Err: err})
		}
		v = out
	}
	return v, nil
}

// made returns the value of a late column: its own (trimmed, as the file
// has it) or the one made From others, through its Transforms, checked by
// its Kind, or its Default when that leaves it empty.
func (r *reader) made(f *field) (string, error) {
	v := ""
	if f.index >= 0 {
		v = r.vals[f.ci]
	}
	if v == "" && f.col.from != nil {
		v = r.compose(f.col.from)
	}
	v, err := r.transform(f, v)
	if err != nil {
		return "", err
	}
	if v == "" {
		return f.col.def, nil
	}
	if !f.col.checks {
		return v, nil
	}
	nv, err := r.norm.normalize(f.col, v)
	if err != nil {
		return "", r.rowError(f, v, err)
	}
	return nv, nil
}

// derivedValue is the value of a column made of others: by its
// transforms (a template, a default from another column), or From.
func (r *reader) derivedValue(f *field) (string, error) {
	if f.col.late {
		return r.made(f)
	}
	return r.derive(f)
}

// lateKey returns the key of a row whose key is a late column, as well as
// it can be made: for a row that is rejected or out of scope, whose other
// values may be at fault. Values that cannot be read count as empty.
func (r *reader) lateKey(row []string) string {
	for i := range r.fields {
		f := &r.fields[i]
		r.vals[f.ci] = r.direct(f, row)
	}
	for i := range r.derived {
		f := &r.derived[i]
		v, err := r.derivedValue(f)
		if err != nil {
			v = ""
		}
		r.vals[f.ci] = v
		if f.ci == r.key.ci {
			return v
		}
	}
	return ""
}

package csvmap

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/usersync/usersync"
)

// A Filter sets the sync's scope: rows it leaves out, such as contractors
// or another company's staff, are neither records nor errors. The reader
// counts them in Format.OutOfScope and lists their users' keys (it is a
// usersync.ScopeReader), so that a user who moves out of scope is handled
// by the reconciler's absent-user policy like one who left, and the report
// says why: "out of scope: rule contractors".
//
// A Filter tests one column's value against Values or a Pattern, or the
// row against an Expr. Filters see the values as the file has them,
// trimmed, before any Transform or check: a row out of scope is never
// rejected for a value the sync would not use. The columns a filter reads
// must be in the file, or the file fails (ErrMissingColumn): a filter that
// tested a missing column would put every row out of scope, or none. A
// column only filters read can have Role Ignore.
//
// A row is out of scope when an Include filter does not match it or an
// Exclude filter does; the first such filter, in order, names the rule.
type Filter struct {
	// Name names the rule in reports; "" means one made from the filter,
	// such as "exclude type".
	Name string
	// Mode says whether the rows that match are the scope (Include) or
	// are left out of it (Exclude). It must be set.
	Mode FilterMode
	// Column names the column (by its Name) whose value Values or Pattern
	// tests.
	Column string
	// Values match a value equal to one of them, ignoring case:
	// {"Contractor", "External"}.
	Values []string
	// Pattern is a regular expression (Go's RE2 syntax) that matches a
	// value it finds in it; anchor it (^…$) to match the whole value.
	Pattern string
	// Expr is a boolean expression over the row (see Transform.Expr for
	// the language); columns are variables by Name, with the values as
	// written in the file: `company != "Acme" || type == "C"`.
	Expr string
}

// A FilterMode says what a [Filter] does with the rows it matches.
type FilterMode uint8

// The modes of a Filter.
const (
	// Include keeps the rows that match in scope, and leaves the others
	// out.
	Include FilterMode = iota + 1
	// Exclude leaves the rows that match out of scope.
	Exclude
)

// String returns "Include" or "Exclude".
func (f FilterMode) String() string {
	switch f {
	case Include:
		return "Include"
	case Exclude:
		return "Exclude"
	}
	return fmt.Sprintf("FilterMode(%d)", uint8(f))
}

// A filter is a Filter, compiled.
type filter struct {
	name    string
	exclude bool
	col     int                 // the column Values or Pattern test; -1 for Expr
	values  map[string]struct{} // lower-cased
	few     []string            // the same, for a linear search, when there are few
	shown   []string            // the Values, as the schema spells them
	re      *regexp.Regexp
	prog    *program
}

// compileFilters compiles the schema's filters.
func (m *Mapper) compileFilters(fs []Filter) error {
	seen := map[string]bool{}
	for i := range fs {
		f, err := m.compileFilter(&fs[i])
		if err != nil {
			name := fs[i].Name
			if name == "" {
				name = fmt.Sprint(i + 1)
			}
			return fmt.Errorf("csvmap: filter %s: %w", name, err)
		}
		if seen[f.name] {
			return fmt.Errorf("csvmap: filter name %q used twice", f.name)
		}
		seen[f.name] = true
		m.filters = append(m.filters, f)
		if f.col >= 0 {
			m.addFilterCol(f.col)
		}
		if f.prog != nil {
			for _, v := range f.prog.vars {
				m.addFilterCol(v.col)
			}
		}
	}
	return nil
}

// addFilterCol records that a filter reads column i.
func (m *Mapper) addFilterCol(i int) {
	for _, c := range m.filterCols {
		if c == i {
			return
		}
	}
	m.filterCols = append(m.filterCols, i)
}

func (m *Mapper) compileFilter(fd *Filter) (filter, error) {
	f := filter{name: fd.Name, exclude: fd.Mode == Exclude, col: -1}
	n := 0
	for _, set := range []bool{fd.Values != nil, fd.Pattern != "", fd.Expr != ""} {
		if set {
			n++
		}
	}
	switch {
	case fd.Mode != Include && fd.Mode != Exclude:
		return f, errors.New("give its Mode: Include or Exclude")
	case n != 1:
		return f, errors.New("give one of Values, Pattern or Expr")
	case fd.Expr != "" && fd.Column != "":
		return f, errors.New("an Expr names its columns itself: leave Column empty")
	case fd.Expr == "" && fd.Column == "":
		return f, errors.New("give the Column that Values or Pattern test")
	}
	if fd.Column != "" {
		if f.col = m.colIndex(fd.Column); f.col < 0 {
			return f, fmt.Errorf("column %q is not a column of the schema", fd.Column)
		}
	}
	switch {
	case fd.Values != nil:
		f.shown = slices.Clone(fd.Values)
		f.values = make(map[string]struct{}, len(fd.Values))
		for _, v := range fd.Values {
			f.values[strings.ToLower(strings.TrimSpace(v))] = struct{}{}
		}
		if len(f.values) <= maxLinear {
			for v := range f.values {
				f.few = append(f.few, v)
			}
		}
	case fd.Pattern != "":
		re, err := regexp.Compile(fd.Pattern)
		if err != nil {
			return f, fmt.Errorf("the pattern: %w", err)
		}
		f.re = re
	default:
		p, err := m.compileExpr(fd.Expr, exprFilter, "")
		if err != nil {
			return f, err
		}
		if len(p.vars) == 0 {
			return f, errors.New("the expression reads no column: it would put every row in scope, or none")
		}
		f.prog = p
	}
	if f.name == "" {
		f.name = strings.ToLower(fd.Mode.String())
		if f.col >= 0 {
			f.name += " " + fd.Column
		} else {
			f.name += " expression"
		}
	}
	return f, nil
}

// A scope is the state of a reader's filters.
type scope struct {
	at   []int    // per filter column (as Mapper.filterCols), its position in the file
	raw  []string // by schema column: the current row's values the filters read
	keys []usersync.OutOfScope
}

// bindFilters finds the columns the filters read in the file's header.
func (m *Mapper) bindFilters(r *reader) error {
	if len(m.filters) == 0 {
		return nil
	}
	s := &scope{at: make([]int, len(m.filterCols)), raw: make([]string, len(m.cols))}
	var missing []string
	for k, ci := range m.filterCols {
		s.at[k] = -1
		for i, h := range r.header {
			if j, ok := m.byHeader[normalizeHeader(h)]; ok && j == ci {
				s.at[k] = i
				break
			}
		}
		if s.at[k] < 0 {
			missing = append(missing, quote(m.cols[ci].header()))
		}
	}
	if missing != nil {
		return fmt.Errorf("%w %s: the filters read it; the header has %s",
			ErrMissingColumn, strings.Join(missing, ", "), listHeaders(quoteAll(r.header)))
	}
	r.scope = s
	return nil
}

// filterRow reports whether a filter leaves the row out of scope, and if
// so counts it and keeps its key.
func (r *reader) filterRow(row []string, kind textKind) (bool, error) {
	s := r.scope
	for k, ci := range r.m.filterCols {
		raw := row[s.at[k]]
		v, ok := r.clean(raw, kind)
		if !ok {
			return false, r.valueError(&field{col: &r.m.cols[ci], ci: ci, index: s.at[k], header: r.header[s.at[k]]}, raw)
		}
		s.raw[ci] = v
	}
	for i := range r.m.filters {
		f := &r.m.filters[i]
		match, err := r.tx.matches(f, s.raw)
		if err != nil {
			return false, &usersync.RowError{File: r.file, Line: r.line, Err: &RuleError{Rule: f.name, Err: err}}
		}
		if match == f.exclude {
			r.format.OutOfScope++
			if k := r.rowKey(row); k != "" {
				s.keys = append(s.keys, usersync.OutOfScope{Key: k, Rule: f.name})
			}
			return true, nil
		}
	}
	return false, nil
}

// matches reports whether the filter matches the row whose values it reads
// are in raw.
func (t *transformer) matches(f *filter, raw []string) (bool, error) {
	switch {
	case f.few != nil:
		return indexFold(f.few, raw[f.col]) >= 0, nil
	case f.values != nil:
		_, ok := f.values[string(t.lower(raw[f.col]))]
		return ok, nil
	case f.re != nil:
		return f.re.MatchString(raw[f.col]), nil
	}
	out, err := t.vm.Run(f.prog.prog, t.envFor(f.prog, raw))
	if err != nil {
		return false, fmt.Errorf("%w: %s", ErrExpr, oneLineErr(err))
	}
	b, _ := out.(bool)
	return b, nil
}

// OutOfScope lists the rows the filters left out of scope so far whose key
// could be read, in file order: a reader is a usersync.ScopeReader.
func (r *reader) OutOfScope() []usersync.OutOfScope {
	if r.scope == nil {
		return nil
	}
	return r.scope.keys
}

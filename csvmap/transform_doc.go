package csvmap

import (
	"fmt"
	"slices"
	"strings"
)

// stepsRule describes what the Transforms of c do, for the description
// (see Mapper.WriteDescription); "" without Transforms.
func (m *Mapper) stepsRule(c *column) string {
	if len(c.steps) == 0 {
		return ""
	}
	parts := make([]string, len(c.steps))
	for i := range c.steps {
		parts[i] = m.describeStep(&c.steps[i], &c.Transforms[i])
	}
	return "Rewritten before it is checked: " + strings.Join(parts, "; then ") + "."
}

// maxMapShown bounds the pairs of a value map a description lists.
const maxMapShown = 8

func (m *Mapper) describeStep(s *step, t *Transform) string {
	switch s.kind {
	case stepMap:
		keys := make([]string, 0, len(t.Map))
		for k := range t.Map {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		pairs := make([]string, 0, min(len(keys), maxMapShown))
		for _, k := range keys[:min(len(keys), maxMapShown)] {
			pairs = append(pairs, fmt.Sprintf("%q → %q", k, t.Map[k]))
		}
		d := "words mapped, in any case: " + strings.Join(pairs, ", ")
		if len(keys) > maxMapShown {
			d += fmt.Sprintf(" and %d more", len(keys)-maxMapShown)
		}
		switch {
		case t.Reject:
			return d + "; any other value is refused"
		case t.Else != "":
			return d + fmt.Sprintf("; any other value becomes %q", t.Else)
		}
		return d + "; other values are kept"
	case stepTemplate:
		return fmt.Sprintf("made as %q from other columns", t.Template)
	case stepEmailLocal:
		return "the part of an email address before the @"
	case stepTrim:
		return "runs of spaces closed up"
	case stepCase:
		return map[Case]string{Lower: "lower-cased", Upper: "upper-cased", Title: "in title case (Ann-Marie O'Neil)"}[s.cas]
	case stepExtract:
		return fmt.Sprintf("the part that %s captures", t.Extract)
	case stepLastFirst:
		return `"Last, First" written "First Last"`
	case stepDate:
		return "a date written " + strings.Join(t.Date, " or ") + ", stored as 2006-01-02"
	case stepDefaultFrom:
		return "when empty, the value of " + m.cols[s.from].header()
	}
	return "made by the expression " + t.Expr
}

// filterRules describes the schema's filters, for the description.
func (m *Mapper) filterRules() []string {
	var rules []string
	for i := range m.filters {
		f := &m.filters[i]
		var test string
		switch {
		case f.values != nil:
			vals := make([]string, 0, len(f.shown))
			for _, v := range f.shown {
				vals = append(vals, fmt.Sprintf("%q", v))
			}
			test = m.cols[f.col].header() + " is " + strings.Join(vals, " or ")
		case f.re != nil:
			test = m.cols[f.col].header() + " matches " + f.re.String()
		default:
			test = f.prog.src
		}
		verb := "Only rows where %s are synced"
		if f.exclude {
			verb = "Rows where %s are left out of the sync"
		}
		rules = append(rules, fmt.Sprintf(verb+" (rule %s): they are counted, not imported, and not errors.", test, f.name))
	}
	return rules
}

package config

import (
	"fmt"
	"slices"
	"sort"

	"github.com/usersync/usersync/csvmap"
)

// Transform rewrites a column's value; see csvmap.Transform. Give one rule
// per transform: map (with else or reject), template, email_local, trim,
// case, extract, last_first, date, default_from or expr.
type Transform struct {
	Rule        string            `yaml:"rule"`
	Map         map[string]string `yaml:"map"`
	Else        string            `yaml:"else"`
	Reject      bool              `yaml:"reject"`
	Template    string            `yaml:"template"`
	EmailLocal  bool              `yaml:"email_local"`
	Trim        bool              `yaml:"trim"`
	Case        Case              `yaml:"case"`
	Extract     string            `yaml:"extract"`
	LastFirst   bool              `yaml:"last_first"`
	Date        []string          `yaml:"date"`
	DefaultFrom string            `yaml:"default_from"`
	Expr        string            `yaml:"expr"`
}

// Case is lower, upper or title.
type Case struct{ V csvmap.Case }

// UnmarshalText parses the word.
func (c *Case) UnmarshalText(b []byte) (err error) {
	c.V, err = parseEnum(string(b), map[string]csvmap.Case{
		"lower": csvmap.Lower, "upper": csvmap.Upper, "title": csvmap.Title})
	return err
}

// Filter sets the sync's scope; see csvmap.Filter. Rows it leaves out are
// counted as out of scope, neither rejected nor leavers.
type Filter struct {
	Name    string     `yaml:"name"`
	Mode    FilterMode `yaml:"mode"`
	Column  string     `yaml:"column"`
	Values  []string   `yaml:"values"`
	Pattern string     `yaml:"pattern"`
	Expr    string     `yaml:"expr"`
}

// FilterMode is include or exclude.
type FilterMode struct{ V csvmap.FilterMode }

// UnmarshalText parses the word.
func (m *FilterMode) UnmarshalText(b []byte) (err error) {
	m.V, err = parseEnum(string(b), map[string]csvmap.FilterMode{
		"include": csvmap.Include, "exclude": csvmap.Exclude})
	return err
}

func (t *Transform) transform() csvmap.Transform {
	return csvmap.Transform{
		Rule: t.Rule, Map: t.Map, Else: t.Else, Reject: t.Reject, Template: t.Template,
		EmailLocal: t.EmailLocal, Trim: t.Trim, Case: t.Case.V, Extract: t.Extract,
		LastFirst: t.LastFirst, Date: t.Date, DefaultFrom: t.DefaultFrom, Expr: t.Expr,
	}
}

// keyError is a problem with the value at a key below the schema's.
type keyError struct {
	key string
	err error
}

func (e *keyError) Error() string { return e.key + ": " + e.err.Error() }
func (e *keyError) Unwrap() error { return e.err }

// applyTransforms adds the transforms and filters of s to sc: transforms
// by column name, after any the column has (a preset's column keeps its
// own).
func (s *SchemaSpec) applyTransforms(sc *csvmap.Schema) error {
	names := make([]string, 0, len(s.Transforms))
	for name := range s.Transforms {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		j := indexColumn(sc.Columns, name)
		if j < 0 {
			return &keyError{"transforms." + name, fmt.Errorf("no column of the schema is named %q", name)}
		}
		c := &sc.Columns[j]
		c.Transforms = slices.Clone(c.Transforms)
		for i := range s.Transforms[name] {
			c.Transforms = append(c.Transforms, s.Transforms[name][i].transform())
		}
	}
	for i := range s.Filters {
		f := &s.Filters[i]
		sc.Filters = append(sc.Filters, csvmap.Filter{
			Name: f.Name, Mode: f.Mode.V, Column: f.Column, Values: f.Values, Pattern: f.Pattern, Expr: f.Expr,
		})
	}
	return nil
}

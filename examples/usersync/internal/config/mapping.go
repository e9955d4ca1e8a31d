package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
)

// Mapping says how the CSV files are read.
type Mapping struct {
	SchemaSpec `yaml:",inline"`
	// Routes read each file with the schema its name calls for, such as
	// students.csv and staff.csv; a schema given beside them reads the
	// files no route matches.
	Routes []Route `yaml:"routes"`

	// Delimiter is auto (the default) or the delimiter: ",", ";", tab.
	Delimiter Delimiter `yaml:"delimiter"`
	// Encoding names the files' encoding when they cannot say it, such
	// as windows-1252; UTF-8 and UTF-16 are detected.
	Encoding string `yaml:"encoding"`
	// PhoneRegion is the region of phone numbers written without a
	// country code, such as SE.
	PhoneRegion string `yaml:"phone_region"`
	// TimeZone is the zone of timestamps written without one; UTC by
	// default.
	TimeZone      *Location `yaml:"time_zone"`
	MaxFieldSize  Size      `yaml:"max_field_size"`
	MaxRecordSize Size      `yaml:"max_record_size"`
	MaxFileSize   Size      `yaml:"max_file_size"`
	MaxRows       int       `yaml:"max_rows"`
	// Hold fails a whole file in which too many rows are rejected.
	Hold *Hold `yaml:"hold"`
	// OneRoster reads the files as a OneRoster CSV bundle, instead of a
	// schema; see oneroster.go.
	OneRoster *OneRoster `yaml:"oneroster"`
	// Excel says how .xlsx workbooks are read (see excel.go).
	Excel *Excel `yaml:"excel"`

	delta bool // policy.mode is delta: the bundle must be too
}

// SchemaSpec is a schema: a preset, columns, or a preset with columns
// added or replaced.
type SchemaSpec struct {
	// Preset is cosafe, opensense, smartfense, sis_students or sis_staff.
	Preset string `yaml:"preset"`
	// Columns are the columns of the files; with a preset, a column of
	// the preset's name replaces it, and others are added.
	Columns []Column `yaml:"columns"`
	// Strict fails a file that holds a column the schema does not list.
	Strict bool `yaml:"strict"`
	// Headers is any (the default) or lower_snake (Opensense's rule).
	Headers *HeaderRule `yaml:"headers"`
	// Name names the files the schema reads, for descriptions.
	Name string `yaml:"name"`
	// File is users (the default), groups or memberships: see FileKind.
	File FileKind `yaml:"file"`
	// Transforms rewrite the values of columns, by column name, in order:
	// status words mapped, "Last, First" names turned, a username taken
	// from the email. A preset's columns take them too.
	Transforms map[string][]Transform `yaml:"transforms"`
	// Filters set the sync's scope: the rows they leave out are counted,
	// neither rejected nor leavers.
	Filters []Filter `yaml:"filters"`
}

func (s *SchemaSpec) isSet() bool { return s.Preset != "" || len(s.Columns) > 0 }

// Route reads the files whose name matches Pattern with its own schema.
type Route struct {
	Pattern    string `yaml:"pattern"`
	SchemaSpec `yaml:",inline"`
}

// Column is one column of the files; see csvmap.Column.
type Column struct {
	Name        string   `yaml:"name"`
	Header      string   `yaml:"header"`
	Aliases     []string `yaml:"aliases"`
	Role        Role     `yaml:"role"`
	Kind        Kind     `yaml:"kind"`
	Required    bool     `yaml:"required"`
	Separator   string   `yaml:"separator"`
	Fold        bool     `yaml:"fold"`
	MinLen      int      `yaml:"min_len"`
	MaxLen      int      `yaml:"max_len"`
	Values      []string `yaml:"values"`
	Layouts     []string `yaml:"layouts"`
	From        []string `yaml:"from"`
	Default     string   `yaml:"default"`
	Description string   `yaml:"description"`
	Example     string   `yaml:"example"`
}

// Hold is a per-file error policy: a file with more rejected rows than
// Rows, or than Percent of its rows, fails as a whole.
type Hold struct {
	Rows    *Limit   `yaml:"rows"`
	Percent *Percent `yaml:"percent"`
}

func (c *Column) column() csvmap.Column {
	return csvmap.Column{
		Name: c.Name, Header: c.Header, Aliases: c.Aliases, Role: c.Role.V, Kind: c.Kind.V,
		Required: c.Required, Separator: c.Separator, Fold: c.Fold, MinLen: c.MinLen, MaxLen: c.MaxLen,
		Values: c.Values, Layouts: c.Layouts, From: c.From, Default: c.Default,
		Description: c.Description, Example: c.Example,
	}
}

var presets = map[string]func() csvmap.Schema{"cosafe": csvmap.Cosafe, "opensense": csvmap.Opensense,
	"smartfense": csvmap.Smartfense, "sis_students": csvmap.SISStudents, "sis_staff": csvmap.SISStaff}

// schema builds the csvmap.Schema of s.
func (s *SchemaSpec) schema() (csvmap.Schema, error) {
	var sc csvmap.Schema
	if s.Preset != "" {
		preset, err := parseEnum(s.Preset, presets)
		if err != nil {
			return sc, err // the caller names the key: mapping.preset
		}
		sc = preset()
	}
	for i := range s.Columns {
		c := s.Columns[i].column()
		if j := indexColumn(sc.Columns, c.Name); j >= 0 {
			sc.Columns[j] = c
		} else {
			sc.Columns = append(sc.Columns, c)
		}
	}
	if s.Headers != nil {
		sc.Headers = s.Headers.V
	}
	sc.Strict = sc.Strict || s.Strict
	if s.Name != "" {
		sc.Name = s.Name
	}
	sc.File = s.File.V
	return sc, s.applyTransforms(&sc)
}

func indexColumn(cols []csvmap.Column, name string) int {
	for i := range cols {
		if strings.EqualFold(cols[i].Name, name) {
			return i
		}
	}
	return -1
}

func (m *Mapping) options() *csvmap.Options {
	o := &csvmap.Options{
		Comma: m.Delimiter.V, Encoding: m.Encoding, PhoneRegion: m.PhoneRegion,
		MaxFieldBytes: int(m.MaxFieldSize), MaxRecordBytes: int(m.MaxRecordSize),
		MaxFileBytes: int64(m.MaxFileSize), MaxRows: m.MaxRows,
	}
	if m.TimeZone != nil {
		o.Location = m.TimeZone.Location
	}
	if m.Hold != nil {
		o.Hold = &csvmap.HoldPolicy{Rows: -1, Percent: -1}
		if m.Hold.Rows != nil {
			o.Hold.Rows = int(*m.Hold.Rows)
		}
		if m.Hold.Percent != nil {
			o.Hold.Percent = float64(*m.Hold.Percent)
		}
	}
	return o
}

// build checks the mapping section and makes its Mapper, reporting each
// problem at the key it comes from.
func (m *Mapping) build(c *checker) usersync.Mapper {
	if m.OneRoster != nil {
		return m.buildOneRoster(c)
	}
	if !m.isSet() && len(m.Routes) == 0 {
		c.errorf("mapping", "give a preset (cosafe, opensense or smartfense) or the columns of the files")
		return nil
	}
	if m.Hold != nil && m.Hold.Rows == nil && m.Hold.Percent == nil {
		c.errorf("mapping.hold", "give rows, percent or both")
	}
	m.checkFileKind(c)
	opts := m.options()
	if len(m.Routes) == 0 {
		if mp := buildMapper(c, "mapping", &m.SchemaSpec, opts); mp != nil {
			return m.excelMapper(c, mp)
		}
		return nil
	}
	routes := make([]csvmap.Route, 0, len(m.Routes)+1)
	for i := range m.Routes {
		r := &m.Routes[i]
		path := fmt.Sprintf("mapping.routes[%d]", i)
		if r.Pattern == "" {
			c.errorf(path, "give the pattern of the files the route reads, such as students*.csv")
		}
		if !r.isSet() {
			c.errorf(path, "give a preset or the columns of the route's files")
			continue
		}
		if mp := buildMapper(c, path, &r.SchemaSpec, opts); mp != nil {
			routes = append(routes, csvmap.Route{Pattern: r.Pattern, Mapper: m.excelMapper(c, mp)})
		}
	}
	if m.isSet() {
		if mp := buildMapper(c, "mapping", &m.SchemaSpec, opts); mp != nil {
			routes = append(routes, csvmap.Route{Pattern: "*", Mapper: m.excelMapper(c, mp)})
		}
	}
	if c.failed() {
		return nil
	}
	b, err := csvmap.NewByName(routes...)
	if err != nil {
		c.fail("mapping.routes", err)
		return nil
	}
	return b
}

func buildMapper(c *checker, path string, s *SchemaSpec, opts *csvmap.Options) *csvmap.Mapper {
	sc, err := s.schema()
	if ke := (*keyError)(nil); errors.As(err, &ke) {
		c.fail(path+"."+ke.key, ke.err)
		return nil
	}
	if err != nil {
		c.fail(path+".preset", err)
		return nil
	}
	mp, err := csvmap.New(sc, opts)
	if err != nil {
		at := path
		switch msg := err.Error(); {
		case strings.HasPrefix(msg, "csvmap: filter"):
			at = path + ".filters"
		case strings.Contains(msg, ": transform ") && len(s.Transforms) > 0:
			at = path + ".transforms"
		case len(s.Columns) > 0:
			at = path + ".columns"
		}
		c.fail(at, trimPrefix(err, "csvmap: "))
		return nil
	}
	return mp
}

// trimPrefix drops a package's prefix from an error message, which the key
// path already places.
func trimPrefix(err error, prefix string) error {
	msg := err.Error()
	if strings.HasPrefix(msg, prefix) {
		return fmt.Errorf("%s", strings.TrimPrefix(msg, prefix))
	}
	return err
}

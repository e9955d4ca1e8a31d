package csvmap

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/usersync/usersync"
)

// A Route sends the files whose name matches Pattern to Mapper.
type Route struct {
	// Pattern is a path.Match pattern for the file's base name, matched
	// ignoring case, since exporters differ in it: "students*.csv" matches
	// Students_2025.CSV.
	Pattern string
	Mapper  usersync.Mapper
}

// ByName is a usersync.Mapper that reads each file with the Mapper of the
// first Route its name matches, so that one pipeline reads a school
// information system's students.csv and staff.csv, each with the required
// fields of its own schema.
//
// A file that no route matches fails with ErrNoSchema: a misnamed export is
// then noticed, not silently left out (which would deactivate its users).
// Leave files out in the Source to ignore them.
type ByName struct {
	routes []Route
}

var _ usersync.Mapper = (*ByName)(nil)

// NewByName returns a ByName of the routes, in order. It checks that each
// route has a valid pattern and a Mapper.
func NewByName(routes ...Route) (*ByName, error) {
	if len(routes) == 0 {
		return nil, errors.New("csvmap: NewByName without routes")
	}
	b := &ByName{routes: make([]Route, len(routes))}
	for i, rt := range routes {
		if rt.Mapper == nil {
			return nil, fmt.Errorf("csvmap: route %q has no Mapper", rt.Pattern)
		}
		rt.Pattern = strings.ToLower(rt.Pattern)
		if _, err := path.Match(rt.Pattern, ""); err != nil {
			return nil, fmt.Errorf("csvmap: route pattern %q: %w", routes[i].Pattern, err)
		}
		b.routes[i] = rt
	}
	return b, nil
}

// Match returns the Mapper for the file name, or nil if no route matches.
func (b *ByName) Match(name string) usersync.Mapper {
	base := strings.ToLower(path.Base(name))
	for _, rt := range b.routes {
		if ok, _ := path.Match(rt.Pattern, base); ok { // patterns were checked
			return rt.Mapper
		}
	}
	return nil
}

// NewReader reads the file with the Mapper its name routes it to.
func (b *ByName) NewReader(r io.Reader, f usersync.FileInfo) (usersync.RecordReader, error) {
	m := b.Match(f.Name)
	if m == nil {
		patterns := make([]string, len(b.routes))
		for i, rt := range b.routes {
			patterns[i] = quote(rt.Pattern)
		}
		return nil, fmt.Errorf("%w: %s matches none of %s", ErrNoSchema, quote(path.Base(f.Name)), strings.Join(patterns, ", "))
	}
	return m.NewReader(r, f)
}

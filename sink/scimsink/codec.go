package scimsink

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/usersync/usersync"
)

// The schema URNs the Sink reads and writes.
const (
	UserSchema       = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupSchema      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	// SyncSchema is usersync's User extension: managed (boolean),
	// missingRuns and missingSince (integers), and attributes, a list of
	// {name, value} for the usersync attributes no mapping places.
	SyncSchema = "urn:usersync:params:scim:schemas:extension:sync:2.0:User"
	patchOp    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// A Mapping places a usersync attribute in a SCIM User. Path is a SCIM
// attribute path of one of these forms:
//
//	title                                   a simple attribute
//	name.givenName                          a sub-attribute
//	emails[type eq "work"].value            a sub-attribute of the element of a multi-valued attribute with that type
//	urn:...:enterprise:2.0:User:department  any of the above in an extension
type Mapping struct {
	Attr string // usersync attribute name, as a Mapper gives it
	Path string // SCIM attribute path
}

// DefaultAttributes returns the mappings for the attribute names both of
// csvmap's presets use: name, email, title, phone, plus mobile_phone,
// phone2, department, company and employee_number. Other attributes go
// to usersync's extension (see [SyncSchema]) when the server has it.
func DefaultAttributes() []Mapping {
	return []Mapping{
		{"name", "displayName"},
		{"email", `emails[type eq "work"].value`},
		{"title", "title"},
		{"phone", `phoneNumbers[type eq "work"].value`},
		{"mobile_phone", `phoneNumbers[type eq "mobile"].value`},
		{"phone2", `phoneNumbers[type eq "other"].value`},
		{"department", EnterpriseSchema + ":department"},
		{"company", EnterpriseSchema + ":organization"},
		{"employee_number", EnterpriseSchema + ":employeeNumber"},
	}
}

// CosafeAttributes returns DefaultAttributes with the first and last name
// columns of csvmap.Cosafe (firstname, lastname) mapped to name.givenName
// and name.familyName.
func CosafeAttributes() []Mapping {
	return append(DefaultAttributes(), Mapping{"firstname", "name.givenName"}, Mapping{"lastname", "name.familyName"})
}

// OpensenseAttributes returns DefaultAttributes with the first and last
// name columns of csvmap.Opensense (first_name, last_name) mapped to
// name.givenName and name.familyName.
func OpensenseAttributes() []Mapping {
	return append(DefaultAttributes(), Mapping{"first_name", "name.givenName"}, Mapping{"last_name", "name.familyName"})
}

// path is a parsed Mapping.Path.
type path struct {
	attr   string // usersync attribute
	schema string // extension URN, or "" for the core schema
	name   string // SCIM attribute
	typ    string // for name[type eq "typ"]
	sub    string // sub-attribute, or ""
}

func parsePath(m Mapping) (path, error) {
	p := path{attr: m.Attr}
	rest := m.Path
	if strings.HasPrefix(rest, "urn:") {
		i := strings.LastIndex(rest, ":")
		// An attribute name holds no ':', but a filter's value may.
		if j := strings.Index(rest, "["); j >= 0 {
			i = strings.LastIndex(rest[:j], ":")
		}
		p.schema, rest = rest[:i], rest[i+1:]
	}
	if i := strings.Index(rest, "["); i >= 0 {
		j := strings.Index(rest, "]")
		var typ string
		if j < i || !strings.HasPrefix(rest[i+1:j], "type eq ") {
			return p, fmt.Errorf("scimsink: mapping %q: only [type eq \"...\"] filters are supported", m.Path)
		}
		typ, err := strconv.Unquote(strings.TrimPrefix(rest[i+1:j], "type eq "))
		if err != nil {
			return p, fmt.Errorf("scimsink: mapping %q: %w", m.Path, err)
		}
		p.name, p.typ, rest = rest[:i], typ, rest[j+1:]
		if !strings.HasPrefix(rest, ".") {
			return p, fmt.Errorf("scimsink: mapping %q: a filtered attribute needs a sub-attribute, such as .value", m.Path)
		}
		p.sub = rest[1:]
	} else if name, sub, ok := strings.Cut(rest, "."); ok {
		p.name, p.sub = name, sub
	} else {
		p.name = rest
	}
	if m.Attr == "" || p.name == "" {
		return p, fmt.Errorf("scimsink: mapping %+v: empty attribute", m)
	}
	return p, nil
}

// resource is a SCIM resource as JSON decodes it.
type resource = map[string]any

// container returns the map p's attribute lives in, creating it in res if
// create is set.
func (p *path) container(res resource, create bool) resource {
	if p.schema == "" {
		return res
	}
	ext, _ := res[p.schema].(map[string]any)
	if ext == nil && create {
		ext = map[string]any{}
		res[p.schema] = ext
	}
	return ext
}

// list returns a multi-valued attribute's elements. A provider that gives
// a single value as an object rather than a list of one (a quirk of some)
// gets it read as the list of one.
func list(v any) []any {
	switch v := v.(type) {
	case []any:
		return v
	case map[string]any:
		return []any{v}
	}
	return nil
}

// str renders a JSON scalar as a usersync value.
func str(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// get reads p's value from res.
func (p *path) get(res resource) (string, bool) {
	c := p.container(res, false)
	if c == nil {
		return "", false
	}
	v, ok := c[p.name]
	if !ok {
		return "", false
	}
	if p.typ != "" {
		for _, e := range list(v) {
			if m, ok := e.(map[string]any); ok && m["type"] == p.typ {
				return str(m[p.sub])
			}
		}
		return "", false
	}
	if p.sub != "" {
		m, _ := v.(map[string]any)
		return str(m[p.sub])
	}
	return str(v)
}

// set writes value at p in res, which the caller owns.
func (p *path) set(res resource, value string) {
	c := p.container(res, true)
	switch {
	case p.typ != "":
		l := slices.Clone(list(c[p.name]))
		for _, e := range l {
			if m, ok := e.(map[string]any); ok && m["type"] == p.typ {
				m[p.sub] = value
				c[p.name] = l
				return
			}
		}
		e := map[string]any{"type": p.typ, p.sub: value}
		if len(l) == 0 {
			e["primary"] = true
		}
		c[p.name] = append(l, e)
	case p.sub != "":
		m, _ := c[p.name].(map[string]any)
		if m == nil {
			m = map[string]any{}
			c[p.name] = m
		}
		m[p.sub] = value
	default:
		c[p.name] = value
	}
}

// deepClone copies a JSON value so that changing the copy leaves v as is.
func deepClone(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = deepClone(x)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = deepClone(x)
		}
		return l
	}
	return v
}

func cloneResource(r resource) resource {
	if r == nil {
		return resource{}
	}
	return deepClone(r).(map[string]any)
}

// boolean reads a boolean, which some providers send as a string
// ("True", "false").
func boolean(v any, def bool) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		if b, err := strconv.ParseBool(strings.ToLower(v)); err == nil {
			return b
		}
	}
	return def
}

// integer reads a JSON number, or a number given as a string.
func integer(v any) int64 {
	switch v := v.(type) {
	case float64:
		return int64(v)
	case json.Number:
		n, _ := v.Int64()
		return n
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return 0
}

// extAttrs returns the {name, value} list of usersync's extension.
func extAttrs(res resource) []any {
	ext, _ := res[SyncSchema].(map[string]any)
	return list(ext["attributes"])
}

// codec converts between Records and SCIM Users.
type codec struct {
	paths    []path
	byAttr   map[string]*path
	userName string // attribute giving userName, or "" for the key
	ext      bool   // usersync's extension is available
}

func newCodec(ms []Mapping, userName string, ext bool) (*codec, error) {
	c := &codec{byAttr: map[string]*path{}, userName: userName, ext: ext}
	seen := map[string]string{}
	for _, m := range ms {
		p, err := parsePath(m)
		if err != nil {
			return nil, err
		}
		if _, dup := c.byAttr[m.Attr]; dup {
			return nil, fmt.Errorf("scimsink: attribute %q is mapped twice", m.Attr)
		}
		if other, dup := seen[m.Path]; dup {
			return nil, fmt.Errorf("scimsink: attributes %q and %q are mapped to the same path %q", other, m.Attr, m.Path)
		}
		seen[m.Path] = m.Attr
		c.paths = append(c.paths, p)
	}
	for i := range c.paths {
		c.byAttr[c.paths[i].attr] = &c.paths[i]
	}
	return c, nil
}

// key returns the usersync key of a User: its externalId, or its userName
// for a user without one (made by hand).
func key(res resource) string {
	if k, ok := res["externalId"].(string); ok && k != "" {
		return k
	}
	k, _ := res["userName"].(string)
	return k
}

// layouts shares one Layout between users with the same attribute names.
type layouts map[string]*usersync.Layout

func (l layouts) make(names, values []string) usersync.Attrs {
	id := strings.Join(names, "\x00")
	lay, ok := l[id]
	if !ok {
		lay = usersync.NewLayout(names...)
		l[id] = lay
	}
	return lay.Make(values)
}

// record decodes a User. groups are the external IDs of its groups;
// managed and the marker come from the extension, or from fallback when
// the extension is not in use.
func (c *codec) record(res resource, groups []string, lay layouts) usersync.Record {
	r := usersync.Record{Key: key(res), Groups: groups}
	var names, values []string
	seen := map[string]bool{}
	for i := range c.paths {
		if v, ok := c.paths[i].get(res); ok {
			names, values = append(names, c.paths[i].attr), append(values, v)
			seen[c.paths[i].attr] = true
		}
	}
	for _, e := range extAttrs(res) {
		m, _ := e.(map[string]any)
		n, _ := m["name"].(string)
		v, _ := m["value"].(string)
		if n != "" && !seen[n] {
			names, values = append(names, n), append(values, v)
			seen[n] = true
		}
	}
	if len(names) > 0 {
		r.Attrs = lay.make(names, values)
	}
	r.Inactive = !boolean(res["active"], true)
	if c.ext {
		ext, _ := res[SyncSchema].(map[string]any)
		r.Managed = boolean(ext["managed"], false)
		r.MissingRuns = uint16(integer(ext["missingRuns"]))
		r.MissingSince = integer(ext["missingSince"])
	} else {
		ext, _ := res["externalId"].(string)
		r.Managed = ext != ""
	}
	return r
}

// setAttr writes one usersync attribute into res.
func (c *codec) setAttr(res resource, name, value string) error {
	if p := c.byAttr[name]; p != nil {
		p.set(res, value)
	} else if c.ext {
		ext, _ := res[SyncSchema].(map[string]any)
		if ext == nil {
			ext = map[string]any{}
			res[SyncSchema] = ext
		}
		l := slices.Clone(list(ext["attributes"]))
		found := false
		for i, e := range l {
			if m, ok := e.(map[string]any); ok && m["name"] == name {
				l[i] = map[string]any{"name": name, "value": value}
				found = true
			}
		}
		if !found {
			l = append(l, map[string]any{"name": name, "value": value})
		}
		ext["attributes"] = l
	} else {
		return fmt.Errorf("scimsink: attribute %q has no mapping, and the server has no usersync extension to keep it in", name)
	}
	if name == c.userName && value != "" {
		res["userName"] = value
	}
	return nil
}

// setSync writes the extension's fields, when it is in use.
func (c *codec) setSync(res resource, managed bool, runs uint16, since int64) {
	if !c.ext {
		return
	}
	ext, _ := res[SyncSchema].(map[string]any)
	if ext == nil {
		ext = map[string]any{}
		res[SyncSchema] = ext
	}
	ext["managed"] = managed
	ext["missingRuns"] = float64(runs)
	ext["missingSince"] = float64(since)
}

// writable returns res without the attributes a client must not send,
// with its schemas listed.
func (c *codec) writable(res resource) resource {
	out := maps.Clone(res)
	for _, k := range []string{"id", "meta", "groups", "schemas"} {
		delete(out, k)
	}
	schemas := []any{UserSchema}
	for _, s := range []string{EnterpriseSchema, SyncSchema} {
		if _, ok := out[s]; ok {
			schemas = append(schemas, s)
		}
	}
	out["schemas"] = schemas
	return out
}

// patchOps returns the operations that turn old into new: a replace of
// each changed top-level attribute, or of each changed attribute of an
// extension. With noPath, it returns one replace without a path whose
// value holds them all, for providers that take no paths.
func patchOps(old, new resource, noPath bool) []any {
	var ops []any
	value := map[string]any{}
	keys := slices.Sorted(maps.Keys(new))
	for _, k := range keys {
		if k == "id" || k == "meta" || k == "groups" || k == "schemas" {
			continue
		}
		nv, ov := new[k], old[k]
		if strings.HasPrefix(k, "urn:") {
			nm, _ := nv.(map[string]any)
			om, _ := ov.(map[string]any)
			changed := map[string]any{}
			for _, sk := range slices.Sorted(maps.Keys(nm)) {
				if !reflect.DeepEqual(nm[sk], om[sk]) {
					changed[sk] = nm[sk]
					ops = append(ops, map[string]any{"op": "replace", "path": k + ":" + sk, "value": nm[sk]})
				}
			}
			if len(changed) > 0 {
				value[k] = changed
			}
			continue
		}
		if !reflect.DeepEqual(nv, ov) {
			value[k] = nv
			ops = append(ops, map[string]any{"op": "replace", "path": k, "value": nv})
		}
	}
	if noPath && len(ops) > 0 {
		return []any{map[string]any{"op": "replace", "value": value}}
	}
	return ops
}

// escape quotes s for a SCIM filter.
func escape(s string) string {
	b, _ := marshal(s)
	return string(b)
}

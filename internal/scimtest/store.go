package scimtest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	scim "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	filter "github.com/scim2/filter-parser/v2"
)

// A Resource is a stored User or Group: its server-assigned ID, its
// externalId, its attributes as the SCIM JSON holds them (extension
// attributes under the extension's URN), and its version.
type Resource struct {
	ID         string
	ExternalID string
	Attrs      map[string]any
	Version    int
}

// store holds one resource type's resources in memory.
type store struct {
	mu      *sync.Mutex // shared by users and groups
	kind    string      // "User" or "Group"
	prefix  string      // of IDs
	next    *int
	items   map[string]*Resource
	created time.Time
	// unique names the attribute that must be unique, compared without
	// regard to case: userName, displayName for groups (none).
	unique string
	srv    *Server
	// Indexes: externalId → ID, lower-case unique attribute → ID, and IDs
	// in creation order (which is ID order).
	byExt  map[string]string
	byName map[string]string
	order  []string
	dead   int // deleted IDs still in order
}

// index adds r to the indexes; unindex removes it.
func (s *store) index(r *Resource) {
	if r.ExternalID != "" {
		s.byExt[r.ExternalID] = r.ID
	}
	if s.unique != "" {
		if n, _ := r.Attrs[s.unique].(string); n != "" {
			s.byName[strings.ToLower(n)] = r.ID
		}
	}
	if s.kind == "Group" {
		s.srv.indexMembers(r, true)
	}
}

func (s *store) unindex(r *Resource) {
	if s.byExt[r.ExternalID] == r.ID {
		delete(s.byExt, r.ExternalID)
	}
	if s.unique != "" {
		n, _ := r.Attrs[s.unique].(string)
		if s.byName[strings.ToLower(n)] == r.ID {
			delete(s.byName, strings.ToLower(n))
		}
	}
	if s.kind == "Group" {
		s.srv.indexMembers(r, false)
	}
}

// store puts r in place of the resource with its ID, if any.
func (s *store) store(r *Resource) {
	if old, ok := s.items[r.ID]; ok {
		s.unindex(old)
	} else {
		s.order = append(s.order, r.ID)
	}
	s.items[r.ID] = r
	s.index(r)
}

func (s *store) remove(id string) {
	if old, ok := s.items[id]; ok {
		s.unindex(old)
		delete(s.items, id)
		s.dead++
	}
	if s.dead > len(s.order)/2 {
		s.order = slices.DeleteFunc(s.order, func(id string) bool { _, ok := s.items[id]; return !ok })
		s.dead = 0
	}
}

// indexMembers adds a group's members to the membership index, or
// removes them.
func (srv *Server) indexMembers(g *Resource, add bool) {
	list, _ := g.Attrs["members"].([]any)
	for _, x := range list {
		m, _ := x.(map[string]any)
		id, _ := m["value"].(string)
		set := srv.memberOf[id]
		if add {
			if set == nil {
				set = map[string]bool{}
				srv.memberOf[id] = set
			}
			set[g.ID] = true
		} else if set != nil {
			delete(set, g.ID)
		}
	}
}

func (s *store) newID() string {
	*s.next++
	return fmt.Sprintf("%s%06d", s.prefix, *s.next)
}

// clone deep-copies a JSON value.
func clone(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = clone(x)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = clone(x)
		}
		return l
	case []map[string]any:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = clone(x)
		}
		return l
	}
	return v
}

func (r *Resource) clone() *Resource {
	c := *r
	c.Attrs = clone(r.Attrs).(map[string]any)
	return &c
}

func (r *Resource) etag() string { return `W/"` + strconv.Itoa(r.Version) + `"` }

// resource converts r for the elimity handler; the caller holds the lock.
func (s *store) resource(r *Resource) scim.Resource {
	attrs := clone(r.Attrs).(map[string]any)
	if s.kind == "User" {
		attrs["groups"] = s.srv.groupsOf(r.ID)
	}
	res := scim.Resource{ID: r.ID, Attributes: attrs, Meta: scim.Meta{Created: &s.created, LastModified: &s.created}}
	if r.ExternalID != "" {
		res.ExternalID = optional.NewString(r.ExternalID)
	}
	if s.srv.opts.ETags {
		res.Meta.Version = r.etag()
	}
	return res
}

// filterable is r as a filter sees it, with id and externalId.
func (s *store) filterable(r *Resource) map[string]any {
	m := clone(r.Attrs).(map[string]any)
	m["id"] = r.ID
	if r.ExternalID != "" {
		m["externalId"] = r.ExternalID
	}
	return m
}

// takeExternalID moves externalId out of attrs.
func takeExternalID(attrs map[string]any) string {
	v, _ := attrs["externalId"].(string)
	delete(attrs, "externalId")
	delete(attrs, "id")
	delete(attrs, "meta")
	delete(attrs, "schemas")
	delete(attrs, "groups")
	return v
}

// checkUnique fails if another resource has r's unique attribute or
// externalId.
func (s *store) checkUnique(r *Resource) error {
	if s.srv.opts.NoUniqueness {
		return nil
	}
	if id, ok := s.byExt[r.ExternalID]; ok && r.ExternalID != "" && id != r.ID {
		return scimerrors.ScimErrorUniqueness
	}
	if s.unique == "" {
		return nil
	}
	name, _ := r.Attrs[s.unique].(string)
	if id, ok := s.byName[strings.ToLower(name)]; ok && id != r.ID {
		return scimerrors.ScimErrorUniqueness
	}
	return nil
}

func (s *store) create(attrs map[string]any) (*Resource, error) {
	attrs = clone(map[string]any(attrs)).(map[string]any)
	r := &Resource{ExternalID: takeExternalID(attrs), Attrs: attrs, Version: 1}
	if s.kind == "Group" {
		if err := s.srv.normalizeMembers(r); err != nil {
			return nil, err
		}
	}
	if err := s.checkUnique(r); err != nil {
		return nil, err
	}
	r.ID = s.newID()
	s.store(r)
	return r, nil
}

func (s *store) get(id string) (*Resource, error) {
	r, ok := s.items[id]
	if !ok {
		return nil, scimerrors.ScimErrorResourceNotFound(id)
	}
	return r, nil
}

// ifMatch checks the request's If-Match against r's version.
func (s *store) ifMatch(header string, r *Resource) error {
	if header == "" || header == "*" || !s.srv.opts.ETags {
		return nil
	}
	if header != r.etag() {
		return scimerrors.ScimError{Status: 412, Detail: "version mismatch"}
	}
	return nil
}

func (s *store) replace(id, ifMatch string, attrs map[string]any) (*Resource, error) {
	old, err := s.get(id)
	if err != nil {
		return nil, err
	}
	if err := s.ifMatch(ifMatch, old); err != nil {
		return nil, err
	}
	attrs = clone(map[string]any(attrs)).(map[string]any)
	r := &Resource{ID: id, ExternalID: takeExternalID(attrs), Attrs: attrs, Version: old.Version + 1}
	if s.kind == "Group" {
		if err := s.srv.normalizeMembers(r); err != nil {
			return nil, err
		}
	}
	if err := s.checkUnique(r); err != nil {
		return nil, err
	}
	s.store(r)
	return r, nil
}

func (s *store) delete(id, ifMatch string) error {
	r, err := s.get(id)
	if err != nil {
		return err
	}
	if err := s.ifMatch(ifMatch, r); err != nil {
		return err
	}
	s.remove(id)
	if s.kind == "User" {
		for gid := range s.srv.memberOf[id] {
			g := s.srv.groups.items[gid].clone()
			removeMembers(g, func(m map[string]any) bool { return m["value"] == id })
			g.Version++
			s.srv.groups.store(g)
		}
		delete(s.srv.memberOf, id)
	}
	return nil
}

func (s *store) patch(id, ifMatch string, ops []scim.PatchOperation) (*Resource, error) {
	old, err := s.get(id)
	if err != nil {
		return nil, err
	}
	if err := s.ifMatch(ifMatch, old); err != nil {
		return nil, err
	}
	r := old.clone()
	for _, op := range ops {
		if err := s.applyOp(r, op); err != nil {
			return nil, err
		}
	}
	if s.kind == "Group" {
		if err := s.srv.normalizeMembers(r); err != nil {
			return nil, err
		}
	}
	if err := s.checkUnique(r); err != nil {
		return nil, err
	}
	r.Version++
	s.store(r)
	return r, nil
}

// applyOp applies one PATCH operation to r.
func (s *store) applyOp(r *Resource, op scim.PatchOperation) error {
	if op.Path == nil {
		m, ok := op.Value.(map[string]any)
		if !ok {
			return scimerrors.ScimErrorInvalidValue
		}
		for k, v := range m {
			if strings.HasPrefix(k, "urn:") && strings.Contains(k, ":schemas:extension:") {
				if sub, ok := v.(map[string]any); ok {
					ext, _ := r.Attrs[k].(map[string]any)
					if ext == nil {
						ext = map[string]any{}
					}
					for sk, sv := range sub {
						ext[sk] = sv
					}
					r.Attrs[k] = ext
					continue
				}
			}
			if err := s.set(r, op.Op, splitPath(k), nil, v); err != nil {
				return err
			}
		}
		return nil
	}
	p := op.Path
	var path []string
	if p.AttributePath.URIPrefix != nil {
		path = append(path, p.AttributePath.URI())
	}
	path = append(path, p.AttributePath.AttributeName)
	if p.AttributePath.SubAttribute != nil {
		path = append(path, *p.AttributePath.SubAttribute)
	}
	if op.Op == scim.PatchOperationRemove {
		return s.removeOp(r, path, p.ValueExpression, p.SubAttribute, op.Value)
	}
	if p.ValueExpression != nil {
		return s.setFiltered(r, path, p.ValueExpression, p.SubAttribute, op.Value)
	}
	return s.set(r, op.Op, path, nil, op.Value)
}

// splitPath splits "name.givenName" (or an extension attribute written
// in full) into its parts.
func splitPath(p string) []string {
	if strings.HasPrefix(p, "urn:") {
		i := strings.LastIndex(p, ":")
		return append([]string{p[:i]}, strings.Split(p[i+1:], ".")...)
	}
	return strings.Split(p, ".")
}

// container returns the map holding the last element of path, creating
// the maps on the way.
func container(attrs map[string]any, path []string) map[string]any {
	m := attrs
	for _, k := range path[:len(path)-1] {
		next, _ := m[k].(map[string]any)
		if next == nil {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	return m
}

func (s *store) set(r *Resource, op string, path []string, _ any, v any) error {
	if len(path) == 1 && path[0] == "externalId" {
		r.ExternalID, _ = v.(string)
		return nil
	}
	m := container(r.Attrs, path)
	last := path[len(path)-1]
	if list, ok := v.([]any); ok && op == scim.PatchOperationAdd {
		cur, _ := m[last].([]any)
		if s.kind == "Group" && last == "members" && s.srv.opts.AddMembersReplaces {
			cur = nil // the quirk: add replaces the members
		}
		for _, x := range list {
			if !slices.ContainsFunc(cur, func(c any) bool { return sameValue(c, x) }) {
				cur = append(cur, x)
			}
		}
		m[last] = cur
		return nil
	}
	if sub, ok := v.(map[string]any); ok && op == scim.PatchOperationAdd {
		cur, _ := m[last].(map[string]any)
		if cur != nil {
			maps.Copy(cur, sub)
			return nil
		}
	}
	m[last] = v
	return nil
}

// sameValue compares two elements of a multi-valued attribute by value.
func sameValue(a, b any) bool {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok && am["value"] != nil {
		return am["value"] == bm["value"]
	}
	aj, _ := json.Marshal(a)
	bj, _ := json.Marshal(b)
	return string(aj) == string(bj)
}

// matches evaluates a simple value filter (attr eq "v", and/or of them)
// on an element of a multi-valued attribute.
func matches(e filter.Expression, elem map[string]any) bool {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		v, ok := elem[e.AttributePath.AttributeName]
		switch e.Operator {
		case filter.PR:
			return ok
		case filter.EQ:
			return ok && fmt.Sprint(v) == fmt.Sprint(e.CompareValue)
		case filter.NE:
			return !ok || fmt.Sprint(v) != fmt.Sprint(e.CompareValue)
		}
		return false
	case *filter.LogicalExpression:
		if e.Operator == filter.AND {
			return matches(e.Left, elem) && matches(e.Right, elem)
		}
		return matches(e.Left, elem) || matches(e.Right, elem)
	}
	return false
}

func (s *store) setFiltered(r *Resource, path []string, e filter.Expression, sub *string, v any) error {
	m := container(r.Attrs, path)
	last := path[len(path)-1]
	list, _ := m[last].([]any)
	found := false
	for i, x := range list {
		elem, ok := x.(map[string]any)
		if !ok || !matches(e, elem) {
			continue
		}
		found = true
		if sub != nil {
			elem[*sub] = v
		} else if nm, ok := v.(map[string]any); ok {
			list[i] = nm
		}
	}
	if !found {
		return scimerrors.ScimErrorNoTarget
	}
	m[last] = list
	return nil
}

func (s *store) removeOp(r *Resource, path []string, e filter.Expression, sub *string, v any) error {
	if len(path) == 1 && path[0] == "externalId" {
		r.ExternalID = ""
		return nil
	}
	m := container(r.Attrs, path)
	last := path[len(path)-1]
	switch {
	case e != nil:
		list, _ := m[last].([]any)
		m[last] = slices.DeleteFunc(list, func(x any) bool {
			elem, ok := x.(map[string]any)
			return ok && matches(e, elem)
		})
	case v != nil:
		// Entra's form: remove the listed values.
		vals, _ := v.([]any)
		list, _ := m[last].([]any)
		m[last] = slices.DeleteFunc(list, func(x any) bool {
			return slices.ContainsFunc(vals, func(y any) bool { return sameValue(x, y) })
		})
	default:
		delete(m, last)
	}
	return nil
}

// removeMembers removes the members of g for which drop says so.
func removeMembers(g *Resource, drop func(map[string]any) bool) {
	list, _ := g.Attrs["members"].([]any)
	g.Attrs["members"] = slices.DeleteFunc(list, func(x any) bool {
		m, ok := x.(map[string]any)
		return ok && drop(m)
	})
}

// normalizeMembers checks that every member of group r is a user the
// server holds, and drops duplicates.
func (srv *Server) normalizeMembers(r *Resource) error {
	list, _ := r.Attrs["members"].([]any)
	var out []any
	seen := map[string]bool{}
	for _, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			return scimerrors.ScimErrorInvalidValue
		}
		id, _ := m["value"].(string)
		if _, ok := srv.users.items[id]; !ok {
			return scimerrors.ScimError{Status: 400, ScimType: "invalidValue", Detail: "no such member " + id}
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, map[string]any{"value": id})
		}
	}
	if out == nil {
		delete(r.Attrs, "members")
	} else {
		r.Attrs["members"] = out
	}
	return nil
}

// groupsOf returns the computed "groups" attribute of a user.
func (srv *Server) groupsOf(userID string) []any {
	out := []any{}
	for _, gid := range slices.Sorted(maps.Keys(srv.memberOf[userID])) {
		g := srv.groups.items[gid]
		out = append(out, map[string]any{"value": gid, "display": g.Attrs["displayName"]})
	}
	return out
}

// sorted returns the resources by ID.
func (s *store) sorted() []*Resource {
	out := make([]*Resource, 0, len(s.items))
	for _, id := range s.order {
		if r, ok := s.items[id]; ok {
			out = append(out, r)
		}
	}
	return out
}

// candidates returns the resources a filter can match, using the indexes
// for externalId and the unique attribute compared with eq (alone or
// joined by or); ok is false if the filter has another form.
func (s *store) candidates(e filter.Expression) (out []*Resource, ok bool) {
	if s.srv.opts.NoUniqueness {
		return nil, false // the indexes hold one resource per value
	}
	switch e := e.(type) {
	case *filter.AttributeExpression:
		v, isStr := e.CompareValue.(string)
		if e.Operator != filter.EQ || !isStr || e.AttributePath.SubAttribute != nil || e.AttributePath.URIPrefix != nil {
			return nil, false
		}
		var id string
		switch {
		case e.AttributePath.AttributeName == "externalId":
			id = s.byExt[v]
		case s.unique != "" && strings.EqualFold(e.AttributePath.AttributeName, s.unique):
			id = s.byName[strings.ToLower(v)]
		default:
			return nil, false
		}
		if r, found := s.items[id]; found {
			return []*Resource{r}, true
		}
		return nil, true
	case *filter.LogicalExpression:
		if e.Operator != filter.OR {
			return nil, false
		}
		l, ok1 := s.candidates(e.Left)
		r, ok2 := s.candidates(e.Right)
		if !ok1 || !ok2 {
			return nil, false
		}
		out = append(l, r...)
		slices.SortFunc(out, func(a, b *Resource) int { return cmp.Compare(a.ID, b.ID) })
		return slices.Compact(out), true
	}
	return nil, false
}

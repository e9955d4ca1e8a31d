package scimsink_test

import (
	"context"
	"testing"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/scimtest"
	"github.com/usersync/usersync/sink/scimsink"
)

// harness reaches the in-process server's store directly, encoding and
// decoding users with the default mapping on its own, so that the suite
// checks the Sink against the server rather than against itself.
type harness struct {
	t    testing.TB
	srv  *scimtest.Server
	opts *scimsink.Options
}

func newHarness(t testing.TB, srvOpts *scimtest.Options, opts *scimsink.Options) *harness {
	return &harness{t: t, srv: scimtest.New(t, srvOpts), opts: opts}
}

func (h *harness) MakeSink(ctx context.Context) (usersync.Sink, error) {
	return scimsink.New(ctx, h.srv.URL, h.opts)
}

func (h *harness) Close() {}

// FoldsCase says the server compares userName, which a key is, without
// regard to case (RFC 7643: userName is not caseExact).
func (h *harness) FoldsCase() bool { return true }

// mapped are the default mapping's attributes the suite uses: usersync
// name → SCIM attribute, and the type of a multi-valued one's element.
var mapped = map[string][2]string{
	"name":  {"displayName", ""},
	"title": {"title", ""},
	"email": {"emails", "work"},
	"phone": {"phoneNumbers", "work"},
}

func encode(r usersync.Record) map[string]any {
	attrs := map[string]any{"userName": r.Key, "active": !r.Inactive}
	var extra []any
	for n, v := range r.Attrs.All() {
		m, ok := mapped[n]
		switch {
		case !ok:
			extra = append(extra, map[string]any{"name": n, "value": v})
		case m[1] == "":
			attrs[m[0]] = v
		default:
			attrs[m[0]] = []any{map[string]any{"type": m[1], "value": v, "primary": true}}
		}
	}
	ext := map[string]any{"managed": r.Managed, "missingRuns": float64(r.MissingRuns), "missingSince": float64(r.MissingSince)}
	if extra != nil {
		ext["attributes"] = extra
	}
	attrs[scimtest.SyncSchema] = ext
	return attrs
}

func decodeUser(res *scimtest.Resource, groups []string) usersync.Record {
	r := usersync.Record{Key: res.ExternalID, Groups: groups}
	if r.Key == "" {
		r.Key, _ = res.Attrs["userName"].(string)
	}
	var nv []string
	for n, m := range mapped {
		v, ok := res.Attrs[m[0]]
		if !ok {
			continue
		}
		if m[1] == "" {
			nv = append(nv, n, v.(string))
			continue
		}
		for _, e := range v.([]any) {
			if em := e.(map[string]any); em["type"] == m[1] {
				nv = append(nv, n, em["value"].(string))
			}
		}
	}
	ext, _ := res.Attrs[scimtest.SyncSchema].(map[string]any)
	if l, ok := ext["attributes"].([]any); ok {
		for _, e := range l {
			em := e.(map[string]any)
			nv = append(nv, em["name"].(string), em["value"].(string))
		}
	}
	r.Attrs = usersync.NewAttrs(nv...)
	active, ok := res.Attrs["active"].(bool)
	r.Inactive = ok && !active
	r.Managed, _ = ext["managed"].(bool)
	r.MissingRuns, r.MissingSince = uint16(number(ext["missingRuns"])), number(ext["missingSince"])
	return r
}

func (h *harness) PutUser(_ context.Context, r usersync.Record) error {
	id := h.srv.PutUser(r.Key, encode(r))
	var gids []string
	for _, g := range r.Groups {
		gid := h.srv.GroupID(g)
		if gid == "" {
			gid = h.srv.PutGroup(g, g)
		}
		gids = append(gids, gid)
	}
	h.srv.SetGroups(id, gids...)
	return nil
}

func (h *harness) PutGroup(_ context.Context, g usersync.Group) error {
	h.srv.PutGroup(g.ID, g.Name)
	return nil
}

func (h *harness) State(context.Context) ([]usersync.Record, []usersync.Group, error) {
	memberOf := map[string][]string{}
	var groups []usersync.Group
	for _, g := range h.srv.Groups() {
		if g.ExternalID == "" {
			continue
		}
		name, _ := g.Attrs["displayName"].(string)
		groups = append(groups, usersync.Group{ID: g.ExternalID, Name: name})
		ms, _ := g.Attrs["members"].([]any)
		for _, m := range ms {
			id := m.(map[string]any)["value"].(string)
			memberOf[id] = append(memberOf[id], g.ExternalID)
		}
	}
	var users []usersync.Record
	for _, u := range h.srv.Users() {
		users = append(users, decodeUser(u, memberOf[u.ID]))
	}
	return users, groups, nil
}

// number reads a stored number, whichever Go type validation left it as.
func number(v any) int64 {
	switch v := v.(type) {
	case float64:
		return int64(v)
	case int:
		return int64(v)
	case int64:
		return v
	}
	return 0
}

package scimsink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/usersync/usersync"
)

var (
	_ usersync.Sink         = (*Sink)(nil)
	_ usersync.Lister       = (*Sink)(nil)
	_ usersync.BatchApplier = (*Sink)(nil)
)

// Options configure a Sink. A nil *Options means the defaults.
type Options struct {
	// HTTPClient sends the requests; nil means a client of its own, which
	// verifies TLS certificates. Give one to set a proxy, TLS roots, or
	// authentication: a client from golang.org/x/oauth2/clientcredentials
	// (Config.Client) fetches and renews OAuth 2.0 tokens by itself.
	HTTPClient *http.Client
	// Token is a static bearer token sent with every request. TokenSource,
	// if set, gives the token instead (an oauth2.TokenSource, such as a
	// clientcredentials.Config's). Neither is ever logged.
	Token       string
	TokenSource oauth2.TokenSource
	// Logger logs retries; nil logs nothing.
	Logger *slog.Logger
	// Attributes maps usersync attributes to SCIM attributes; nil means
	// DefaultAttributes. Attributes without a mapping are kept in usersync's
	// extension (SyncSchema) when the server has it; otherwise writing one
	// fails.
	Attributes []Mapping
	// UserName names the attribute that gives a user's userName, such as
	// "email"; "" uses the user's key. A user lacking it gets the key.
	UserName string
	// NoExtension leaves usersync's extension unused even if the server
	// offers it. Without it, a user is Managed when it has an externalId,
	// and the missing marker is kept in Store.
	NoExtension bool
	// Store keeps the missing markers when the extension is not in use.
	// Required then.
	Store usersync.Store
	// RequestTimeout bounds each request (default 30s). Retries is how
	// many times a request is sent at most (default 6); RetryWait is the
	// first wait between tries (default 200ms), doubling up to
	// MaxRetryWait (default 30s). A Retry-After from the server overrides
	// the wait, up to MaxRetryWait.
	RequestTimeout time.Duration
	Retries        int
	RetryWait      time.Duration
	MaxRetryWait   time.Duration
	// Concurrency bounds the requests ApplyBatch has in flight without
	// Bulk (default 8).
	Concurrency int
	// NoBulk keeps ApplyBatch from using the Bulk endpoint even when the
	// server offers it. MaxBulkOperations caps the operations of one Bulk
	// request below the server's maxOperations (default 1000).
	NoBulk            bool
	MaxBulkOperations int
	// PatchWithoutPath sends each PATCH as a single replace operation
	// without a path, its value holding the changed attributes: for
	// providers that do not take paths.
	PatchWithoutPath bool
	// MembersReplace is for providers whose PATCH "add" of members
	// replaces a group's members: the Sink then reads the group and writes
	// its whole member list, one change at a time per group. It turns Bulk
	// off.
	MembersReplace bool
	// RemoveMembersByValue removes a member with {"op":"remove",
	// "path":"members","value":[{"value":id}]} (Entra ID's form) rather
	// than a filter path (members[value eq "id"]).
	RemoveMembersByValue bool
}

// config is what the ServiceProviderConfig says.
type config struct {
	patch, bulk, etag, cursor bool
	maxOps, maxPayload        int
	pageSize                  int
}

// A Sink is a SCIM 2.0 service provider as a usersync Sink. See the
// package documentation. It is safe for concurrent use.
type Sink struct {
	c      *client
	codec  *codec
	cfg    config
	opts   Options
	noExt  bool
	mu     sync.Mutex
	groups map[string]string // externalId → id, of groups found
	glocks map[string]*sync.Mutex
	marks  *markers
}

// New returns a Sink for the SCIM service at baseURL (such as
// https://example.com/scim/v2). It reads the ServiceProviderConfig to learn
// whether the server supports PATCH, Bulk and ETags, and the User resource
// type to learn whether it has usersync's extension.
func New(ctx context.Context, baseURL string, opts *Options) (*Sink, error) {
	s := &Sink{groups: map[string]string{}, glocks: map[string]*sync.Mutex{}}
	if opts != nil {
		s.opts = *opts
	}
	o := &s.opts
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	if o.TokenSource != nil {
		base := hc.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		hc = &http.Client{Transport: &oauth2.Transport{Source: oauth2.ReuseTokenSource(nil, o.TokenSource), Base: base},
			CheckRedirect: hc.CheckRedirect, Jar: hc.Jar}
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s.c = &client{base: strings.TrimRight(baseURL, "/"), hc: hc, token: o.Token, log: log,
		timeout: or(o.RequestTimeout, 30*time.Second), tries: max(o.Retries, 0), wait: or(o.RetryWait, 200*time.Millisecond),
		maxWait: or(o.MaxRetryWait, 30*time.Second)}
	if s.c.tries == 0 {
		s.c.tries = 6
	}
	if err := s.discover(ctx); err != nil {
		return nil, err
	}
	if s.noExt {
		if o.Store == nil {
			return nil, errors.New("scimsink: without usersync's extension on the server, Options.Store must keep the missing markers")
		}
		s.marks = &markers{store: o.Store}
	}
	ms := o.Attributes
	if ms == nil {
		ms = DefaultAttributes()
	}
	var err error
	if s.codec, err = newCodec(ms, o.UserName, !s.noExt); err != nil {
		return nil, err
	}
	return s, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// discover reads the ServiceProviderConfig and the User resource type.
func (s *Sink) discover(ctx context.Context) error {
	resp, err := s.c.do(ctx, http.MethodGet, "/ServiceProviderConfig", nil, nil, "")
	if err != nil {
		return fmt.Errorf("scimsink: reading the ServiceProviderConfig: %w", err)
	}
	var spc struct {
		Patch struct{ Supported any } `json:"patch"`
		Bulk  struct {
			Supported      any `json:"supported"`
			MaxOperations  int `json:"maxOperations"`
			MaxPayloadSize int `json:"maxPayloadSize"`
		} `json:"bulk"`
		Filter struct {
			MaxResults int `json:"maxResults"`
		} `json:"filter"`
		ETag       struct{ Supported any } `json:"etag"`
		Pagination struct {
			Cursor any `json:"cursor"`
		} `json:"pagination"`
	}
	if err := json.Unmarshal(resp.body, &spc); err != nil {
		return fmt.Errorf("scimsink: decoding the ServiceProviderConfig: %w", err)
	}
	s.cfg = config{
		patch: boolean(spc.Patch.Supported, false), etag: boolean(spc.ETag.Supported, false),
		bulk: boolean(spc.Bulk.Supported, false) && boolean(spc.Patch.Supported, false) &&
			!s.opts.NoBulk && !s.opts.MembersReplace,
		maxOps: spc.Bulk.MaxOperations, maxPayload: spc.Bulk.MaxPayloadSize,
		cursor: boolean(spc.Pagination.Cursor, false), pageSize: spc.Filter.MaxResults,
	}
	if s.cfg.maxOps <= 0 {
		s.cfg.maxOps = 1000
	}
	s.cfg.maxOps = min(s.cfg.maxOps, or(s.opts.MaxBulkOperations, 1000))
	if s.cfg.maxPayload <= 0 {
		s.cfg.maxPayload = 1 << 20
	}
	if s.cfg.pageSize <= 0 || s.cfg.pageSize > 1000 {
		s.cfg.pageSize = 100
	}
	s.noExt = true
	if s.opts.NoExtension {
		return nil
	}
	resp, err = s.c.do(ctx, http.MethodGet, "/ResourceTypes/User", nil, nil, "")
	if err != nil {
		var he *HTTPError
		if errors.As(err, &he) {
			return nil // no resource types to read: no extension
		}
		return fmt.Errorf("scimsink: reading the User resource type: %w", err)
	}
	var rt struct {
		SchemaExtensions []struct{ Schema string } `json:"schemaExtensions"`
	}
	_ = json.Unmarshal(resp.body, &rt)
	for _, e := range rt.SchemaExtensions {
		if e.Schema == SyncSchema {
			s.noExt = false
		}
	}
	return nil
}

// Bulk reports whether ApplyBatch uses the Bulk endpoint.
func (s *Sink) Bulk() bool { return s.cfg.bulk }

// Extension reports whether the Sink keeps its state in usersync's
// extension (SyncSchema) on the server.
func (s *Sink) Extension() bool { return !s.noExt }

// userState is a user as the server holds it.
type userState struct {
	id      string   // SCIM id, or "bulkId:..." for a user a Bulk request creates
	res     resource // as the server gave it
	version string
	// groups holds the IDs of the user's groups when the server lists
	// them (the "groups" attribute); nil when unknown.
	groups map[string]bool
}

func newUserState(res resource) *userState {
	u := &userState{res: res}
	u.id, _ = res["id"].(string)
	if m, ok := res["meta"].(map[string]any); ok {
		u.version, _ = m["version"].(string)
	}
	if g, ok := res["groups"]; ok {
		u.groups = map[string]bool{}
		for _, e := range list(g) {
			if m, ok := e.(map[string]any); ok {
				if id, ok := m["value"].(string); ok {
					u.groups[id] = true
				}
			}
		}
	}
	return u
}

// query lists the users that match filter.
func (s *Sink) query(ctx context.Context, endpoint, filter string, count int) ([]resource, error) {
	q := url.Values{"filter": {filter}, "count": {fmt.Sprint(count)}, "startIndex": {"1"}}
	resp, err := s.c.do(ctx, http.MethodGet, endpoint, q, nil, "")
	if err != nil {
		return nil, err
	}
	var lr struct {
		Resources []resource `json:"Resources"`
	}
	if err := json.Unmarshal(resp.body, &lr); err != nil {
		return nil, fmt.Errorf("scimsink: decoding a list: %w", err)
	}
	return lr.Resources, nil
}

// findUser returns the user with the given key: the one whose externalId
// it is, else one without an externalId whose userName it is (compared
// without regard to case, as SCIM compares userName). It returns nil if
// there is none.
func (s *Sink) findUser(ctx context.Context, k string) (*userState, error) {
	rs, err := s.query(ctx, "/Users", "externalId eq "+escape(k), 2)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if ext, _ := r["externalId"].(string); ext == k {
			return newUserState(r), nil
		}
	}
	return s.findByUserName(ctx, k)
}

// findByUserName returns the user without an externalId whose userName is
// name, compared without regard to case; nil if there is none.
func (s *Sink) findByUserName(ctx context.Context, name string) (*userState, error) {
	rs, err := s.query(ctx, "/Users", "userName eq "+escape(name), 2)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		ext, _ := r["externalId"].(string)
		un, _ := r["userName"].(string)
		if ext == "" && strings.EqualFold(un, name) {
			return newUserState(r), nil
		}
	}
	return nil, nil
}

// groupID returns the SCIM id of the group with external ID ext, or "".
func (s *Sink) groupID(ctx context.Context, ext string) (string, error) {
	s.mu.Lock()
	id, ok := s.groups[ext]
	s.mu.Unlock()
	if ok {
		return id, nil
	}
	rs, err := s.query(ctx, "/Groups", "externalId eq "+escape(ext), 2)
	if err != nil {
		return "", err
	}
	for _, r := range rs {
		if e, _ := r["externalId"].(string); e == ext {
			id, _ = r["id"].(string)
			s.cacheGroup(ext, id)
			return id, nil
		}
	}
	return "", nil
}

func (s *Sink) cacheGroup(ext, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		delete(s.groups, ext)
	} else {
		s.groups[ext] = id
	}
}

// Apply applies one change, as usersync.Sink and usersync.ChangeKind say.
// A group's external ID is its externalId and its name its displayName; a
// user's key is its externalId (or, for a user made by hand without one,
// its userName). Memberships change through PATCH of the groups' members.
//
// A change that fails midway (the user written, a membership refused)
// leaves what it did; applying it again completes it.
func (s *Sink) Apply(ctx context.Context, c usersync.Change) error {
	// Errors do not name the change: the Pipeline's ChangeError does.
	if err := ctx.Err(); err != nil {
		return err
	}
	var err error
	switch c.Kind {
	case usersync.CreateGroup, usersync.RenameGroup:
		err = s.applyGroup(ctx, &c)
	default:
		err = s.applyUser(ctx, &c)
	}
	return err
}

func (s *Sink) applyGroup(ctx context.Context, c *usersync.Change) error {
	g := c.Group
	if g.ID == "" {
		return errors.New("empty group ID")
	}
	name := or(g.Name, g.ID)
	for attempt := 0; ; attempt++ {
		id, err := s.groupID(ctx, g.ID)
		if err != nil {
			return err
		}
		switch {
		case id == "" && c.Kind == usersync.RenameGroup:
			return fmt.Errorf("group %q: %w", g.ID, usersync.ErrNotFound)
		case id == "":
			resp, err := s.c.do(ctx, http.MethodPost, "/Groups", nil, resource{
				"schemas": []any{GroupSchema}, "externalId": g.ID, "displayName": name}, "")
			if err != nil {
				if attempt < 2 && (conflict(err) || errors.Is(err, errAmbiguous)) {
					continue // created meanwhile, or by the request whose answer was lost
				}
				return err
			}
			r, err := decode(resp.body)
			if err != nil {
				return err
			}
			id, _ := r["id"].(string)
			s.cacheGroup(g.ID, id)
			return nil
		}
		err = s.setGroupName(ctx, id, name)
		if errors.Is(err, usersync.ErrNotFound) && attempt < 2 {
			s.cacheGroup(g.ID, "") // deleted since we looked it up
			continue
		}
		return err
	}
}

func (s *Sink) setGroupName(ctx context.Context, id, name string) error {
	resp, err := s.c.do(ctx, http.MethodGet, "/Groups/"+url.PathEscape(id), url.Values{"excludedAttributes": {"members"}}, nil, "")
	if err != nil {
		return err
	}
	r, err := decode(resp.body)
	if err != nil {
		return err
	}
	if r["displayName"] == name {
		return nil
	}
	if s.cfg.patch {
		_, err = s.c.do(ctx, http.MethodPatch, "/Groups/"+url.PathEscape(id), nil, patchBody(patchOps(
			resource{"displayName": r["displayName"]}, resource{"displayName": name}, s.opts.PatchWithoutPath)), "")
		return err
	}
	// PUT replaces the members too: read them with the group.
	resp, err = s.c.do(ctx, http.MethodGet, "/Groups/"+url.PathEscape(id), nil, nil, "")
	if err != nil {
		return err
	}
	if r, err = decode(resp.body); err != nil {
		return err
	}
	r["displayName"] = name
	delete(r, "meta")
	_, err = s.c.do(ctx, http.MethodPut, "/Groups/"+url.PathEscape(id), nil, r, s.ifMatch(resp.etag))
	return err
}

func patchBody(ops []any) resource {
	return resource{"schemas": []any{patchOp}, "Operations": ops}
}

func (s *Sink) ifMatch(version string) string {
	if s.cfg.etag {
		return version
	}
	return ""
}

// membership is a group a change joins (add) or leaves.
type membership struct {
	gid string
	add bool
}

// memberships resolves the groups c joins and leaves. A group to join that
// the server does not hold fails with ErrNotFound; one to leave is
// skipped.
func (s *Sink) memberships(ctx context.Context, c *usersync.Change) ([]membership, error) {
	var out []membership
	for _, ext := range c.Join {
		id, err := s.groupID(ctx, ext)
		if err != nil {
			return nil, err
		}
		if id == "" {
			return nil, fmt.Errorf("cannot join group %q: %w", ext, usersync.ErrNotFound)
		}
		out = append(out, membership{id, true})
	}
	for _, ext := range c.Leave {
		if slices.Contains(c.Join, ext) {
			continue
		}
		id, err := s.groupID(ctx, ext)
		if err != nil {
			return nil, err
		}
		if id != "" {
			out = append(out, membership{id, false})
		}
	}
	return out, nil
}

// locate returns the user c applies to: the one under c.OldKey when that
// is set and held, else the one under c.User.Key; nil if none. A change
// that would re-key a user onto another user's key fails.
func (s *Sink) locate(ctx context.Context, c *usersync.Change) (*userState, error) {
	cur, err := s.findUser(ctx, c.User.Key)
	if err != nil || c.OldKey == "" || c.OldKey == c.User.Key || c.Kind == usersync.CreateUser {
		return cur, err
	}
	old, err := s.findUser(ctx, c.OldKey)
	switch {
	case err != nil:
		return nil, err
	case old == nil:
		return cur, nil // re-keyed already, or gone
	case cur != nil:
		return nil, fmt.Errorf("cannot re-key user %q to %q: the key is taken", c.OldKey, c.User.Key)
	}
	return old, nil
}

// userPlan is what one change does to a user.
type userPlan struct {
	method  string   // POST, PATCH, PUT, DELETE, or "" for nothing
	body    resource // for POST and PUT, and PATCH's body
	version string   // If-Match
	target  *userState
	members []membership
	after   *userState // the user after the change; nil if deleted or absent
	marker  *marker    // to store, without the extension
}

// plan works out what c does to target (nil if the user is absent),
// without sending anything. A change that fails changes nothing.
func (s *Sink) plan(c *usersync.Change, target *userState, ms []membership) (*userPlan, error) {
	p := &userPlan{target: target}
	k := c.User.Key
	if k == "" {
		return nil, errors.New("empty key")
	}
	switch {
	case target != nil:
	case c.Kind == usersync.CreateUser:
		res := resource{"externalId": k, "userName": k, "active": !c.User.Inactive}
		for n, v := range c.User.Attrs.All() {
			if err := s.codec.setAttr(res, n, v); err != nil {
				return nil, err
			}
		}
		s.codec.setSync(res, true, c.User.MissingRuns, c.User.MissingSince)
		p.method, p.body = http.MethodPost, s.codec.writable(res)
		p.after = &userState{res: res, groups: map[string]bool{}}
		p.members = ms
		p.marker = &marker{key: k, runs: c.User.MissingRuns, since: c.User.MissingSince}
		return p, nil
	case c.Kind == usersync.DeactivateUser || c.Kind == usersync.DeleteUser || c.Kind == usersync.MarkMissing:
		return p, nil // nothing to do
	default:
		return nil, fmt.Errorf("user %q: %w", k, usersync.ErrNotFound)
	}
	if c.Kind == usersync.DeleteUser {
		p.method, p.version = http.MethodDelete, s.ifMatch(target.version)
		p.marker = &marker{key: key(target.res)}
		return p, nil
	}
	old := target.res
	res := cloneResource(old)
	ext := s.extension(res)
	managed, runs, since := boolean(ext["managed"], false), uint16(integer(ext["missingRuns"])), integer(ext["missingSince"])
	if oldKey := key(old); oldKey != k {
		res["externalId"] = k
		if un, _ := res["userName"].(string); s.codec.userName == "" && un == oldKey {
			res["userName"] = k
		}
		p.marker = &marker{key: oldKey} // the marker moves with the key
		if s.marks != nil {
			m := s.marks.get(oldKey)
			p.marker = &marker{key: oldKey, moveTo: k, runs: m.runs, since: m.since}
		}
	}
	if _, ok := res["externalId"].(string); !ok {
		res["externalId"] = k
	}
	names := c.Attrs
	if c.Kind == usersync.CreateUser {
		names = c.User.Attrs.Layout().Names()
	}
	for _, n := range names {
		if v, ok := c.User.Attrs.Get(n); ok {
			if err := s.codec.setAttr(res, n, v); err != nil {
				return nil, err
			}
		}
	}
	setMarker := func(r uint16, t int64) {
		runs, since = r, t
		p.marker = &marker{key: k, runs: r, since: t}
	}
	switch c.Kind {
	case usersync.CreateUser:
		res["active"] = !c.User.Inactive
		managed = true
		setMarker(c.User.MissingRuns, c.User.MissingSince)
	case usersync.AdoptUser:
		res["active"] = !c.User.Inactive
		managed = true
		setMarker(0, 0)
	case usersync.RestoreUser:
		res["active"] = true
		setMarker(0, 0)
	case usersync.DeactivateUser:
		res["active"] = false
	case usersync.MarkMissing:
		setMarker(c.User.MissingRuns, c.User.MissingSince)
	}
	if _, ok := old[SyncSchema]; ok || managed || runs != 0 || since != 0 {
		s.codec.setSync(res, managed, runs, since)
	}
	p.after = &userState{id: target.id, res: res, groups: target.groups}
	p.members = ms
	p.version = s.ifMatch(target.version)
	if s.cfg.patch {
		ops := patchOps(old, res, s.opts.PatchWithoutPath)
		if len(ops) > 0 {
			p.method, p.body = http.MethodPatch, patchBody(ops)
		}
	} else if !equalJSON(s.codec.writable(old), s.codec.writable(res)) {
		p.method, p.body = http.MethodPut, s.codec.writable(res)
	}
	return p, nil
}

// extension returns the extension's map of res, or an empty one.
func (s *Sink) extension(res resource) map[string]any {
	ext, _ := res[SyncSchema].(map[string]any)
	if ext == nil {
		return map[string]any{}
	}
	return ext
}

func equalJSON(a, b any) bool {
	ja, _ := marshal(a)
	jb, _ := marshal(b)
	return string(ja) == string(jb)
}

// applyUser applies a change to a user: it looks the user up, plans, and
// sends. A create that meets the user created meanwhile (409), a write
// that meets a newer version (412) or a create whose answer was lost is
// planned and sent again.
func (s *Sink) applyUser(ctx context.Context, c *usersync.Change) error {
	ms, err := s.memberships(ctx, c)
	if err != nil {
		return err
	}
	if s.marks != nil {
		if err := s.marks.load(ctx); err != nil {
			return err
		}
	}
	for attempt := 0; ; attempt++ {
		target, err := s.locate(ctx, c)
		if err != nil {
			return err
		}
		if target == nil && c.Kind == usersync.CreateUser && s.codec.userName != "" {
			if un, ok := c.User.Attrs.Get(s.codec.userName); ok && un != "" {
				if target, err = s.findByUserName(ctx, un); err != nil {
					return err
				}
			}
		}
		p, err := s.plan(c, target, ms)
		if err != nil {
			return err
		}
		err = s.execute(ctx, p)
		if err != nil && attempt < 3 && (preconditionFailed(err) || errors.Is(err, errAmbiguous) || (p.method == http.MethodPost && conflict(err))) {
			continue
		}
		return err
	}
}

// execute sends a plan's requests: the user's, then its memberships.
func (s *Sink) execute(ctx context.Context, p *userPlan) error {
	id := ""
	if p.target != nil {
		id = p.target.id
	}
	switch p.method {
	case http.MethodPost:
		resp, err := s.c.do(ctx, http.MethodPost, "/Users", nil, p.body, "")
		if err != nil {
			return err
		}
		r, err := decode(resp.body)
		if err != nil {
			return err
		}
		id, _ = r["id"].(string)
	case http.MethodDelete:
		_, err := s.c.do(ctx, http.MethodDelete, "/Users/"+url.PathEscape(id), nil, nil, p.version)
		if err != nil && !errors.Is(err, usersync.ErrNotFound) {
			return err
		}
	case http.MethodPatch, http.MethodPut:
		if _, err := s.c.do(ctx, p.method, "/Users/"+url.PathEscape(id), nil, p.body, p.version); err != nil {
			return err
		}
	}
	if err := s.saveMarker(ctx, p.marker, p.method == http.MethodDelete); err != nil {
		return err
	}
	for _, m := range p.members {
		if err := s.member(ctx, p.target, id, m); err != nil {
			return err
		}
	}
	return nil
}

// member adds the user id to a group or removes it, unless the user's
// groups say it is done already.
func (s *Sink) member(ctx context.Context, u *userState, id string, m membership) error {
	if u != nil && u.groups != nil && u.groups[m.gid] == m.add {
		return nil
	}
	path := "/Groups/" + url.PathEscape(m.gid)
	if s.opts.MembersReplace || !s.cfg.patch {
		return s.replaceMembers(ctx, m.gid, id, m.add)
	}
	_, err := s.c.do(ctx, http.MethodPatch, path, nil, patchBody([]any{s.memberOp(id, m.add)}), "")
	if err != nil && !m.add && (noTarget(err) || errors.Is(err, usersync.ErrNotFound)) {
		return nil // not a member, or no such group: left already
	}
	return err
}

// memberOp is the PATCH operation adding or removing a member.
func (s *Sink) memberOp(id string, add bool) any {
	value := []any{map[string]any{"value": id}}
	switch {
	case add:
		return map[string]any{"op": "add", "path": "members", "value": value}
	case s.opts.RemoveMembersByValue:
		return map[string]any{"op": "remove", "path": "members", "value": value}
	}
	return map[string]any{"op": "remove", "path": "members[value eq " + escape(id) + "]"}
}

// replaceMembers reads a group's members and writes them back with id
// added or removed, for servers whose "add" replaces members (with PATCH)
// and servers without PATCH (with PUT, under If-Match when the server has
// ETags). Changes to one group are serialised within the Sink.
func (s *Sink) replaceMembers(ctx context.Context, gid, id string, add bool) error {
	s.mu.Lock()
	l := s.glocks[gid]
	if l == nil {
		l = &sync.Mutex{}
		s.glocks[gid] = l
	}
	s.mu.Unlock()
	l.Lock()
	defer l.Unlock()
	for attempt := 0; ; attempt++ {
		err := s.writeMembers(ctx, gid, id, add)
		if err != nil && attempt < 4 && preconditionFailed(err) {
			continue // the group changed since it was read
		}
		return err
	}
}

// writeMembers is one read and write of replaceMembers.
func (s *Sink) writeMembers(ctx context.Context, gid, id string, add bool) error {
	path := "/Groups/" + url.PathEscape(gid)
	resp, err := s.c.do(ctx, http.MethodGet, path, nil, nil, "")
	if err != nil {
		return err
	}
	r, err := decode(resp.body)
	if err != nil {
		return err
	}
	var members []any
	found := false
	for _, e := range list(r["members"]) {
		m, _ := e.(map[string]any)
		if m["value"] == id {
			found = true
			if !add {
				continue
			}
		}
		members = append(members, map[string]any{"value": m["value"]})
	}
	if found == add {
		return nil // done already
	}
	if add {
		members = append(members, map[string]any{"value": id})
	}
	if members == nil {
		members = []any{}
	}
	if !s.cfg.patch {
		r["members"] = members
		delete(r, "meta")
		_, err = s.c.do(ctx, http.MethodPut, path, nil, r, s.ifMatch(resp.etag))
		return err
	}
	op := map[string]any{"op": "replace", "path": "members", "value": members}
	_, err = s.c.do(ctx, http.MethodPatch, path, nil, patchBody([]any{op}), s.ifMatch(resp.etag))
	return err
}

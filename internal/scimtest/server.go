// Package scimtest runs an in-process SCIM 2.0 service provider on
// 127.0.0.1, for the tests and examples of sink/scimsink: Users (with the
// enterprise extension and usersync's own) and Groups in memory, served by
// github.com/elimity-com/scim, with the parts elimity leaves out added
// around it: the Bulk endpoint, ETags with If-Match, a ServiceProviderConfig
// that says so, bearer-token and OAuth 2.0 client-credentials
// authentication, and switches for the quirks of real providers.
package scimtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	scim "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
)

// The schema URNs the server knows.
const (
	UserSchema       = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupSchema      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	// SyncSchema is usersync's extension, as sink/scimsink writes it.
	SyncSchema = "urn:usersync:params:scim:schemas:extension:sync:2.0:User"
)

// Options configure a Server. The zero value serves PATCH, filters and
// pages of 100, and no Bulk, ETags or authentication.
type Options struct {
	// Bulk offers the Bulk endpoint, taking at most MaxOperations
	// operations (default 1000) and MaxPayloadSize bytes (default 1 MiB).
	Bulk           bool
	MaxOperations  int
	MaxPayloadSize int
	// NoPatch says PATCH is not supported, and refuses it with 501.
	NoPatch bool
	// ETags versions resources and honours If-Match.
	ETags bool
	// NoSyncExtension leaves usersync's extension out of the User
	// resource type: writing it fails as an unknown schema would.
	NoSyncExtension bool
	// PageSize caps the resources of one page (default 100).
	PageSize int
	// Cursor offers cursor pagination (RFC 9865) besides startIndex: a
	// GET of Users or Groups with a cursor parameter answers with
	// nextCursor while more pages follow.
	Cursor bool
	// Token, if set, is the bearer token every request must carry.
	// ClientID and ClientSecret, if set, are the client credentials
	// that POST /oauth/token exchanges for Token.
	Token                  string
	ClientID, ClientSecret string
	// NoUniqueness accepts users with the same userName or externalId, as
	// some providers do: a client that sends a create twice makes two
	// users. Fault tests use it to see that nothing is created twice.
	NoUniqueness bool
	// AddMembersReplaces is a quirk: a PATCH "add" of members replaces
	// the group's members rather than adding to them.
	AddMembersReplaces bool
	// Wrap, if set, wraps the server's handler: tests use it to inject
	// faults.
	Wrap func(http.Handler) http.Handler
}

// A Server is an in-process SCIM service provider. Its methods that read
// and write the store directly bypass HTTP, as an administrator's console
// would.
type Server struct {
	// URL is the base URL of the SCIM endpoints, such as
	// http://127.0.0.1:1234/v2.
	URL string

	opts     Options
	mu       sync.Mutex
	next     int
	users    *store
	groups   *store
	scim     http.Handler
	memberOf map[string]map[string]bool // user ID → group IDs
	requests atomic.Int64
	bulks    atomic.Int64
	closer   func()
}

// New starts a Server on 127.0.0.1 for the duration of the test.
func New(t testing.TB, opts *Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a Server on 127.0.0.1; Close stops it. Use it outside tests
// (examples, bench commands); tests use New.
func Start(opts *Options) (*Server, error) {
	s, err := newServer(opts)
	if err != nil {
		return nil, err
	}
	var h http.Handler = http.HandlerFunc(s.serve)
	if s.opts.Wrap != nil {
		h = s.opts.Wrap(h)
	}
	hs := httptest.NewUnstartedServer(h)
	hs.Start()
	s.URL = hs.URL + "/v2"
	s.closer = hs.Close
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.closer() }

func newServer(opts *Options) (*Server, error) {
	s := &Server{memberOf: map[string]map[string]bool{}}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.MaxOperations == 0 {
		s.opts.MaxOperations = 1000
	}
	if s.opts.MaxPayloadSize == 0 {
		s.opts.MaxPayloadSize = 1 << 20
	}
	if s.opts.PageSize == 0 {
		s.opts.PageSize = 100
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.users = &store{mu: &s.mu, kind: "User", prefix: "u", next: &s.next, items: map[string]*Resource{}, created: now, unique: "userName", srv: s,
		byExt: map[string]string{}, byName: map[string]string{}}
	s.groups = &store{mu: &s.mu, kind: "Group", prefix: "g", next: &s.next, items: map[string]*Resource{}, created: now, unique: "", srv: s,
		byExt: map[string]string{}, byName: map[string]string{}}
	exts := []scim.SchemaExtension{{Schema: schema.ExtensionEnterpriseUser()}}
	if !s.opts.NoSyncExtension {
		exts = append(exts, scim.SchemaExtension{Schema: syncExtension()})
	}
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{SupportFiltering: true, SupportPatch: !s.opts.NoPatch, MaxResults: s.opts.PageSize},
		ResourceTypes: []scim.ResourceType{
			{ID: optional.NewString("User"), Name: "User", Endpoint: "/Users", Schema: schema.CoreUserSchema(),
				SchemaExtensions: exts, Handler: handler{s.users}},
			{ID: optional.NewString("Group"), Name: "Group", Endpoint: "/Groups", Schema: schema.CoreGroupSchema(),
				Handler: handler{s.groups}},
		},
	})
	if err != nil {
		return nil, err
	}
	s.scim = srv
	return s, nil
}

// syncExtension is usersync's User extension: whether the sync manages
// the user, its missing marker, and the attributes no SCIM attribute
// holds.
func syncExtension() schema.Schema {
	return schema.Schema{
		ID:   SyncSchema,
		Name: optional.NewString("usersync"),
		Attributes: []schema.CoreAttribute{
			schema.SimpleCoreAttribute(schema.SimpleBooleanParams(schema.BooleanParams{Name: "managed"})),
			schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{Name: "missingRuns", Type: schema.AttributeTypeInteger()})),
			schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{Name: "missingSince", Type: schema.AttributeTypeInteger()})),
			schema.ComplexCoreAttribute(schema.ComplexParams{
				Name: "attributes", MultiValued: true,
				SubAttributes: []schema.SimpleParams{
					schema.SimpleStringParams(schema.StringParams{Name: "name", CaseExact: true}),
					schema.SimpleStringParams(schema.StringParams{Name: "value", CaseExact: true}),
				},
			}),
		},
	}
}

// Requests returns how many HTTP requests the server has served, Bulk
// requests counting once.
func (s *Server) Requests() int64 { return s.requests.Load() }

// BulkRequests returns how many Bulk requests the server has served.
func (s *Server) BulkRequests() int64 { return s.bulks.Load() }

var bulkIDRef = regexp.MustCompile(`bulkId:([A-Za-z0-9_.-]+)`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if r.URL.Path == "/oauth/token" {
		s.token(w, r)
		return
	}
	if s.opts.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.opts.Token {
		writeError(w, scimerrors.ScimError{Status: 401, Detail: "authentication required"})
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/v2")
	switch {
	case path == "/ServiceProviderConfig":
		s.config(w)
		return
	case path == "/Bulk" && r.Method == http.MethodPost:
		if !s.opts.Bulk {
			writeError(w, scimerrors.ScimError{Status: 501, Detail: "bulk is not supported"})
			return
		}
		s.bulks.Add(1)
		s.bulk(w, r)
		return
	case s.opts.Cursor && r.Method == http.MethodGet && r.URL.Query().Has("cursor"):
		s.cursorPage(w, r)
		return
	case r.Method == http.MethodPatch && s.opts.NoPatch:
		writeError(w, scimerrors.ScimError{Status: 501, Detail: "PATCH is not supported"})
		return
	}
	s.scim.ServeHTTP(w, r)
}

func writeError(w http.ResponseWriter, e scimerrors.ScimError) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(e)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.FormValue("client_id"), r.FormValue("client_secret")
	}
	if s.opts.ClientID == "" || id != s.opts.ClientID || secret != s.opts.ClientSecret || r.FormValue("grant_type") != "client_credentials" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		_, _ = io.WriteString(w, `{"error":"invalid_client"}`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": s.opts.Token, "token_type": "Bearer", "expires_in": 3600})
}

func (s *Server) config(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/scim+json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"patch":   map[string]any{"supported": !s.opts.NoPatch},
		"bulk": map[string]any{"supported": s.opts.Bulk, "maxOperations": s.opts.MaxOperations,
			"maxPayloadSize": s.opts.MaxPayloadSize},
		"filter":         map[string]any{"supported": true, "maxResults": s.opts.PageSize},
		"changePassword": map[string]any{"supported": false},
		"sort":           map[string]any{"supported": false},
		"etag":           map[string]any{"supported": s.opts.ETags},
		"pagination":     map[string]any{"cursor": s.opts.Cursor, "index": true},
		"authenticationSchemes": []any{map[string]any{"type": "oauthbearertoken", "name": "OAuth Bearer Token",
			"description": "Authentication with a bearer token"}},
	})
}

// cursorPage serves a page by cursor: the cursor is the page's startIndex,
// and nextCursor the next one's while resources remain.
func (s *Server) cursorPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start := 1
	if c := q.Get("cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "c"))
		if err != nil || n < 1 {
			writeError(w, scimerrors.ScimError{Status: 400, ScimType: "invalidCursor", Detail: "no such cursor"})
			return
		}
		start = n
	}
	q.Del("cursor")
	q.Set("startIndex", strconv.Itoa(start))
	sub := r.Clone(r.Context())
	sub.URL.RawQuery = q.Encode()
	rec := httptest.NewRecorder()
	s.scim.ServeHTTP(rec, sub)
	var body map[string]any
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &body) != nil {
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	total, _ := body["totalResults"].(float64)
	n := len(slicesOf(body["Resources"]))
	delete(body, "startIndex")
	if next := start + n; n > 0 && next <= int(total) {
		body["nextCursor"] = "c" + strconv.Itoa(next)
	}
	w.Header().Set("Content-Type", "application/scim+json")
	_ = json.NewEncoder(w).Encode(body)
}

func slicesOf(v any) []any {
	l, _ := v.([]any)
	return l
}

type bulkOp struct {
	Method  string          `json:"method"`
	BulkID  string          `json:"bulkId,omitempty"`
	Version string          `json:"version,omitempty"`
	Path    string          `json:"path"`
	Data    json.RawMessage `json:"data,omitempty"`
}

type bulkResult struct {
	Method   string          `json:"method"`
	BulkID   string          `json:"bulkId,omitempty"`
	Version  string          `json:"version,omitempty"`
	Location string          `json:"location,omitempty"`
	Status   string          `json:"status"`
	Response json.RawMessage `json:"response,omitempty"`
}

// bulk serves the Bulk endpoint (RFC 7644 §3.7): it runs the operations in
// order through the resource handlers, resolving bulkId references to the
// IDs of resources created earlier in the request.
func (s *Server) bulk(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(s.opts.MaxPayloadSize)+1))
	if err != nil {
		return
	}
	if len(body) > s.opts.MaxPayloadSize {
		writeError(w, scimerrors.ScimError{Status: 413, Detail: fmt.Sprintf("the payload exceeds %d bytes", s.opts.MaxPayloadSize)})
		return
	}
	var req struct {
		Schemas      []string `json:"schemas"`
		FailOnErrors int      `json:"failOnErrors"`
		Operations   []bulkOp `json:"Operations"`
	}
	if err := json.Unmarshal(body, &req); err != nil || !slices.Contains(req.Schemas, "urn:ietf:params:scim:api:messages:2.0:BulkRequest") {
		writeError(w, scimerrors.ScimErrorInvalidSyntax)
		return
	}
	if len(req.Operations) > s.opts.MaxOperations {
		writeError(w, scimerrors.ScimError{Status: 413, Detail: fmt.Sprintf("more than %d operations", s.opts.MaxOperations)})
		return
	}
	ids := map[string]string{}
	var results []bulkResult
	errs := 0
	for _, op := range req.Operations {
		if req.FailOnErrors > 0 && errs >= req.FailOnErrors {
			break
		}
		res := bulkResult{Method: op.Method, BulkID: op.BulkID}
		missing := ""
		resolve := func(b []byte) []byte {
			return bulkIDRef.ReplaceAllFunc(b, func(m []byte) []byte {
				id, ok := ids[string(m[len("bulkId:"):])]
				if !ok {
					missing = string(m)
					return m
				}
				return []byte(id)
			})
		}
		path, data := resolve([]byte(op.Path)), resolve(op.Data)
		if missing != "" {
			res.Status = "409"
			res.Response, _ = json.Marshal(scimerrors.ScimError{Status: 409, Detail: "unresolved reference " + missing})
			results = append(results, res)
			errs++
			continue
		}
		sub := httptest.NewRequestWithContext(r.Context(), op.Method, "/v2"+string(path), bytes.NewReader(data))
		if op.Version != "" {
			sub.Header.Set("If-Match", op.Version)
		}
		rec := httptest.NewRecorder()
		s.scim.ServeHTTP(rec, sub)
		res.Status = fmt.Sprint(rec.Code)
		res.Version = rec.Header().Get("Etag")
		if rec.Code >= 400 {
			errs++
			res.Response = json.RawMessage(rec.Body.Bytes())
		} else {
			var created struct {
				ID   string `json:"id"`
				Meta struct {
					Location string `json:"location"`
				} `json:"meta"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &created)
			if op.Method == http.MethodPost && op.BulkID != "" {
				ids[op.BulkID] = created.ID
			}
			res.Location = rec.Header().Get("Location")
			if res.Location == "" {
				res.Location = string(path)
			}
			if op.Method == http.MethodPost {
				res.Location = strings.TrimSuffix(string(path), "/") + "/" + created.ID
			}
		}
		results = append(results, res)
	}
	w.Header().Set("Content-Type", "application/scim+json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:BulkResponse"},
		"Operations": results,
	})
}

// handler adapts a store to elimity's ResourceHandler.
type handler struct{ s *store }

func (h handler) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	res, err := h.s.create(attrs)
	if err != nil {
		return scim.Resource{}, err
	}
	return h.s.resource(res), nil
}

func (h handler) Get(r *http.Request, id string) (scim.Resource, error) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	res, err := h.s.get(id)
	if err != nil {
		return scim.Resource{}, err
	}
	return h.s.resource(res), nil
}

func (h handler) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	var all []*Resource
	pool, ok := []*Resource(nil), false
	if params.FilterValidator != nil {
		pool, ok = h.s.candidates(params.FilterValidator.GetFilter())
	}
	if !ok {
		pool = h.s.sorted()
	}
	for _, res := range pool {
		if params.FilterValidator != nil && params.FilterValidator.PassesFilter(h.s.filterable(res)) != nil {
			continue
		}
		all = append(all, res)
	}
	page := scim.Page{TotalResults: len(all)}
	from := max(params.StartIndex-1, 0)
	for i := from; i < len(all) && i < from+params.Count; i++ {
		page.Resources = append(page.Resources, h.s.resource(all[i]))
	}
	return page, nil
}

func (h handler) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	res, err := h.s.replace(id, r.Header.Get("If-Match"), attrs)
	if err != nil {
		return scim.Resource{}, err
	}
	return h.s.resource(res), nil
}

func (h handler) Delete(r *http.Request, id string) error {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return h.s.delete(id, r.Header.Get("If-Match"))
}

func (h handler) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	res, err := h.s.patch(id, r.Header.Get("If-Match"), ops)
	if err != nil {
		return scim.Resource{}, err
	}
	return h.s.resource(res), nil
}

// Users returns a copy of every user, by ID.
func (s *Server) Users() []*Resource { return s.list(s.users) }

// Groups returns a copy of every group, by ID.
func (s *Server) Groups() []*Resource { return s.list(s.groups) }

func (s *Server) list(st *store) []*Resource {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Resource
	for _, r := range st.sorted() {
		out = append(out, r.clone())
	}
	return out
}

// PutUser stores a user as given, replacing the one with the same
// externalId, bypassing HTTP and validation. It returns the user's ID.
func (s *Server) PutUser(externalID string, attrs map[string]any) string {
	return s.put(s.users, externalID, attrs)
}

// PutGroup stores a group as given, replacing the one with the same
// externalId. Its members are user IDs. It returns the group's ID.
func (s *Server) PutGroup(externalID, displayName string, memberIDs ...string) string {
	attrs := map[string]any{"displayName": displayName}
	if len(memberIDs) > 0 {
		var ms []any
		for _, id := range memberIDs {
			ms = append(ms, map[string]any{"value": id})
		}
		attrs["members"] = ms
	}
	return s.put(s.groups, externalID, attrs)
}

// GroupID returns the ID of the group with the given externalId, or "".
func (s *Server) GroupID(externalID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.groups.byExt[externalID]
}

// AddMember makes the user with ID userID a member of the group with ID
// groupID, bypassing HTTP.
func (s *Server) AddMember(groupID, userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups.items[groupID].clone()
	list, _ := g.Attrs["members"].([]any)
	g.Attrs["members"] = append(list, map[string]any{"value": userID})
	g.Version++
	s.groups.store(g)
}

func (s *Server) put(st *store, externalID string, attrs map[string]any) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	attrs = clone(attrs).(map[string]any)
	if id, ok := st.byExt[externalID]; ok && externalID != "" {
		r := &Resource{ID: id, ExternalID: externalID, Attrs: attrs, Version: st.items[id].Version + 1}
		st.store(r)
		return r.ID
	}
	r := &Resource{ID: st.newID(), ExternalID: externalID, Attrs: attrs, Version: 1}
	st.store(r)
	return r.ID
}

// SetGroups makes the user with ID userID a member of exactly the groups
// with the given IDs, bypassing HTTP.
func (s *Server) SetGroups(userID string, groupIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups.sorted() {
		g = g.clone()
		removeMembers(g, func(m map[string]any) bool { return m["value"] == userID })
		if slices.Contains(groupIDs, g.ID) {
			list, _ := g.Attrs["members"].([]any)
			g.Attrs["members"] = append(list, map[string]any{"value": userID})
		}
		g.Version++
		s.groups.store(g)
	}
}

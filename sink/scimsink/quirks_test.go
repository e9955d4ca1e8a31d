package scimsink_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/scimtest"
	"github.com/usersync/usersync/sink/scimsink"
)

func newSink(t *testing.T, srv *scimtest.Server, opts *scimsink.Options) *scimsink.Sink {
	t.Helper()
	s, err := scimsink.New(t.Context(), srv.URL, opts)
	require.NoError(t, err)
	return s
}

func users(t *testing.T, s *scimsink.Sink) map[string]usersync.Record {
	t.Helper()
	out := map[string]usersync.Record{}
	for u, err := range s.Users(t.Context()) {
		require.NoError(t, err)
		out[u.Key] = u
	}
	return out
}

func create(key string, nameValues ...string) usersync.Change {
	return usersync.Change{Kind: usersync.CreateUser, User: usersync.Record{Key: key, Attrs: usersync.NewAttrs(nameValues...)}}
}

// rewriting returns a Wrap that lets edit change the JSON of each
// response to a GET of users.
func rewriting(edit func(user map[string]any)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/Users") {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var body map[string]any
			if json.Unmarshal(rec.Body.Bytes(), &body) == nil {
				if rs, ok := body["Resources"].([]any); ok {
					for _, u := range rs {
						edit(u.(map[string]any))
					}
				} else {
					edit(body)
				}
			}
			b, _ := json.Marshal(body)
			w.WriteHeader(rec.Code)
			_, _ = w.Write(b)
		})
	}
}

// Some providers give a multi-valued attribute of one value as an object,
// and booleans as strings ("False", as Entra ID writes them).
func TestQuirkValueAsObject(t *testing.T) {
	srv := scimtest.New(t, &scimtest.Options{Wrap: rewriting(func(u map[string]any) {
		if l, ok := u["emails"].([]any); ok && len(l) == 1 {
			u["emails"] = l[0]
		}
		if a, ok := u["active"].(bool); ok {
			u["active"] = map[bool]string{true: "True", false: "False"}[a]
		}
	})})
	s := newSink(t, srv, nil)
	c := create("E1", "name", "Ann", "email", "ann@example.com")
	c.User.Inactive = true
	require.NoError(t, s.Apply(t.Context(), c))
	got := users(t, s)["E1"]
	assert.Equal(t, "ann@example.com", got.Attrs.Value("email"))
	assert.True(t, got.Inactive)
	// Updating a user read that way keeps its email a list.
	require.NoError(t, s.Apply(t.Context(), usersync.Change{Kind: usersync.RestoreUser, User: usersync.Record{Key: "E1", Attrs: usersync.NewAttrs("title", "Nurse")}, Attrs: []string{"title"}}))
	res := srv.Users()[0]
	assert.IsType(t, []any{}, res.Attrs["emails"])
	assert.Equal(t, true, res.Attrs["active"])
}

// refusing returns a Wrap that answers 400 to the PATCH requests whose path
// contains pathPart and whose body contains bodyPart.
func refusing(pathPart, bodyPart string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPatch && strings.Contains(r.URL.Path, pathPart) {
				b, _ := io.ReadAll(r.Body)
				if bytes.Contains(b, []byte(bodyPart)) {
					w.WriteHeader(http.StatusBadRequest)
					_, _ = io.WriteString(w, `{"status":"400","scimType":"invalidPath","detail":"paths are not supported"}`)
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(b))
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestQuirkPatchWithoutPath(t *testing.T) {
	srv := scimtest.New(t, &scimtest.Options{Wrap: refusing("/Users/", `"path"`)})
	update := usersync.Change{Kind: usersync.UpdateUser, User: usersync.Record{Key: "E1", Attrs: usersync.NewAttrs("title", "Head nurse", "dept", "ICU")}, Attrs: []string{"title", "dept"}}

	s := newSink(t, srv, nil)
	require.NoError(t, s.Apply(t.Context(), create("E1", "name", "Ann", "title", "Nurse")))
	require.Error(t, s.Apply(t.Context(), update), "a PATCH with paths, refused")

	s = newSink(t, srv, &scimsink.Options{PatchWithoutPath: true})
	require.NoError(t, s.Apply(t.Context(), update))
	got := users(t, s)["E1"]
	assert.Equal(t, map[string]string{"name": "Ann", "title": "Head nurse", "dept": "ICU"}, got.Attrs.Map())
	assert.True(t, got.Managed)
}

func TestQuirkRemoveMembersByValue(t *testing.T) {
	srv := scimtest.New(t, &scimtest.Options{Wrap: refusing("/Groups/", `members[`)})
	s := newSink(t, srv, &scimsink.Options{RemoveMembersByValue: true})
	ctx := t.Context()
	require.NoError(t, s.Apply(ctx, usersync.Change{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "g1"}}))
	c := create("E1", "name", "Ann")
	c.Join = []string{"g1"}
	require.NoError(t, s.Apply(ctx, c))
	require.Equal(t, []string{"g1"}, users(t, s)["E1"].Groups)
	require.NoError(t, s.Apply(ctx, usersync.Change{Kind: usersync.UpdateUser, User: usersync.Record{Key: "E1"}, Leave: []string{"g1"}}))
	require.Empty(t, users(t, s)["E1"].Groups)
}

// Some providers replace a group's members on a PATCH "add".
func TestQuirkMembersReplaced(t *testing.T) {
	join := func(s *scimsink.Sink, keys ...string) {
		for _, k := range keys {
			c := create(k, "name", k)
			c.Join = []string{"g1"}
			require.NoError(t, s.Apply(t.Context(), c))
		}
	}
	srv := scimtest.New(t, &scimtest.Options{AddMembersReplaces: true})
	s := newSink(t, srv, nil)
	require.NoError(t, s.Apply(t.Context(), usersync.Change{Kind: usersync.CreateGroup, Group: usersync.Group{ID: "g1"}}))
	join(s, "E1", "E2")
	assert.Empty(t, users(t, s)["E1"].Groups, "without the option, E2's add replaced E1")

	s = newSink(t, srv, &scimsink.Options{MembersReplace: true})
	require.False(t, s.Bulk())
	join(s, "E1", "E3")
	got := users(t, s)
	for _, k := range []string{"E1", "E2", "E3"} {
		assert.Equal(t, []string{"g1"}, got[k].Groups, k)
	}
}

// userName is compared without regard to case: a user made by hand as
// Ann@Example.com is the one the feed calls ann@example.com.
func TestQuirkUserNameCase(t *testing.T) {
	srv := scimtest.New(t, nil)
	srv.PutUser("", map[string]any{"userName": "Ann@Example.com", "displayName": "Ann", "active": true})
	s := newSink(t, srv, &scimsink.Options{UserName: "email"})
	require.Equal(t, "Ann@Example.com", maps1(users(t, s)))
	require.NoError(t, s.Apply(t.Context(), create("E1", "name", "Ann Berg", "email", "ann@example.com")))
	got := users(t, s)
	require.Len(t, got, 1, "the create took over the user made by hand")
	assert.True(t, got["E1"].Managed)
	assert.Equal(t, "ann@example.com", srv.Users()[0].Attrs["userName"])

	// And a key that is a userName finds it whatever its case.
	srv.PutUser("", map[string]any{"userName": "BO", "active": true})
	adopt := usersync.Change{Kind: usersync.AdoptUser, User: usersync.Record{Key: "E2", Attrs: usersync.NewAttrs("name", "Bo")}, Attrs: []string{"name"}, OldKey: "bo"}
	require.NoError(t, s.Apply(t.Context(), adopt))
	assert.True(t, users(t, s)["E2"].Managed)
}

// maps1 returns the key of the only user.
func maps1(us map[string]usersync.Record) string {
	for k := range us {
		return k
	}
	return ""
}

func TestOAuth2ClientCredentials(t *testing.T) {
	srv := scimtest.New(t, &scimtest.Options{Token: "t0ken-from-oauth", ClientID: "usersync", ClientSecret: "s3cret"})
	tokenURL := strings.TrimSuffix(srv.URL, "/v2") + "/oauth/token"
	cc := &clientcredentials.Config{ClientID: "usersync", ClientSecret: "s3cret", TokenURL: tokenURL}
	var logs bytes.Buffer
	s := newSink(t, srv, &scimsink.Options{TokenSource: cc.TokenSource(t.Context()), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, s.Apply(t.Context(), create("E1", "name", "Ann")))
	require.Len(t, users(t, s), 1)

	bad := &clientcredentials.Config{ClientID: "usersync", ClientSecret: "wrong", TokenURL: tokenURL}
	_, err := scimsink.New(t.Context(), srv.URL, &scimsink.Options{TokenSource: bad.TokenSource(t.Context())})
	require.Error(t, err)

	_, err = scimsink.New(t.Context(), srv.URL, &scimsink.Options{Token: "wrong"})
	var he *scimsink.HTTPError
	require.ErrorAs(t, err, &he)
	require.Equal(t, http.StatusUnauthorized, he.Status)
	assert.NotContains(t, err.Error(), "wrong")
}

// The token is never logged, even where requests are retried and logged.
func TestTokenNotLogged(t *testing.T) {
	n := 0
	srv := scimtest.New(t, &scimtest.Options{Token: "t0ken-not-to-log", Wrap: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n++; n%2 == 0 {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	}})
	var logs bytes.Buffer
	s := newSink(t, srv, &scimsink.Options{Token: "t0ken-not-to-log", Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, s.Apply(t.Context(), create("E1", "name", "Ann")))
	require.Contains(t, logs.String(), "retrying")
	require.NotContains(t, logs.String(), "t0ken-not-to-log")
}

// Without usersync's extension, a user is managed when it has an
// externalId, the missing marker is kept in the Store, and an attribute
// without a mapping cannot be written.
func TestWithoutExtension(t *testing.T) {
	srv := scimtest.New(t, &scimtest.Options{NoSyncExtension: true})
	_, err := scimsink.New(t.Context(), srv.URL, nil)
	require.ErrorContains(t, err, "Options.Store")

	store := &usersync.MemStore{}
	s := newSink(t, srv, &scimsink.Options{Store: store})
	require.False(t, s.Extension())
	ctx := t.Context()
	srv.PutUser("", map[string]any{"userName": "admin", "active": true})
	require.NoError(t, s.Apply(ctx, create("E1", "name", "Ann", "email", "ann@example.com")))
	require.NoError(t, s.Apply(ctx, usersync.Change{Kind: usersync.MarkMissing, User: usersync.Record{Key: "E1", MissingRuns: 2, MissingSince: 1_790_000_000}}))
	got := users(t, s)
	assert.True(t, got["E1"].Managed)
	assert.False(t, got["admin"].Managed)
	assert.Equal(t, uint16(2), got["E1"].MissingRuns)
	assert.Equal(t, int64(1_790_000_000), got["E1"].MissingSince)

	// A new Sink over the same Store sees the marker: it survives runs.
	got = users(t, newSink(t, srv, &scimsink.Options{Store: store}))
	assert.Equal(t, uint16(2), got["E1"].MissingRuns)

	// Restoring clears it; an unmapped attribute fails.
	require.NoError(t, s.Apply(ctx, usersync.Change{Kind: usersync.RestoreUser, User: usersync.Record{Key: "E1"}}))
	assert.Zero(t, users(t, s)["E1"].MissingRuns)
	require.ErrorContains(t, s.Apply(ctx, create("E2", "name", "Bo", "skill", "ICU")), "no mapping")
}

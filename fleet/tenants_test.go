package fleet_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/fleet"
)

func TestFolder(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("acme.yaml", "every: 1h")
	write("globex.yml", "every: 2h")
	write(".hidden.yaml", "every: 1h")
	write("notes.txt", "not a tenant")
	write("broken.yaml", "bad")
	loads := 0
	f := &fleet.Folder{Dir: dir, Load: func(_ context.Context, id string, data []byte) (*fleet.FolderTenant, error) {
		loads++
		if string(data) == "bad" {
			return nil, errors.New("does not parse")
		}
		return &fleet.FolderTenant{
			Schedule: usersync.Every(1),
			Open: func(context.Context) (*fleet.Sync, error) {
				return &fleet.Sync{Func: func(context.Context) (*usersync.Result, error) { return nil, errors.New(id) }}, nil
			},
		}, nil
	}}
	ctx := context.Background()
	list := func() map[string]string {
		t.Helper()
		ts, err := f.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, tn := range ts {
			out[tn.ID] = tn.Version
		}
		return out
	}
	first := list()
	if ids := slices.Sorted(func(yield func(string) bool) {
		for id := range first {
			yield(id)
		}
	}); !slices.Equal(ids, []string{"acme", "globex"}) {
		t.Fatalf("List: %v, want acme and globex (hidden, other extensions and broken files left out)", ids)
	}
	loads = 0
	second := list()
	if loads != 1 || second["acme"] != first["acme"] {
		t.Errorf("listing again loaded %d files (want only the broken one again), versions %v then %v", loads, first, second)
	}
	write("acme.yaml", "every: 3h")
	os.Remove(filepath.Join(dir, "globex.yml"))
	third := list()
	if third["acme"] == first["acme"] || len(third) != 1 {
		t.Errorf("after a change and a removal: %v, want acme alone with a new version (was %v)", third, first)
	}

	s, err := f.Open(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Func(ctx); err == nil || err.Error() != "acme" {
		t.Errorf("Open(acme) opened %v", err)
	}
	for _, id := range []string{"globex", "nobody", "../acme", ".hidden"} {
		if _, err := f.Open(ctx, id); !errors.Is(err, fleet.ErrUnknownTenant) {
			t.Errorf("Open(%q): %v, want ErrUnknownTenant", id, err)
		}
	}
	if _, err := f.Open(ctx, "broken"); err == nil || !strings.Contains(err.Error(), "does not parse") {
		t.Errorf("Open(broken): %v", err)
	}
}

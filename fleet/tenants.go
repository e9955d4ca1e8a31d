package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/usersync/usersync"
)

// ErrUnknownTenant is returned, wrapped, by Tenants.Open for a tenant that
// no longer exists. A job of such a tenant is canceled: it is not retried,
// and no further run is scheduled.
var ErrUnknownTenant = errors.New("unknown tenant")

// A Tenant is one customer whose directory a fleet keeps in sync.
type Tenant struct {
	// ID names the tenant, uniquely and for good: jobs, status and
	// triggers refer to it.
	ID string
	// Schedule says when the tenant syncs, time zone included (see
	// usersync.Daily); nil means only when triggered.
	Schedule usersync.Schedule
	// Pause, if set, reports whether runs are paused at a time: a run
	// that falls in a pause is skipped, not put off (see usersync.Between).
	Pause func(time.Time) bool
	// Version changes whenever the tenant's settings change, so that a
	// fleet reschedules the tenant's next run from its new Schedule. Any
	// string will do: a revision number, an update time, a hash.
	Version string
}

// A Sync is one run of a tenant, built from its settings when it is due:
// a Pipeline, or a Func for a host that does more around each run. Close,
// if set, is called after the run to release what Open opened.
type Sync struct {
	Pipeline *usersync.Pipeline
	// Func runs the sync instead of Pipeline. A fleet cannot see when a
	// Func starts applying: at shutdown it lets a Func finish.
	Func  func(ctx context.Context) (*usersync.Result, error)
	Close func() error
}

// Tenants is the host's registry of tenants, over its own store. A fleet
// lists it every Options.Refresh to pick up tenants added, changed or
// removed, and opens a tenant when its run is due. Both methods are called
// from several goroutines at once.
type Tenants interface {
	// List returns every tenant.
	List(ctx context.Context) ([]Tenant, error)
	// Open builds the run of tenant id from its current settings. For a
	// tenant that no longer exists it returns an error wrapping
	// ErrUnknownTenant.
	Open(ctx context.Context, id string) (*Sync, error)
}

// Folder is Tenants over a folder of settings files, one per tenant, such
// as the usersync command's YAML files: the tenant's ID is the file's name
// without its extension, and its Version a hash of the file's content, so
// that editing, adding or removing a file is picked up at the next refresh.
type Folder struct {
	// Dir is the folder. Files and folders whose names start with a dot
	// are ignored, as are files without one of Exts.
	Dir string
	// Exts are the extensions of settings files; nil means ".yaml" and
	// ".yml".
	Exts []string
	// Load reads the settings of tenant id from the file's content. It
	// is called when List meets a new or changed file, and again by Open.
	Load func(ctx context.Context, id string, data []byte) (*FolderTenant, error)
	// Logger receives the files that do not load (they are left out of
	// the list); nil means none.
	Logger *slog.Logger

	mu    sync.Mutex
	cache map[string]folderEntry // by ID
}

// FolderTenant is what Folder.Load makes of a settings file.
type FolderTenant struct {
	Schedule usersync.Schedule
	Pause    func(time.Time) bool
	// Open builds the tenant's run; the fleet closes it after the run.
	Open func(ctx context.Context) (*Sync, error)
}

type folderEntry struct {
	version string
	t       *FolderTenant
}

// List reads the folder and loads the files that are new or changed since
// the last List.
func (f *Folder) List(ctx context.Context) ([]Tenant, error) {
	entries, err := os.ReadDir(f.Dir)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := make(map[string]folderEntry, len(entries))
	var out []Tenant
	for _, e := range entries {
		id, ok := f.tenantID(e)
		if !ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(f.Dir, e.Name()))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since ReadDir
			}
			return nil, err
		}
		version := hashOf(data)
		ent, ok := f.cache[id]
		if !ok || ent.version != version {
			t, err := f.Load(ctx, id, data)
			if err != nil {
				f.logger().ErrorContext(ctx, "fleet: tenant settings do not load: tenant left out", "tenant", id, "file", e.Name(), "err", err)
				continue
			}
			ent = folderEntry{version: version, t: t}
		}
		seen[id] = ent
		out = append(out, Tenant{ID: id, Schedule: ent.t.Schedule, Pause: ent.t.Pause, Version: version})
	}
	f.cache = seen
	return out, nil
}

// Open loads tenant id's file afresh and opens its run.
func (f *Folder) Open(ctx context.Context, id string) (*Sync, error) {
	if id == "" || strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".") {
		return nil, fmt.Errorf("fleet: tenant %q: %w", id, ErrUnknownTenant)
	}
	for _, ext := range f.exts() {
		data, err := os.ReadFile(filepath.Join(f.Dir, id+ext))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		t, err := f.Load(ctx, id, data)
		if err != nil {
			return nil, fmt.Errorf("fleet: tenant %s: %w", id, err)
		}
		return t.Open(ctx)
	}
	return nil, fmt.Errorf("fleet: tenant %q has no file in %s: %w", id, f.Dir, ErrUnknownTenant)
}

func (f *Folder) tenantID(e fs.DirEntry) (string, bool) {
	name := e.Name()
	if strings.HasPrefix(name, ".") || !e.Type().IsRegular() {
		return "", false
	}
	for _, ext := range f.exts() {
		if id, ok := strings.CutSuffix(name, ext); ok && id != "" {
			return id, true
		}
	}
	return "", false
}

func (f *Folder) exts() []string {
	if f.Exts == nil {
		return []string{".yaml", ".yml"}
	}
	return slices.Clone(f.Exts)
}

func (f *Folder) logger() *slog.Logger {
	if f.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Logger
}

func hashOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:12])
}

package scimsink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/usersync/usersync"
)

// markersKey is the Store key of the missing markers, when the server has
// no usersync extension to keep them in.
const markersKey = "scimsink/missing"

// A marker is a missing marker to store: the user's, under key, or moved
// to moveTo when the user takes another key.
type marker struct {
	key, moveTo string
	runs        uint16
	since       int64
}

// markers keeps the missing markers in a usersync.Store, as one JSON
// object of key → [runs, since]. Markers are few: only users missing from
// the feed have one.
type markers struct {
	store  usersync.Store
	mu     sync.Mutex
	m      map[string][2]int64
	loaded bool
}

func (ms *markers) load(ctx context.Context) error {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.loadLocked(ctx)
}

func (ms *markers) loadLocked(ctx context.Context) error {
	if ms.loaded {
		return nil
	}
	b, err := ms.store.Get(ctx, markersKey)
	switch {
	case errors.Is(err, usersync.ErrNotFound):
		ms.m = map[string][2]int64{}
	case err != nil:
		return fmt.Errorf("scimsink: reading the missing markers: %w", err)
	default:
		if err := json.Unmarshal(b, &ms.m); err != nil {
			return fmt.Errorf("scimsink: reading the missing markers: %w", err)
		}
	}
	ms.loaded = true
	return nil
}

// get returns the marker of key, once loaded.
func (ms *markers) get(k string) marker {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	v := ms.m[k]
	return marker{key: k, runs: uint16(v[0]), since: v[1]}
}

// save stores mk: deleted drops it.
func (ms *markers) save(ctx context.Context, mk *marker, deleted bool) error {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if err := ms.loadLocked(ctx); err != nil {
		return err
	}
	k := mk.key
	before := ms.m[k]
	_, had := ms.m[k]
	if mk.moveTo != "" {
		delete(ms.m, k)
		k = mk.moveTo
	}
	switch {
	case deleted || (mk.runs == 0 && mk.since == 0):
		delete(ms.m, k)
	default:
		ms.m[k] = [2]int64{int64(mk.runs), mk.since}
	}
	if after, has := ms.m[k]; mk.moveTo == "" && has == had && after == before {
		return nil // unchanged
	}
	b, err := json.Marshal(ms.m)
	if err != nil {
		return err
	}
	if err := ms.store.Put(ctx, markersKey, b); err != nil {
		return fmt.Errorf("scimsink: storing the missing markers: %w", err)
	}
	return nil
}

// saveMarker stores a plan's marker when the extension is not in use.
func (s *Sink) saveMarker(ctx context.Context, mk *marker, deleted bool) error {
	if s.marks == nil || mk == nil {
		return nil
	}
	return s.marks.save(ctx, mk, deleted)
}

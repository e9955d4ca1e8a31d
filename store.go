package usersync

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
)

// A Store keeps the little state a sync needs from one run to the next:
// which file contents were applied, a plan held for approval, and the like.
// Host applications keep it where they keep their own data; this package
// offers [MemStore] and [FileStore], and sink/sqlsink one in SQL.
//
// Keys are short slash-separated names chosen by the part that uses them
// ("applied/users.csv"); values are small (bytes to kilobytes). A Store is
// safe for concurrent use.
type Store interface {
	// Get returns the value of key, or an error wrapping ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Put sets the value of key, replacing any value it had, durably.
	Put(ctx context.Context, key string, value []byte) error
	// Delete removes key; removing an absent key succeeds.
	Delete(ctx context.Context, key string) error
}

// MemStore is a Store in memory, for tests and for hosts that need no state
// across restarts. The zero value is ready to use.
type MemStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

var _ Store = (*MemStore)(nil)

// Get returns a copy of the value of key.
func (s *MemStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	if !ok {
		return nil, fmt.Errorf("store key %q: %w", key, ErrNotFound)
	}
	return append([]byte(nil), v...), nil
}

// Put stores a copy of value.
func (s *MemStore) Put(ctx context.Context, key string, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string][]byte)
	}
	s.m[key] = append([]byte(nil), value...)
	return nil
}

// Delete removes key.
func (s *MemStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// FileStore is a Store in a folder on disk: one file per key, written to a
// temporary file, synced and renamed into place, so that a crash leaves
// either the old value or the new one.
type FileStore struct {
	dir string
}

var _ Store = (*FileStore)(nil)

// NewFileStore returns a Store in dir, creating the folder if needed. Its
// files are readable by their owner only: they describe a customer's feed.
func NewFileStore(dir string) (*FileStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("usersync: file store: %w", err)
	}
	return &FileStore{dir: dir}, nil
}

// path maps a key to a file name: escaping and the prefix keep every key,
// even "." and "..", one file inside the folder.
func (s *FileStore) path(key string) string {
	return filepath.Join(s.dir, "k-"+url.PathEscape(key))
}

// Get reads the value of key.
func (s *FileStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v, err := os.ReadFile(s.path(key))
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("store key %q: %w", key, ErrNotFound)
	}
	return v, err
}

// Put writes the value of key atomically and durably.
func (s *FileStore) Put(ctx context.Context, key string, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.CreateTemp(s.dir, ".put-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename, there is nothing to remove
	if _, err := f.Write(value); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), s.path(key))
}

// Delete removes the value of key.
func (s *FileStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(s.path(key)); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

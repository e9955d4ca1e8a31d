package usersync_test

import (
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
)

// dedupSource is a Source that remembers applied contents by SHA-256, and
// counts how often each file is opened. local says whether it is a
// LocalSource.
type dedupSource struct {
	usersync.Source
	local   bool
	mu      sync.Mutex
	opens   map[string]int
	applied map[[32]byte]bool
}

func (s *dedupSource) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	s.mu.Lock()
	s.opens[name]++
	s.mu.Unlock()
	rc, err := s.Source.Open(ctx, name)
	if err != nil || s.local {
		return rc, err
	}
	return struct{ io.ReadCloser }{rc}, nil // a remote stream: no Seek
}

func (s *dedupSource) Applied(_ context.Context, f usersync.FileResult) (bool, error) {
	return s.applied[f.SHA256], nil
}

func (s *dedupSource) Finish(_ context.Context, f usersync.FileResult, outcome error) error {
	if outcome == nil {
		s.applied[f.SHA256] = true
	}
	return nil
}

func (s *dedupSource) IsLocal() bool { return s.local }

// countingMapper counts the files it is given to map.
type countingMapper struct {
	usersync.Mapper
	files int
}

func (m *countingMapper) NewReader(r io.Reader, f usersync.FileInfo) (usersync.RecordReader, error) {
	m.files++
	return m.Mapper.NewReader(r, f)
}

// TestAppliedFileIsNotMapped checks that a file a Deduplicator knows is
// recognized by its bytes alone, before anything decrypts or maps it, and
// that a new file is read from the Source once whether the Source is local
// (read twice from one open file) or remote (copied as it is hashed).
func TestAppliedFileIsNotMapped(t *testing.T) {
	for _, local := range []bool{true, false} {
		e := newEnv(t)
		src := &dedupSource{Source: e.src, local: local, opens: map[string]int{}, applied: map[[32]byte]bool{}}
		mapper := &countingMapper{Mapper: e.p.Mapper}
		tmp := t.TempDir()
		e.p.Source, e.p.Mapper, e.p.TempDir = src, mapper, tmp
		e.put(t, "users.csv", day1)

		res, err := e.p.Run(context.Background())
		require.NoError(t, err)
		assert.Equal(t, 3, res.Applied.Created, "local %v", local)
		assert.Equal(t, 1, src.opens["users.csv"], "one read of a new file from the Source (local %v)", local)
		assert.Equal(t, 1, mapper.files)

		res, err = e.p.Run(context.Background())
		require.NoError(t, err)
		assert.Equal(t, usersync.NothingToDo, res.Status)
		assert.True(t, res.Files[0].AlreadyApplied)
		assert.Equal(t, 2, src.opens["users.csv"], "one more read")
		assert.Equal(t, 1, mapper.files, "and no mapping")

		left, err := os.ReadDir(tmp)
		require.NoError(t, err)
		assert.Empty(t, left, "no copy is left behind (local %v)", local)
	}
}

// sizedSource is a dedupSource that is also a SizeDeduplicator, and counts
// the bytes read from it.
type sizedSource struct {
	*dedupSource
	sizes map[int64]bool // sizes of the applied contents
	read  int64
}

func (s *sizedSource) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	rc, err := s.dedupSource.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	cr := &countingReader{ReadCloser: rc, n: &s.read}
	if sk, ok := rc.(io.Seeker); ok {
		return struct {
			*countingReader
			io.Seeker
		}{cr, sk}, nil
	}
	return cr, nil
}

func (s *sizedSource) MaybeApplied(_ context.Context, f usersync.FileInfo) (bool, error) {
	return f.Size < 0 || s.sizes[f.Size], nil
}

func (s *sizedSource) Finish(ctx context.Context, f usersync.FileResult, outcome error) error {
	if outcome == nil {
		s.sizes[f.Bytes] = true
	}
	return s.dedupSource.Finish(ctx, f, outcome)
}

type countingReader struct {
	io.ReadCloser
	n *int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	*r.n += int64(n)
	return n, err
}

// TestSizeDeduplicatorReadsANewFileOnce checks that a file a
// SizeDeduplicator rules out by its size is read once, not hashed first
// and read again; a file of an applied size is hashed first, and not
// mapped when its content was applied.
func TestSizeDeduplicatorReadsANewFileOnce(t *testing.T) {
	e := newEnv(t)
	src := &sizedSource{
		dedupSource: &dedupSource{Source: e.src, local: true, opens: map[string]int{}, applied: map[[32]byte]bool{}},
		sizes:       map[int64]bool{},
	}
	mapper := &countingMapper{Mapper: e.p.Mapper}
	e.p.Source, e.p.Mapper = src, mapper
	e.put(t, "users.csv", day1)

	res, err := e.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, usersync.Succeeded, res.Status)
	assert.Equal(t, int64(len(day1)), src.read, "a new size: read once")

	src.read = 0
	res, err = e.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, usersync.NothingToDo, res.Status)
	assert.Equal(t, int64(len(day1)), src.read, "an applied size: hashed, and no more")
	assert.Equal(t, 1, mapper.files)

	same := strings.Replace(day1, "Ann", "Bob", 1) // other content, same size
	require.Len(t, same, len(day1))
	e.put(t, "users.csv", same)
	src.read = 0
	res, err = e.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, usersync.Succeeded, res.Status)
	assert.Equal(t, 2*int64(len(day1)), src.read, "an applied size with new content: hashed, then read")
	assert.Equal(t, 2, mapper.files)
}

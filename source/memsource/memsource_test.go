package memsource_test

import (
	"context"
	"io"
	"io/fs"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/source/memsource"
	"github.com/usersync/usersync/source/sourcetest"
)

// harness serves one Source as both the store and the Source over it.
type harness struct{ src *memsource.Source }

func (h harness) MakeSource(context.Context) (usersync.Source, error) { return h.src, nil }

func (h harness) Put(_ context.Context, name string, data []byte, modTime time.Time) error {
	return h.src.Put(name, data, modTime)
}

func (harness) Close() {}

func TestConformance(t *testing.T) {
	sourcetest.RunConformanceTests(t, func(context.Context, *testing.T) (sourcetest.Harness, error) {
		return harness{memsource.New()}, nil
	})
}

func TestPutCopiesAndOpenSnapshots(t *testing.T) {
	src := memsource.New()
	data := []byte("v1")
	require.NoError(t, src.Put("users.csv", data, time.Time{}))
	data[0] = 'X' // the caller's slice is not the stored one

	rc, err := src.Open(t.Context(), "users.csv")
	require.NoError(t, err)
	require.NoError(t, src.Put("users.csv", []byte("v2, longer"), time.Time{}))
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	assert.Equal(t, "v1", string(got), "a read under way sees the file as it was opened")
}

func TestPutRejects(t *testing.T) {
	src := memsource.New()
	require.NoError(t, src.Put("archive/old.csv", nil, time.Time{}))
	for _, name := range []string{"../x.csv", `a\b.csv`, "a\x00.csv", "."} {
		assert.ErrorIs(t, src.Put(name, nil, time.Time{}), fs.ErrInvalid, "Put(%q)", name)
	}
	assert.ErrorIs(t, src.Put("archive", nil, time.Time{}), fs.ErrExist, "a folder's name")
	assert.Error(t, src.Put("archive/old.csv/x.csv", nil, time.Time{}), "a name inside a file")
}

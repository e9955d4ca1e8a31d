package usersync_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
)

// testBundle is a BundleMapper: "part.csv" is read first, holds no users,
// and says which name the users file must have; the other files are read
// by a csvmap Mapper.
type testBundle struct {
	users *csvmap.Mapper
	begun int
	fail  error
}

func (b *testBundle) NewReader(io.Reader, usersync.FileInfo) (usersync.RecordReader, error) {
	return nil, errors.New("read without Begin")
}

func (b *testBundle) Begin(files []usersync.FileInfo) ([]usersync.FileInfo, usersync.Mapper, error) {
	b.begun++
	if b.fail != nil {
		return nil, nil, b.fail
	}
	out := slices.Clone(files)
	slices.SortStableFunc(out, func(x, y usersync.FileInfo) int {
		if x.Name == "part.csv" {
			return -1
		}
		if y.Name == "part.csv" {
			return 1
		}
		return 0
	})
	return out, &testRun{b: b}, nil
}

// testRun is the Mapper of one run of a testBundle.
type testRun struct {
	b        *testBundle
	partSeen bool
}

func (r *testRun) NewReader(rd io.Reader, f usersync.FileInfo) (usersync.RecordReader, error) {
	if f.Name == "part.csv" {
		r.partSeen = true
		return partOnly{}, nil
	}
	if !r.partSeen {
		return nil, errors.New(f.Name + " read before part.csv")
	}
	return r.b.users.NewReader(rd, f)
}

type partOnly struct{}

func (partOnly) Read() (usersync.Record, error) { return usersync.Record{}, io.EOF }
func (partOnly) Part() bool                     { return true }

func TestBundleMapperOrdersFilesAndAcceptsParts(t *testing.T) {
	e := newEnv(t)
	m, err := csvmap.New(schema, nil)
	require.NoError(t, err)
	b := &testBundle{users: m}
	e.p.Mapper = b
	e.put(t, "a-users.csv", day1)
	e.put(t, "part.csv", "anything")
	res, err := e.p.Run(context.Background())
	require.NoError(t, err)
	require.Len(t, res.Files, 2)
	assert.Equal(t, "part.csv", res.Files[0].Name, "the bundle's order")
	assert.Equal(t, 0, res.Files[0].Records, "a part counts without records")
	assert.Len(t, e.users(), 3)

	// Each run begins anew; a Begin that fails fails the run, reading
	// nothing.
	b.fail = errors.New("no manifest")
	res, err = e.p.Run(context.Background())
	require.ErrorIs(t, err, b.fail)
	assert.Equal(t, usersync.Failed, res.Status)
	assert.Empty(t, res.Files)
	assert.Equal(t, 2, b.begun)
}

// A file without records that is not a part still fails, with a
// BundleMapper too.
func TestBundleMapperEmptyFileStillFails(t *testing.T) {
	e := newEnv(t)
	m, err := csvmap.New(schema, nil)
	require.NoError(t, err)
	e.p.Mapper = &testBundle{users: m}
	e.put(t, "part.csv", "")
	e.put(t, "users.csv", "id,name,email,groups\n")
	_, err = e.p.Run(context.Background())
	require.ErrorIs(t, err, usersync.ErrNoRecords)
}

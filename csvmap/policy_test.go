package csvmap_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source/memsource"
)

// readUntilFileError reads data and returns the keys read, the number of
// rows rejected and the error that ended the file (nil at io.EOF).
func readUntilFileError(t *testing.T, m *csvmap.Mapper, data string) (keys []string, rejected int, err error) {
	t.Helper()
	rr, err := m.NewReader(strings.NewReader(data), usersync.FileInfo{Name: "users.csv"})
	if err != nil {
		return nil, 0, err
	}
	for {
		r, err := rr.Read()
		switch {
		case err == io.EOF:
			return keys, rejected, nil
		case errors.As(err, new(*usersync.RowError)):
			rejected++
		case err != nil:
			_, again := rr.Read()
			assert.Equal(t, err, again, "a file error is sticky")
			return keys, rejected, err
		default:
			keys = append(keys, r.Key)
		}
	}
}

// tenRows has ten rows, two of them bad and one skipped.
const tenRows = "UniqueID,Name,Mail,Skip\n" +
	"1,Ann,a@x,\n2,Bob,bad,\n3,Cy,c@x,\n4,Dan,d@x,1\n5,Eve,e@x,\n" +
	"6,Fay,f@x,\n7,Gus,bad,\n8,Hal,h@x,\n9,Ida,i@x,\n10,Jo,j@x,\n"

func TestHoldPolicy(t *testing.T) {
	tests := []struct {
		name     string
		hold     *csvmap.HoldPolicy
		keys     int
		rejected int
		err      string
	}{
		{"per row (the default)", nil, 7, 2, ""},
		{"any bad row", &csvmap.HoldPolicy{}, 1, 1, "too many rows rejected: more than 0 rows rejected, the last on line 3; the file is held and nothing from it is applied"},
		{"rows", &csvmap.HoldPolicy{Rows: 1, Percent: -1}, 4, 2, "too many rows rejected: more than 1 rows rejected, the last on line 8; the file is held and nothing from it is applied"},
		{"rows within the limit", &csvmap.HoldPolicy{Rows: 2, Percent: -1}, 7, 2, ""},
		{"percent, of the rows not skipped", &csvmap.HoldPolicy{Rows: -1, Percent: 20}, 7, 2, "too many rows rejected: 2 of 9 rows (22.2%), more than 20%; the file is held and nothing from it is applied"},
		{"percent within the limit", &csvmap.HoldPolicy{Rows: -1, Percent: 25}, 7, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMapper(t, testSchema(), &csvmap.Options{Hold: tt.hold})
			keys, rejected, err := readUntilFileError(t, m, tenRows)
			assert.Len(t, keys, tt.keys)
			assert.Equal(t, tt.rejected, rejected)
			if tt.err == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, csvmap.ErrTooManyRejected)
			assert.EqualError(t, err, tt.err)
		})
	}
}

func TestRowAndFileLimits(t *testing.T) {
	m := newMapper(t, testSchema(), &csvmap.Options{MaxRows: 3})
	keys, _, err := readUntilFileError(t, m, "UniqueID,Name\n1,a\n2,b\n\n3,c\n4,d\n")
	assert.Equal(t, []string{"1", "2", "3"}, keys)
	assert.ErrorIs(t, err, csvmap.ErrTooManyRows)
	assert.EqualError(t, err, "too many rows: line 6 is past the limit of 3 rows")

	data := "UniqueID,Name\n1,a\n2,b\n"
	m = newMapper(t, testSchema(), &csvmap.Options{MaxFileBytes: int64(len(data))})
	keys, _, err = readUntilFileError(t, m, data)
	assert.NoError(t, err, "a file of exactly the limit")
	assert.Len(t, keys, 2)

	m = newMapper(t, testSchema(), &csvmap.Options{MaxFileBytes: int64(len(data)) - 1})
	_, _, err = readUntilFileError(t, m, data)
	assert.ErrorIs(t, err, csvmap.ErrFileTooLarge)
	assert.EqualError(t, err, fmt.Sprintf("file too large: over %d bytes", len(data)-1))

	m = newMapper(t, testSchema(), &csvmap.Options{MaxFileBytes: 10})
	_, _, err = readUntilFileError(t, m, data)
	assert.ErrorIs(t, err, csvmap.ErrFileTooLarge, "in the header")
}

// pipeline runs one sync of the files through m into sink.
func pipeline(t *testing.T, m usersync.Mapper, sink *memsink.Sink, files map[string]string) (*usersync.Result, error) {
	t.Helper()
	src := memsource.New()
	for name, data := range files {
		require.NoError(t, src.Put(name, []byte(data), time.Now()))
	}
	p := usersync.Pipeline{Source: src, Mapper: m, Reconciler: reconcile.New(nil), Sink: sink}
	return p.Run(context.Background())
}

// A held file fails as a whole, with a FileError the Pipeline reports, and
// nothing from the run is applied.
func TestHeldFileFailsTheRun(t *testing.T) {
	m := newMapper(t, testSchema(), &csvmap.Options{Hold: &csvmap.HoldPolicy{Rows: 1, Percent: 10}})
	sink := memsink.New()
	res, err := pipeline(t, m, sink, map[string]string{"users.csv": tenRows})
	require.Error(t, err)
	assert.Equal(t, usersync.Failed, res.Status)
	var fe *usersync.FileError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "users.csv", fe.File)
	assert.ErrorIs(t, err, csvmap.ErrTooManyRejected)
	assert.Same(t, res.Files[0].Err, err)
	users, _ := sink.Snapshot()
	assert.Empty(t, users, "nothing applied")
}

// Rows that share a key once normalized are all rejected, naming one
// another, with the sentinel the Reconciler uses across files: it sees
// every file of a run, where a streaming reader cannot take back a record
// it has returned.
func TestDuplicateKeysAfterNormalization(t *testing.T) {
	m := newMapper(t, csvmap.Opensense(), nil)
	sink := memsink.New()
	res, err := pipeline(t, m, sink, map[string]string{
		"users.csv": "email,first_name\nAnn.Lee@Example.com,Ann\nbo@example.com,Bo\nann.lee@example.COM,Anna\n",
	})
	require.NoError(t, err)
	require.Len(t, res.Rejected, 2)
	for i, re := range res.Rejected {
		assert.ErrorIs(t, re, usersync.ErrDuplicateKey)
		assert.Equal(t, "ann.lee@example.com", re.Key)
		assert.Equal(t, []int{2, 4}[i], re.Line)
		assert.Contains(t, re.Error(), []string{"also on users.csv:4", "also on users.csv:2"}[i])
	}
	users, _ := sink.Snapshot()
	require.Len(t, users, 1)
	assert.Equal(t, "bo@example.com", users[0].Key)
}

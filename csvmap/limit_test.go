package csvmap_test

import (
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
)

// A stream serves a prefix, then size bytes of fill without a line break,
// and counts what it served.
type stream struct {
	prefix string
	fill   byte
	size   int64
	served int64
}

func (s *stream) Read(p []byte) (int, error) {
	if s.prefix != "" {
		n := copy(p, s.prefix)
		s.prefix = s.prefix[n:]
		s.served += int64(n)
		return n, nil
	}
	left := s.size - s.served
	if left <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), left)]
	for i := range p {
		p[i] = s.fill
	}
	s.served += int64(len(p))
	return len(p), nil
}

const mib = 1 << 20

// heapAllocated runs f and returns the bytes it allocated.
func heapAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A file without line breaks must stop at MaxRecordBytes (16 MiB by
// default) with a clear error, not be read into memory whole.
func TestNewlineFreeStreamStops(t *testing.T) {
	const size = 50 * mib
	for _, tt := range []struct {
		name   string
		opts   *csvmap.Options
		prefix string
		limit  int64 // the record bound in effect
		msg    string
	}{
		{"default, in a row", nil, "UniqueID,Name\n1,", 16 * mib,
			"record too long: the record after line 1 is over 16777216 bytes; is a line break missing or a quote left open?"},
		{"default, unclosed quote", nil, "UniqueID,Name\n1,\"", 16 * mib, ""},
		{"default, in the header", nil, "UniqueID,", 16 * mib,
			"record too long: the header line is over 16777216 bytes"},
		{"small fields", &csvmap.Options{MaxFieldBytes: 1024}, "UniqueID,Name\n1,Ann\n2,", 16 * 1024,
			"record too long: the record after line 2 is over 16384 bytes; is a line break missing or a quote left open?"},
		{"record bound", &csvmap.Options{MaxRecordBytes: 1000}, "UniqueID,Name\n1,", 1000, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newMapper(t, testSchema(), tt.opts)
			s := &stream{prefix: tt.prefix, fill: 'a', size: size}
			var err error
			alloc := heapAllocated(func() {
				var rr usersync.RecordReader
				rr, err = m.NewReader(s, usersync.FileInfo{Name: "f.csv"})
				for err == nil {
					_, err = rr.Read()
				}
			})
			require.ErrorIs(t, err, csvmap.ErrRecordTooLong)
			var re *usersync.RowError
			assert.False(t, errors.As(err, &re), "the file fails")
			if tt.msg != "" {
				assert.EqualError(t, err, tt.msg)
			}
			assert.LessOrEqual(t, s.served, int64(len(tt.prefix))+tt.limit, "read no further than the bound")
			// encoding/csv grows its line buffer in steps of 1.25 and then
			// copies the record twice, so a record costs about eight times
			// its size in allocations (three times at the peak). Unbounded,
			// this 50 MiB line would cost some 400 MiB.
			assert.Less(t, alloc, uint64(10*tt.limit+mib), "memory stays within a fixed multiple of the bound")
			t.Logf("served %d bytes, allocated %.1f MiB", s.served, float64(alloc)/mib)
		})
	}
}

// The bound counts a record's bytes, line break included, exactly; and it
// applies to each record, not the file.
func TestRecordBoundIsExact(t *testing.T) {
	m := newMapper(t, testSchema(), &csvmap.Options{MaxRecordBytes: 20})
	ok := "1234567890,12345678\n" // 20 bytes
	readAll(t, m, "UniqueID,Name\n"+strings.Repeat(ok, 1000), func() []row {
		want := make([]row, 1000)
		for i := range want {
			want[i] = rec(i+2, "1234567890", "name", "12345678")
		}
		return want
	}())

	rr, err := m.NewReader(strings.NewReader("UniqueID,Name\n"+ok+"1234567890,123456789\n"), usersync.FileInfo{Name: "f"})
	require.NoError(t, err)
	_, err = rr.Read()
	require.NoError(t, err)
	_, err = rr.Read()
	assert.ErrorIs(t, err, csvmap.ErrRecordTooLong)

	// A record with quoted line breaks is one record.
	m = newMapper(t, testSchema(), &csvmap.Options{MaxRecordBytes: 30})
	readAll(t, m, "UniqueID,Name\n1,\"a\nb\nc\nd\"\n", []row{rec(2, "1", "name", "a\nb\nc\nd")})
	rr, err = m.NewReader(strings.NewReader("UniqueID,Name\n1,\""+strings.Repeat("a\n", 20)+"\"\n"), usersync.FileInfo{Name: "f"})
	require.NoError(t, err)
	_, err = rr.Read()
	assert.ErrorIs(t, err, csvmap.ErrRecordTooLong)
}

// Looking at the start of a file for its encoding and delimiter reads no
// further than the bound allows: a small bound still reads every record,
// after a byte order mark too, and in UTF-16.
func TestSmallBoundWithDetection(t *testing.T) {
	ok := "1234567890,12345678\n" // 20 bytes
	text := "UniqueID,Name\n" + strings.Repeat(ok, 50)
	want := make([]row, 50)
	for i := range want {
		want[i] = rec(i+2, "1234567890", "name", "12345678")
	}
	m := newMapper(t, testSchema(), &csvmap.Options{MaxRecordBytes: 20})
	readAll(t, m, text, want)
	readAll(t, m, "\uFEFF"+text, want)
	readAll(t, m, string(utf16le([]byte(text))), want) // the bound counts decoded bytes
}

// Blank lines are not part of any record: however many come before a row,
// with \n or \r\n, they do not count toward its bound (encoding/csv reads
// such a file fine). Before the header too.
func TestBlankLinesDoNotCountTowardTheBound(t *testing.T) {
	ok := "1234567890,12345678\n" // 20 bytes, the bound
	m := newMapper(t, testSchema(), &csvmap.Options{MaxRecordBytes: 20})
	const n = 100_000 // blank lines, far more than the read buffer holds
	for _, blank := range []string{"\n", "\r\n"} {
		blanks := strings.Repeat(blank, n)
		readAll(t, m, "UniqueID,Name\n"+blanks+ok, []row{rec(n+2, "1234567890", "name", "12345678")})
		readAll(t, m, blanks+"UniqueID,Name\n"+ok, []row{rec(n+2, "1234567890", "name", "12345678")})
	}
}

// A record cut short by the bound fails the file even when a stray quote
// comes before the bound: the quote's parse error must not hide the cut,
// or the rest of the line would be read as a row of its own. Here that
// rest is a valid row, 3,Eve, which is not in the file.
func TestRecordOverTheBoundWithAStrayQuote(t *testing.T) {
	m := newMapper(t, testSchema(), &csvmap.Options{MaxRecordBytes: 40})
	for _, start := range []string{`1,An"n`, `1,"An"n`} {
		line := start + strings.Repeat("x", 40-len(start)) + "3,Eve\n" // the bound falls before "3"
		rr, err := m.NewReader(strings.NewReader("UniqueID,Name\n"+line+"2,Bob\n"), usersync.FileInfo{Name: "f.csv"})
		require.NoError(t, err)
		var keys []string
		for {
			var r usersync.Record
			r, err = rr.Read()
			var re *usersync.RowError
			if err == nil {
				keys = append(keys, r.Key)
			} else if !errors.As(err, &re) {
				break
			}
		}
		assert.ErrorIs(t, err, csvmap.ErrRecordTooLong, start)
		assert.Empty(t, keys, start)
	}
}

// A read error that cuts a row with a stray quote short fails the file
// with that error, as it does any other row.
func TestStreamErrorAfterAStrayQuote(t *testing.T) {
	m := newMapper(t, testSchema(), nil)
	broken := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("UniqueID,Name\n1,An\"n"), &failingReader{err: broken})
	rr, err := m.NewReader(r, usersync.FileInfo{Name: "f.csv"})
	require.NoError(t, err)
	_, err = rr.Read()
	assert.ErrorIs(t, err, broken)
	var re *usersync.RowError
	assert.False(t, errors.As(err, &re), "the file fails, not the row: %v", err)
}

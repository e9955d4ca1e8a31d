// Package sourcetest checks that an implementation of [usersync.Source]
// keeps the contract the usersync package writes down, the way
// testing/fstest checks an fs.FS and gocloud's drivertest checks a blob
// driver. Every Source in this module passes it; a Source of your own
// should too.
//
// # Using it
//
// An implementation writes a [Harness] over a store that its Source reads
// (a folder, an SFTP server, memory) and hands a [HarnessMaker] to
// [RunConformanceTests]. Each case gets a new harness, so a store needs no
// cleaning between cases. A test over a local folder looks like this:
//
//	type harness struct{ dir string }
//
//	func (h *harness) MakeSource(ctx context.Context) (usersync.Source, error) {
//		return dirsource.New(h.dir, nil)
//	}
//
//	func (h *harness) Put(ctx context.Context, name string, data []byte, modTime time.Time) error {
//		p := filepath.Join(h.dir, filepath.FromSlash(name))
//		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
//			return err
//		}
//		if err := os.WriteFile(p, data, 0o644); err != nil {
//			return err
//		}
//		return os.Chtimes(p, modTime, modTime)
//	}
//
//	func (h *harness) Close() {}
//
//	func TestConformance(t *testing.T) {
//		sourcetest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (sourcetest.Harness, error) {
//			return &harness{dir: t.TempDir()}, nil
//		})
//	}
//
// # What it checks
//
// Beyond what the usersync.Source documentation says, the suite holds a
// Source to these rules, which every stock Source follows:
//
//   - List lists the files of the Source's folder, not of its subfolders:
//     files a Renamer moved to "archive/" are not offered again. The files
//     of subfolders can still be opened by their slash-separated names.
//   - FileInfo.Size is exact or -1 (unknown). FileInfo.ModTime is within a
//     second of the time the file was written with, or zero (unknown); the
//     suite writes whole seconds.
//   - A name that does not satisfy fs.ValidPath, or that holds a backslash
//     or a control character, is rejected before the store is touched,
//     with an error for which errors.Is(err, fs.ErrInvalid) is true. The
//     github.com/usersync/usersync/source package's ValidName implements
//     this rule.
//   - A ctx canceled before a call makes List, Remove and Rename fail, and
//     Open or its first Read fail, with errors for which
//     errors.Is(err, context.Canceled) is true. Canceling during a read
//     makes a later Read fail the same way, before the end of the file.
//   - Concurrent Opens of different files, read at the same time, each
//     deliver their own bytes. (A Source over a protocol with one transfer
//     per connection, such as FTP, must use a connection per reader or
//     make readers wait their turn.)
//   - Close may be called again and returns nil. After Close, List, Open,
//     Remove and Rename fail with errors wrapping fs.ErrClosed, and Check
//     reports such an error.
//   - Remove deletes a file; Rename moves one, creating the folders of the
//     new name as needed; both fail with fs.ErrNotExist for a missing file.
//   - Check, on a healthy store, returns at least one result and every
//     result passes.
//
// The suite uses names with spaces and non-ASCII letters, but never a name
// that starts with "." (some Sources skip such files, as upload tools'
// temporary files) and never two names that differ only in case.
package sourcetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
)

// A Harness gives the suite a Source and a way to put files behind its back.
type Harness interface {
	// MakeSource returns a Source over the harness's store. Repeated calls
	// within one test see the same store. The suite closes each Source it
	// makes.
	MakeSource(ctx context.Context) (usersync.Source, error)
	// Put writes a file directly into the backing store, bypassing the
	// Source, as a customer's upload would, and sets its modification time
	// to modTime (List must report that time, or none). A name with
	// slashes puts the file in a subfolder, which Put creates as needed.
	// Put replaces an existing file.
	Put(ctx context.Context, name string, data []byte, modTime time.Time) error
	// Close releases the store. The suite calls it once per harness, after
	// closing the Sources it made.
	Close()
}

// A HarnessMaker makes a Harness over a new, empty store. The suite calls it
// once per case.
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

// RunConformanceTests runs the suite against the Sources that newHarness
// makes, each case as a subtest of t with a new harness. Cases for the
// optional Remover, Renamer and Checker interfaces are skipped when the
// Source does not implement them.
func RunConformanceTests(t *testing.T, newHarness HarnessMaker) {
	t.Helper()
	cases := []struct {
		name string
		run  func(*testing.T, *fixture)
	}{
		{"ListEmpty", testListEmpty},
		{"ListSortedWithSizeAndModTime", testListSorted},
		{"ListTopLevelOnly", testListTopLevelOnly},
		{"OpenContent", testOpenContent},
		{"OpenMissing", testOpenMissing},
		{"OpenInvalidName", testOpenInvalidName},
		{"UnicodeAndSpaceNames", testUnicodeNames},
		{"CanceledContext", testCanceledContext},
		{"CancelDuringRead", testCancelDuringRead},
		{"ConcurrentOpen2", testConcurrentOpen(2)},
		{"ConcurrentOpen8", testConcurrentOpen(8)},
		{"Close", testClose},
		{"Remove", testRemove},
		{"Rename", testRename},
		{"Check", testCheck},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, newFixture(t, newHarness))
		})
	}
}

// fixture is one case's harness and context.
type fixture struct {
	ctx context.Context
	h   Harness
}

func newFixture(t *testing.T, newHarness HarnessMaker) *fixture {
	ctx := t.Context()
	h, err := newHarness(ctx, t)
	require.NoError(t, err, "HarnessMaker")
	t.Cleanup(h.Close)
	return &fixture{ctx: ctx, h: h}
}

// source makes a Source and closes it when the test ends, before the
// harness (cleanups run last-in first-out).
func (f *fixture) source(t *testing.T) usersync.Source {
	t.Helper()
	src, err := f.h.MakeSource(f.ctx)
	require.NoError(t, err, "Harness.MakeSource")
	require.NotNil(t, src, "Harness.MakeSource")
	t.Cleanup(func() { _ = src.Close() })
	return src
}

func (f *fixture) put(t *testing.T, name string, data []byte, modTime time.Time) {
	t.Helper()
	require.NoError(t, f.h.Put(f.ctx, name, data, modTime), "Harness.Put(%q)", name)
}

// putFiles puts files with the same modification time.
func (f *fixture) putFiles(t *testing.T, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		f.put(t, name, data, modTime())
	}
}

// modTime returns the time files are put with: a whole second, as the
// package doc promises.
func modTime() time.Time { return time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC) }

func testListEmpty(t *testing.T, f *fixture) {
	files, err := f.source(t).List(f.ctx)
	require.NoError(t, err)
	assert.Empty(t, files)
}

func testListSorted(t *testing.T, f *fixture) {
	// Put in an order that is not sorted, with sizes and times all distinct.
	names := []string{"users.csv", "Bravo.csv", "alpha.csv", "alpha 2.csv", "1.csv", "_x.csv", "zulu.txt"}
	want := make(map[string]usersync.FileInfo, len(names))
	for i, name := range names {
		fi := usersync.FileInfo{
			Name:    name,
			Size:    int64(10 * i),
			ModTime: modTime().Add(-time.Duration(i) * 49 * time.Hour),
		}
		f.put(t, name, bytes.Repeat([]byte{'x'}, int(fi.Size)), fi.ModTime)
		want[name] = fi
	}
	files, err := f.source(t).List(f.ctx)
	require.NoError(t, err)

	got := fileNames(files)
	assert.ElementsMatch(t, names, got, "List names")
	assert.True(t, slices.IsSorted(got), "List is not sorted by name: %q", got)
	for _, fi := range files {
		assert.True(t, fs.ValidPath(fi.Name), "List name %q is not fs.ValidPath", fi.Name)
		w, ok := want[fi.Name]
		if !ok {
			continue
		}
		if fi.Size != -1 {
			assert.Equal(t, w.Size, fi.Size, "Size of %q (want exact or -1)", fi.Name)
		}
		if !fi.ModTime.IsZero() {
			assert.WithinDuration(t, w.ModTime, fi.ModTime, time.Second, "ModTime of %q (want within 1s or zero)", fi.Name)
		}
	}
}

func testListTopLevelOnly(t *testing.T, f *fixture) {
	f.putFiles(t, map[string][]byte{
		"users.csv":          []byte("top"),
		"archive/old.csv":    []byte("old"),
		"archive/2026/x.csv": []byte("older"),
	})
	src := f.source(t)
	assert.Equal(t, []string{"users.csv"}, listNames(t, f.ctx, src),
		"List must list the folder's files, not its subfolders or their files")

	got, err := readFile(f.ctx, src, "archive/old.csv")
	require.NoError(t, err, "a file in a subfolder opens by its slash-separated name")
	assert.Equal(t, "old", string(got))

	rc, err := src.Open(f.ctx, "archive")
	if err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	assert.Error(t, err, "opening and reading a folder must fail")
}

// A contentCase is a file that transports are known to mangle.
type contentCase struct {
	name string
	data []byte
}

func contentCases() []contentCase {
	return []contentCase{
		{"empty.csv", []byte{}},
		{"nul.csv", []byte("id;name\n1;A\x00nn\n\x00\x00\n")},
		{"crlf.csv", []byte("id,name\r\n1,Ann\r\n2,\"Bo\r\nBerg\"\r\n\r")},
		{"utf16.csv", utf16LE("id;namn\r\n1;Åsa Öberg\r\n")},
		// Starts like an OpenPGP public-key encrypted session key packet.
		{"users.csv.pgp", append([]byte{0x85, 0x01, 0x0c}, randomBytes(1, 64<<10)...)},
		{"large.csv", randomBytes(2, 5<<20)},
	}
}

// utf16LE encodes s as UTF-16LE with a byte order mark, as Excel's
// "Unicode text" export does.
func utf16LE(s string) []byte {
	b := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// randomBytes returns n reproducible random bytes.
func randomBytes(seed uint64, n int) []byte {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(s).Read(b) // never fails
	return b
}

// bigFile is the size above which a file is read in large pieces:
// iotest.TestReader reads 1 to 3 bytes at a time, which over a network
// Source costs a round trip per Read.
const bigFile = 1 << 20

func testOpenContent(t *testing.T, f *fixture) {
	cases := contentCases()
	for _, c := range cases {
		f.put(t, c.name, c.data, modTime())
	}
	src := f.source(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc, err := src.Open(f.ctx, c.name)
			require.NoError(t, err)
			if len(c.data) > bigFile {
				assert.NoError(t, readToEnd(rc, c.data))
			} else {
				assert.NoError(t, iotest.TestReader(rc, c.data))
			}
			assert.NoError(t, rc.Close(), "Close after a full read")
		})
	}
}

// readToEnd checks that r delivers want and then io.EOF.
func readToEnd(r io.Reader, want []byte) error {
	got, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read after %d bytes: %w", len(got), err)
	}
	if err := sameBytes(got, want); err != nil {
		return err
	}
	if n, err := r.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		return fmt.Errorf("a Read at EOF returned %d, %v; want 0, io.EOF", n, err)
	}
	return nil
}

// sameBytes compares contents without printing megabytes.
func sameBytes(got, want []byte) error {
	if bytes.Equal(got, want) {
		return nil
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Errorf("read %d bytes, want %d; first difference at offset %d", len(got), len(want), i)
}

func testOpenMissing(t *testing.T, f *fixture) {
	f.put(t, "users.csv", []byte("x"), modTime())
	src := f.source(t)
	for _, name := range []string{"missing.csv", "USERS.csv.bak", "nofolder/users.csv"} {
		rc, err := src.Open(f.ctx, name)
		if err == nil {
			_, err = io.ReadAll(rc)
			rc.Close()
		}
		assert.ErrorIs(t, err, fs.ErrNotExist, "Open(%q)", name)
	}
}

// invalidNames must be rejected. Several would resolve to "b.csv" or
// "a/x.csv", which the test puts, if a Source cleaned them instead.
func invalidNames() []string {
	return []string{
		"", ".", "..", "../b.csv", "/b.csv", "/a/x.csv", "./b.csv", "a/../b.csv",
		"a/./x.csv", "a//x.csv", "a/", "a/x.csv/", `a\x.csv`, `..\b.csv`, `\b.csv`,
		"b.csv\x00", "a\x00/x.csv", "b\n.csv", "b.csv\r", "\x7f", "b\x1b.csv", "b\u0085.csv",
	}
}

func testOpenInvalidName(t *testing.T, f *fixture) {
	f.putFiles(t, map[string][]byte{"b.csv": []byte("b"), "a/x.csv": []byte("x")})
	src := f.source(t)
	for _, name := range invalidNames() {
		rc, err := src.Open(f.ctx, name)
		if err == nil {
			data, _ := io.ReadAll(rc)
			rc.Close()
			t.Errorf("Open(%q) succeeded and read %q; want an error wrapping fs.ErrInvalid", name, data)
			continue
		}
		assert.ErrorIs(t, err, fs.ErrInvalid, "Open(%q)", name)
	}
}

func testUnicodeNames(t *testing.T, f *fixture) {
	names := []string{"Åsa users.csv", "users (1).csv", "名簿.csv", "Ünïcödé-ß-😀.csv", "two  spaces.csv"}
	for i, name := range names {
		f.put(t, name, []byte(fmt.Sprintf("%d:%s", i, name)), modTime())
	}
	src := f.source(t)
	got := listNames(t, f.ctx, src)
	want := slices.Sorted(slices.Values(names))
	assert.Equal(t, want, got, "List must return names exactly as written")
	for i, name := range names {
		data, err := readFile(f.ctx, src, name)
		if assert.NoError(t, err, "Open(%q)", name) {
			assert.Equal(t, fmt.Sprintf("%d:%s", i, name), string(data), "content of %q", name)
		}
	}
}

func testCanceledContext(t *testing.T, f *fixture) {
	f.put(t, "users.csv", []byte("id\n1\n"), modTime())
	src := f.source(t)
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()

	_, err := src.List(ctx)
	assert.ErrorIs(t, err, context.Canceled, "List with a canceled ctx")

	rc, err := src.Open(ctx, "users.csv")
	if err == nil {
		var n int
		n, err = rc.Read(make([]byte, 64))
		rc.Close()
		assert.Zero(t, n, "first Read with a canceled ctx returned data")
	}
	assert.ErrorIs(t, err, context.Canceled, "Open or first Read with a canceled ctx")
}

func testCancelDuringRead(t *testing.T, f *fixture) {
	data := randomBytes(3, 5<<20)
	f.put(t, "large.csv", data, modTime())
	src := f.source(t)
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()

	rc, err := src.Open(ctx, "large.csv")
	require.NoError(t, err)
	defer rc.Close()
	head := make([]byte, 64<<10)
	_, err = io.ReadFull(rc, head)
	require.NoError(t, err, "read before cancel")
	require.NoError(t, sameBytes(head, data[:len(head)]))

	cancel()
	n, err := io.Copy(io.Discard, rc)
	require.Error(t, err, "reads after cancel went on to EOF (%d more bytes)", n)
	assert.ErrorIs(t, err, context.Canceled, "Read after cancel")
}

func testConcurrentOpen(n int) func(*testing.T, *fixture) {
	return func(t *testing.T, f *fixture) {
		files := make(map[string][]byte, n)
		for i := range n {
			// Different sizes, so that a reader handed another's stream ends wrong.
			files[fmt.Sprintf("users-%d.csv", i)] = randomBytes(uint64(10+i), 256<<10+1000*i)
		}
		f.putFiles(t, files)
		src := f.source(t)

		start := make(chan struct{})
		var mu sync.Mutex
		errs := make(map[string]error)
		var wg sync.WaitGroup
		for name, data := range files {
			wg.Go(func() {
				<-start
				got, err := readFile(f.ctx, src, name)
				if err == nil {
					err = sameBytes(got, data)
				}
				mu.Lock()
				errs[name] = err
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		for name, err := range errs {
			assert.NoError(t, err, "concurrent read of %q", name)
		}
	}
}

func testClose(t *testing.T, f *fixture) {
	f.put(t, "users.csv", []byte("x"), modTime())
	src := f.source(t)
	require.NoError(t, src.Close())
	require.NoError(t, src.Close(), "second Close")

	_, err := src.List(f.ctx)
	assert.ErrorIs(t, err, fs.ErrClosed, "List after Close")
	rc, err := src.Open(f.ctx, "users.csv")
	if err == nil {
		rc.Close()
	}
	assert.ErrorIs(t, err, fs.ErrClosed, "Open after Close")
	if rm, ok := src.(usersync.Remover); ok {
		assert.ErrorIs(t, rm.Remove(f.ctx, "users.csv"), fs.ErrClosed, "Remove after Close")
	}
	if rn, ok := src.(usersync.Renamer); ok {
		assert.ErrorIs(t, rn.Rename(f.ctx, "users.csv", "done.csv"), fs.ErrClosed, "Rename after Close")
	}
	if ch, ok := src.(usersync.Checker); ok {
		assert.True(t, slices.ContainsFunc(ch.Check(f.ctx), func(r usersync.CheckResult) bool {
			return errors.Is(r.Err, fs.ErrClosed)
		}), "Check after Close must report an error wrapping fs.ErrClosed")
	}
}

func testRemove(t *testing.T, f *fixture) {
	f.putFiles(t, map[string][]byte{"users.csv": []byte("x"), "keep.csv": []byte("k"), "a/x.csv": []byte("a")})
	src := f.source(t)
	rm, ok := src.(usersync.Remover)
	if !ok {
		t.Skip("Source does not implement usersync.Remover")
	}
	require.NoError(t, rm.Remove(f.ctx, "users.csv"))
	assert.Equal(t, []string{"keep.csv"}, listNames(t, f.ctx, src), "List after Remove")
	_, err := readFile(f.ctx, src, "users.csv")
	assert.ErrorIs(t, err, fs.ErrNotExist, "Open after Remove")

	assert.ErrorIs(t, rm.Remove(f.ctx, "users.csv"), fs.ErrNotExist, "Remove of a removed file")
	assert.ErrorIs(t, rm.Remove(f.ctx, "missing.csv"), fs.ErrNotExist, "Remove of a missing file")
	for _, name := range []string{"../keep.csv", "a/../keep.csv", `a\..\keep.csv`, "/keep.csv", "."} {
		assert.ErrorIs(t, rm.Remove(f.ctx, name), fs.ErrInvalid, "Remove(%q)", name)
	}

	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	assert.ErrorIs(t, rm.Remove(ctx, "keep.csv"), context.Canceled, "Remove with a canceled ctx")
	assert.Equal(t, []string{"keep.csv"}, listNames(t, f.ctx, src), "files left after failed Removes")
	data, err := readFile(f.ctx, src, "a/x.csv")
	assert.NoError(t, err, "a/x.csv must survive the rejected Removes")
	assert.Equal(t, "a", string(data))
}

func testRename(t *testing.T, f *fixture) {
	const content = "id;name\r\n1;Åsa\r\n"
	f.putFiles(t, map[string][]byte{"users.csv": []byte(content), "other.csv": []byte("o")})
	src := f.source(t)
	rn, ok := src.(usersync.Renamer)
	if !ok {
		t.Skip("Source does not implement usersync.Renamer")
	}
	moved := func(oldname, newname string, wantList []string) {
		t.Helper()
		require.NoError(t, rn.Rename(f.ctx, oldname, newname), "Rename(%q, %q)", oldname, newname)
		assert.Equal(t, wantList, listNames(t, f.ctx, src), "List after Rename(%q, %q)", oldname, newname)
		_, err := readFile(f.ctx, src, oldname)
		assert.ErrorIs(t, err, fs.ErrNotExist, "Open(%q) after it was renamed", oldname)
	}
	moved("users.csv", "done.csv", []string{"done.csv", "other.csv"})
	moved("done.csv", "archive/2026/users.csv", []string{"other.csv"})
	data, err := readFile(f.ctx, src, "archive/2026/users.csv")
	require.NoError(t, err)
	assert.Equal(t, content, string(data), "content after Rename")
	moved("other.csv", "archive/2026/other.csv", []string{}) // into a folder that exists
	moved("archive/2026/other.csv", "other.csv", []string{"other.csv"})

	assert.ErrorIs(t, rn.Rename(f.ctx, "missing.csv", "x.csv"), fs.ErrNotExist, "Rename of a missing file")
	for _, names := range [][2]string{{"other.csv", "../x.csv"}, {"../other.csv", "x.csv"}, {"other.csv", `a\x.csv`}, {"other.csv", "."}} {
		assert.ErrorIs(t, rn.Rename(f.ctx, names[0], names[1]), fs.ErrInvalid, "Rename(%q, %q)", names[0], names[1])
	}
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	assert.ErrorIs(t, rn.Rename(ctx, "other.csv", "x.csv"), context.Canceled, "Rename with a canceled ctx")
	assert.Equal(t, []string{"other.csv"}, listNames(t, f.ctx, src), "files left after failed Renames")
}

func testCheck(t *testing.T, f *fixture) {
	f.put(t, "users.csv", []byte("x"), modTime())
	src := f.source(t)
	ch, ok := src.(usersync.Checker)
	if !ok {
		t.Skip("Source does not implement usersync.Checker")
	}
	results := ch.Check(f.ctx)
	require.NotEmpty(t, results, "Check returned no result")
	for _, r := range results {
		assert.NotEmpty(t, r.Name, "CheckResult.Name")
		assert.NoError(t, r.Err, "check %q on a healthy store", r.Name)
	}
}

// listNames lists src and returns the names, never nil.
func listNames(t *testing.T, ctx context.Context, src usersync.Source) []string {
	t.Helper()
	files, err := src.List(ctx)
	require.NoError(t, err, "List")
	return fileNames(files)
}

func fileNames(files []usersync.FileInfo) []string {
	names := make([]string, 0, len(files))
	for _, fi := range files {
		names = append(names, fi.Name)
	}
	return names
}

// readFile opens and reads a whole file; an error from Close counts as a
// failed read, as the Source contract says.
func readFile(ctx context.Context, src usersync.Source, name string) ([]byte, error) {
	rc, err := src.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return data, err
}

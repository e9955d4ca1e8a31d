package source_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/dirsource"
	"github.com/usersync/usersync/source/memsource"
	"github.com/usersync/usersync/source/sourcetest"
)

const (
	day1 = "id,name,email\ne1,Ann Berg,ann@example.com\ne2,Bo Ek,bo@example.com\n"
	day2 = "id,name,email\ne1,Ann Berg,ann@example.com\ne3,Cy Dahl,cy@example.com\n"
)

// t0 is the fake clock's start.
var t0 = time.Date(2026, 3, 14, 2, 0, 0, 0, time.UTC)

// clock is a fake clock: Sleep advances it and runs onSleep, standing for
// what happens on the server meanwhile.
type clock struct {
	now     time.Time
	slept   []time.Duration
	onSleep func()
}

func (c *clock) Now() time.Time { return c.now }

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	if c.onSleep != nil {
		c.onSleep()
	}
	return ctx.Err()
}

// quiet is a logger that drops everything.
var quiet = slog.New(slog.DiscardHandler)

// pickupEnv is a Pipeline reading a memsource through a Picker.
type pickupEnv struct {
	src   *memsource.Source
	clock *clock
	store *usersync.MemStore
	sink  *memsink.Sink
	p     *usersync.Pipeline
	pick  *source.Picker
}

func newPickupEnv(t *testing.T, opts source.PickupOptions) *pickupEnv {
	t.Helper()
	e := &pickupEnv{src: memsource.New(), clock: &clock{now: t0}, store: &usersync.MemStore{}, sink: memsink.New()}
	e.use(t, e.src, opts)
	return e
}

// use makes the Picker over src with opts plus the env's clock and store.
func (e *pickupEnv) use(t *testing.T, src usersync.Source, opts source.PickupOptions) {
	t.Helper()
	opts.Now, opts.Sleep, opts.Logger = e.clock.Now, e.clock.Sleep, quiet
	if opts.Store == nil {
		opts.Store = e.store
	}
	pick, err := source.Pickup(src, &opts)
	require.NoError(t, err)
	m, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Role: csvmap.Key},
		{Name: "name", Required: true},
		{Name: "email", Kind: csvmap.Email, Required: true},
	}}, nil)
	require.NoError(t, err)
	e.pick = pick
	e.p = &usersync.Pipeline{Source: pick, Mapper: m, Reconciler: reconcile.New(nil), Sink: e.sink, Now: e.clock.Now}
}

// put uploads a file modified age before the clock's now.
func (e *pickupEnv) put(t *testing.T, name, data string, age time.Duration) {
	t.Helper()
	require.NoError(t, e.src.Put(name, []byte(data), e.clock.now.Add(-age)))
}

func (e *pickupEnv) run(t *testing.T) *usersync.Result {
	t.Helper()
	res, _ := e.p.Run(t.Context())
	return res
}

// files lists every file of the memsource, subfolders included.
func (e *pickupEnv) files(t *testing.T, names ...string) []string {
	t.Helper()
	var got []string
	for _, n := range names {
		rc, err := e.src.Open(t.Context(), n)
		if err == nil {
			rc.Close()
			got = append(got, n)
		}
	}
	return got
}

func (e *pickupEnv) list(t *testing.T) []string {
	t.Helper()
	files, err := e.pick.List(t.Context())
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	return names
}

func (e *pickupEnv) users() []string {
	users, _ := e.sink.Snapshot()
	var keys []string
	for _, u := range users {
		if !u.Inactive {
			keys = append(keys, u.Key)
		}
	}
	return keys
}

func TestPickupPattern(t *testing.T) {
	e := newPickupEnv(t, source.PickupOptions{Pattern: "users.csv"})
	for _, n := range []string{"users.csv", "users.csv.bak", "Users.csv", "groups.csv"} {
		e.put(t, n, day1, time.Hour)
	}
	assert.Equal(t, []string{"users.csv"}, e.list(t), "a fixed name takes only that file")

	e.use(t, e.src, source.PickupOptions{Pattern: "*.csv"})
	assert.Equal(t, []string{"Users.csv", "groups.csv", "users.csv"}, e.list(t))

	_, err := source.Pickup(e.src, &source.PickupOptions{Pattern: "[users"})
	assert.ErrorIs(t, err, path.ErrBadPattern)
}

func TestPickupMinAge(t *testing.T) {
	e := newPickupEnv(t, source.PickupOptions{})
	e.put(t, "old.csv", day1, 2*time.Minute)
	e.put(t, "new.csv", day1, 10*time.Second)
	e.put(t, "future.csv", day1, -time.Hour)
	require.NoError(t, e.src.Put("untimed.csv", []byte(day1), time.Time{}))

	ready, waiting, err := e.pick.Ready(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []string{"old.csv"}, names(ready), "by default a file must be a minute old")
	reasons := map[string]string{}
	for _, w := range waiting {
		reasons[w.Name] = w.Reason
	}
	assert.Equal(t, map[string]string{
		"new.csv":     "modified 10s ago, taken after 1m0s",
		"future.csv":  "modified 1h0m0s in the future (is the server's clock ahead?), taken after 1m0s",
		"untimed.csv": "the source reports no modification time, so its age is unknown",
	}, reasons)

	e.clock.now = e.clock.now.Add(time.Minute)
	assert.Equal(t, []string{"new.csv", "old.csv"}, e.list(t), "a minute later")

	e.use(t, e.src, source.PickupOptions{MinAge: -1})
	assert.Equal(t, []string{"future.csv", "new.csv", "old.csv", "untimed.csv"}, e.list(t), "MinAge < 0 takes any age")
}

// levels records the level of each log line, by message.
type levels struct {
	mu    sync.Mutex
	lines []string
}

func (l *levels) Enabled(context.Context, slog.Level) bool { return true }
func (l *levels) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, r.Level.String()+" "+r.Message)
	return nil
}
func (l *levels) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *levels) WithGroup(string) slog.Handler      { return l }

func TestPickupLogsAWaitingFileOnceAtInfo(t *testing.T) {
	e := newPickupEnv(t, source.PickupOptions{})
	logs := &levels{}
	pick, err := source.Pickup(e.src, &source.PickupOptions{Now: e.clock.Now, Logger: slog.New(logs)})
	require.NoError(t, err)
	e.put(t, "new.csv", day1, 10*time.Second)
	for range 3 { // a Runner watching the folder lists it again and again
		_, err := pick.List(t.Context())
		require.NoError(t, err)
	}
	require.NoError(t, e.src.Remove(t.Context(), "new.csv"))
	_, err = pick.List(t.Context())
	require.NoError(t, err)
	e.put(t, "new.csv", day1, 10*time.Second)
	_, err = pick.List(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []string{
		"INFO usersync: file not taken yet",
		"DEBUG usersync: file not taken yet",
		"DEBUG usersync: file not taken yet",
		"INFO usersync: file not taken yet", // waiting again, after it was gone
	}, logs.lines)
}

func TestPickupStableSize(t *testing.T) {
	e := newPickupEnv(t, source.PickupOptions{MinAge: -1, StableFor: 5 * time.Second})
	e.put(t, "growing.csv", day1[:20], 0)
	e.put(t, "done.csv", day1, 0)
	e.clock.onSleep = func() { e.put(t, "growing.csv", day1[:40], 0) }

	res := e.run(t)
	assert.Equal(t, []time.Duration{5 * time.Second}, e.clock.slept, "one look, StableFor apart")
	require.Len(t, res.Files, 1, "only the file that did not change is read")
	assert.Equal(t, "done.csv", res.Files[0].Name)
	assert.Equal(t, usersync.Succeeded, res.Status)

	// Once it stops growing, it is taken.
	e.clock.onSleep = nil
	e.put(t, "growing.csv", day2, 0)
	assert.Equal(t, []string{"done.csv", "growing.csv"}, e.list(t))
}

// A growing file, written as an upload would, is never taken before its
// writer is done: each look sees it changed.
func TestPickupGrowingFileIsNotTaken(t *testing.T) {
	dir := t.TempDir()
	src, err := dirsource.New(dir, nil)
	require.NoError(t, err)
	t.Cleanup(func() { src.Close() })
	e := newPickupEnv(t, source.PickupOptions{})
	e.use(t, src, source.PickupOptions{MinAge: -1, StableFor: time.Second})
	p := filepath.Join(dir, "users.csv")
	f, err := os.Create(p)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	rows := []string{"id,name,email\n"}
	for i := range 20 {
		rows = append(rows, fmt.Sprintf("e%d,User %d,u%d@example.com\n", i, i, i))
	}
	write := func() {
		_, err := f.WriteString(rows[0])
		require.NoError(t, err)
		rows = rows[1:]
	}
	write()
	e.clock.onSleep = write // the writer goes on while the Picker waits
	for len(rows) > 0 {
		res := e.run(t)
		assert.Equal(t, usersync.NothingToDo, res.Status, "rows left: %d", len(rows))
	}
	e.clock.onSleep = nil
	res := e.run(t)
	require.NoError(t, res.Err)
	assert.Equal(t, 20, res.Files[0].Records, "exactly the 20 rows, once the writer stopped")
}

func TestPickupDoneMarker(t *testing.T) {
	e := newPickupEnv(t, source.PickupOptions{DoneMarker: ".done", AfterSuccess: source.Archive})
	e.put(t, "users.csv", day1, 0)
	assert.Empty(t, e.list(t), "no marker, no file, however old")
	e.clock.now = e.clock.now.Add(24 * time.Hour)
	assert.Empty(t, e.list(t))

	e.put(t, "users.csv.done", "", 0)
	assert.Equal(t, []string{"users.csv"}, e.list(t), "a marker is never data; no minimum age by default")

	res := e.run(t)
	require.NoError(t, res.Err)
	require.NoError(t, res.Files[0].FinishErr)
	assert.Empty(t, e.files(t, "users.csv", "users.csv.done"), "file archived and marker removed after success")
	assert.Equal(t, []string{"archive/20260315T020000Z-users.csv"}, e.files(t, "archive/20260315T020000Z-users.csv"))
}

func TestPickupDoneMarkerStaysAfterFailure(t *testing.T) {
	e := newPickupEnv(t, source.PickupOptions{DoneMarker: ".done", AfterSuccess: source.Delete})
	e.put(t, "users.csv", "id,name,email\n", 0)
	e.put(t, "users.csv.done", "", 0)
	res := e.run(t)
	assert.ErrorIs(t, res.Err, usersync.ErrNoRecords)
	assert.Equal(t, []string{"users.csv", "users.csv.done"}, e.files(t, "users.csv", "users.csv.done"), "nothing removed after a failure")
}

func TestPickupManifest(t *testing.T) {
	sum := sha256.Sum256([]byte(day1))
	for name, c := range map[string]struct {
		manifest string
		wantErr  error
	}{
		"sha256sum line":     {fmt.Sprintf("%x  users.csv\n", sum), nil},
		"binary mode":        {fmt.Sprintf("# made by export\n%x *users.csv\n", sum), nil},
		"bare digest":        {fmt.Sprintf("%x\n", sum), nil},
		"other files only":   {fmt.Sprintf("%x  groups.csv\n", sha256.Sum256(nil)), nil},
		"free text":          {"rows=2\n", nil},
		"wrong digest":       {fmt.Sprintf("%x  users.csv\n", sha256.Sum256([]byte(day2))), usersync.ErrIntegrity},
		"wrong bare digest":  {fmt.Sprintf("%x", sha256.Sum256(nil)), usersync.ErrIntegrity},
		"other file's entry": {fmt.Sprintf("%x  groups.csv\n%x  users.csv\n", sum, sha256.Sum256(nil)), usersync.ErrIntegrity},
	} {
		t.Run(name, func(t *testing.T) {
			e := newPickupEnv(t, source.PickupOptions{DoneMarker: ".done", ErrorFolder: "failed"})
			e.put(t, "users.csv", day1, 0)
			e.put(t, "users.csv.done", c.manifest, 0)
			res := e.run(t)
			if c.wantErr == nil {
				require.NoError(t, res.Err)
				assert.Equal(t, []string{"e1", "e2"}, e.users())
				return
			}
			assert.ErrorIs(t, res.Err, c.wantErr)
			assert.Empty(t, e.users(), "nothing applied")
			assert.Equal(t, []string{"users.csv", "users.csv.done"}, e.files(t, "users.csv", "users.csv.done"),
				"a file that does not match its manifest may be a transfer still going on: it stays")
		})
	}
}

func TestPickupOldestFirst(t *testing.T) {
	e := newPickupEnv(t, source.PickupOptions{MaxFiles: 1, AfterSuccess: source.Archive})
	e.put(t, "b-monday.csv", day1, 48*time.Hour)
	e.put(t, "a-tuesday.csv", day2, 24*time.Hour)

	res := e.run(t)
	require.NoError(t, res.Err)
	require.Len(t, res.Files, 1)
	assert.Equal(t, "b-monday.csv", res.Files[0].Name, "the oldest goes first")
	assert.Equal(t, []string{"e1", "e2"}, e.users())

	res = e.run(t)
	require.NoError(t, res.Err)
	assert.Equal(t, "a-tuesday.csv", res.Files[0].Name)
	assert.Equal(t, []string{"e1", "e3"}, e.users())

	assert.Equal(t, usersync.NothingToDo, e.run(t).Status)
}

func TestPickupKeepAndSkipAppliedContent(t *testing.T) {
	e := newPickupEnv(t, source.PickupOptions{})
	e.put(t, "users.csv", day1, time.Hour)
	res := e.run(t)
	require.NoError(t, res.Err)
	assert.Equal(t, usersync.Succeeded, res.Status)
	assert.Equal(t, []string{"users.csv"}, e.files(t, "users.csv"), "kept by default")

	res = e.run(t)
	require.NoError(t, res.Err)
	assert.Equal(t, usersync.NothingToDo, res.Status, "the same content again does nothing")
	require.Len(t, res.Files, 1)
	assert.True(t, res.Files[0].AlreadyApplied, "and says so")
	assert.Nil(t, res.Plan)

	// Re-uploaded unchanged: still nothing to do.
	e.put(t, "users.csv", day1, time.Hour)
	assert.Equal(t, usersync.NothingToDo, e.run(t).Status)

	// New content under the same name is applied.
	e.put(t, "users.csv", day2, time.Hour)
	res = e.run(t)
	assert.Equal(t, usersync.Succeeded, res.Status)
	assert.Equal(t, []string{"e1", "e3"}, e.users())

	// Going back to the first content applies it again: it is not what is
	// in effect.
	e.put(t, "users.csv", day1, time.Hour)
	res = e.run(t)
	assert.Equal(t, usersync.Succeeded, res.Status)
	assert.Equal(t, []string{"e1", "e2"}, e.users())
}

// TestPickupMaybeApplied checks that the Picker tells a new file from its
// listing where it can: a name never applied, or another size than the
// content applied, cannot be that content.
func TestPickupMaybeApplied(t *testing.T) {
	e := newPickupEnv(t, source.PickupOptions{})
	ctx := context.Background()
	maybe := func(size int64) bool {
		t.Helper()
		ok, err := e.pick.MaybeApplied(ctx, usersync.FileInfo{Name: "users.csv", Size: size})
		require.NoError(t, err)
		return ok
	}
	assert.False(t, maybe(int64(len(day1))), "nothing applied under that name yet")
	e.put(t, "users.csv", day1, time.Hour)
	require.NoError(t, e.run(t).Err)
	assert.True(t, maybe(int64(len(day1))), "the size of the content applied: only its SHA-256 can tell")
	assert.False(t, maybe(int64(len(day1))+1), "another size is other content")
	assert.True(t, maybe(-1), "an unknown size rules nothing out")
}

func TestPickupArchiveNeverOverwrites(t *testing.T) {
	e := newPickupEnv(t, source.PickupOptions{AfterSuccess: source.Archive, ArchiveFolder: "done/2026"})
	for i, content := range []string{day1, day2, day1} {
		e.put(t, "users.csv", content, time.Hour)
		res := e.run(t)
		require.NoError(t, res.Err, "run %d", i)
		require.NoError(t, res.Files[0].FinishErr, "run %d", i)
	}
	want := []string{
		"done/2026/20260314T020000Z-users.csv",
		"done/2026/20260314T020000Z-2-users.csv",
		"done/2026/20260314T020000Z-3-users.csv",
	}
	assert.Equal(t, want, e.files(t, want...), "three archives at the same second, none replaced")
	for i, content := range []string{day1, day2, day1} {
		data, err := readAll(e.src, want[i])
		require.NoError(t, err)
		assert.Equal(t, content, data)
	}
	assert.Empty(t, e.list(t))
}

func TestPickupDelete(t *testing.T) {
	e := newPickupEnv(t, source.PickupOptions{AfterSuccess: source.Delete})
	e.put(t, "users.csv", day1, time.Hour)
	res := e.run(t)
	require.NoError(t, res.Err)
	require.NoError(t, res.Files[0].FinishErr)
	assert.Empty(t, e.files(t, "users.csv"))

	// Delivered again unchanged: nothing applied, and deleted again.
	e.put(t, "users.csv", day1, time.Hour)
	res = e.run(t)
	assert.Equal(t, usersync.NothingToDo, res.Status)
	require.NoError(t, res.Files[0].FinishErr)
	assert.Empty(t, e.files(t, "users.csv"))
}

func TestPickupAfterFailure(t *testing.T) {
	t.Run("content fault moves to the error folder", func(t *testing.T) {
		e := newPickupEnv(t, source.PickupOptions{AfterSuccess: source.Delete, ErrorFolder: "failed"})
		e.put(t, "users.csv", "name\nAnn\n", time.Hour) // no key column
		res := e.run(t)
		require.Error(t, res.Err)
		require.NoError(t, res.Files[0].FinishErr)
		assert.Equal(t, []string{"failed/20260314T020000Z-users.csv"},
			e.files(t, "users.csv", "failed/20260314T020000Z-users.csv"))
	})
	t.Run("without an error folder it stays", func(t *testing.T) {
		e := newPickupEnv(t, source.PickupOptions{AfterSuccess: source.Delete})
		e.put(t, "users.csv", "name\nAnn\n", time.Hour)
		require.Error(t, e.run(t).Err)
		assert.Equal(t, []string{"users.csv"}, e.files(t, "users.csv"))
	})
	t.Run("a transfer fault leaves it", func(t *testing.T) {
		e := newPickupEnv(t, source.PickupOptions{AfterSuccess: source.Delete, ErrorFolder: "failed"})
		e.use(t, &brokenReads{e.src}, source.PickupOptions{AfterSuccess: source.Delete, ErrorFolder: "failed"})
		e.put(t, "users.csv", day1, time.Hour)
		res := e.run(t)
		require.Error(t, res.Err)
		assert.Empty(t, e.users(), "nothing applied")
		assert.Equal(t, []string{"users.csv"}, e.files(t, "users.csv", "failed/20260314T020000Z-users.csv"))
		res = e.run(t)
		require.Error(t, res.Err, "the next run tries it again")
	})
	t.Run("a held plan leaves it", func(t *testing.T) {
		e := newPickupEnv(t, source.PickupOptions{AfterSuccess: source.Delete, ErrorFolder: "failed"})
		e.put(t, "users.csv", day1, time.Hour)
		require.NoError(t, e.run(t).Err)
		e.p.Reconciler = reconcile.New(&reconcile.Policy{RemoveGuard: reconcile.Guard{Max: 1}})
		e.put(t, "users.csv", "id,name,email\ne9,Ny,ny@example.com\n", time.Hour)
		res := e.run(t)
		require.ErrorIs(t, res.Err, usersync.ErrGuardTripped)
		assert.Equal(t, []string{"users.csv"}, e.files(t, "users.csv"), "waits for approval where it was")
	})
}

// brokenReads is a Source whose reads fail halfway, like a dropped
// connection.
type brokenReads struct{ *memsource.Source }

func (b *brokenReads) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	rc, err := b.Source.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(io.LimitReader(rc, 10), iotestErrReader{}), rc}, nil
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("connection lost") }

// vanishing removes each file right after it was read, as another process
// might.
type vanishing struct{ *memsource.Source }

func (v *vanishing) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	rc, err := v.Source.Open(ctx, name)
	if err == nil {
		v.Source.Remove(ctx, name)
	}
	return rc, err
}

func TestPickupVanishedFileIsDone(t *testing.T) {
	for _, after := range []source.AfterSuccess{source.Delete, source.Archive} {
		e := newPickupEnv(t, source.PickupOptions{})
		e.use(t, &vanishing{e.src}, source.PickupOptions{AfterSuccess: after})
		e.put(t, "users.csv", day1, time.Hour)
		res := e.run(t)
		require.NoError(t, res.Err)
		assert.NoError(t, res.Files[0].FinishErr, "AfterSuccess %d", after)
	}
}

// replacing delivers a new upload under the same name right after each
// file is opened, as a customer uploading while a sync runs would.
type replacing struct {
	*memsource.Source
	next string
	at   time.Time
}

func (r *replacing) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	rc, err := r.Source.Open(ctx, name)
	if err == nil && r.next != "" {
		r.Source.Put(name, []byte(r.next), r.at)
		r.next = ""
	}
	return rc, err
}

func TestPickupLeavesAFileReplacedDuringTheRun(t *testing.T) {
	for _, after := range []source.AfterSuccess{source.Delete, source.Archive} {
		e := newPickupEnv(t, source.PickupOptions{})
		e.use(t, &replacing{Source: e.src, next: day2, at: t0}, source.PickupOptions{AfterSuccess: after})
		e.put(t, "users.csv", day1, time.Hour)
		res := e.run(t)
		require.NoError(t, res.Err)
		assert.ErrorIs(t, res.Files[0].FinishErr, source.ErrChanged, "AfterSuccess %d", after)
		assert.Equal(t, []string{"users.csv"}, e.files(t, "users.csv"), "the new upload is still there")

		e.clock.now = e.clock.now.Add(time.Hour)
		res = e.run(t)
		require.NoError(t, res.Err)
		require.Len(t, res.Files, 1, "the new upload is picked up")
		assert.False(t, res.Files[0].AlreadyApplied, "the new content is read")
		assert.NoError(t, res.Files[0].FinishErr)
		assert.Empty(t, e.files(t, "users.csv"), "and then finished")
	}
}

// noArchive is a Source whose moves fail.
type noArchive struct{ *memsource.Source }

func (n *noArchive) Rename(context.Context, string, string) error {
	return errors.New("permission denied")
}

func TestPickupArchiveFailureStillRemembers(t *testing.T) {
	e := newPickupEnv(t, source.PickupOptions{})
	e.use(t, &noArchive{e.src}, source.PickupOptions{AfterSuccess: source.Archive})
	e.put(t, "users.csv", day1, time.Hour)
	res := e.run(t)
	require.NoError(t, res.Err, "the run succeeded")
	assert.ErrorContains(t, res.Files[0].FinishErr, "permission denied", "archiving failed, and says so")
	assert.Equal(t, []string{"e1", "e2"}, e.users())

	res = e.run(t)
	assert.Equal(t, usersync.NothingToDo, res.Status, "the file is still there, but its content is not applied again")
	assert.True(t, res.Files[0].AlreadyApplied)
}

func TestPickupRemembersAcrossRestarts(t *testing.T) {
	store, err := usersync.NewFileStore(t.TempDir())
	require.NoError(t, err)
	e := newPickupEnv(t, source.PickupOptions{Store: store})
	e.put(t, "users.csv", day1, time.Hour)
	require.Equal(t, usersync.Succeeded, e.run(t).Status)

	e.use(t, e.src, source.PickupOptions{Store: store}) // a new Picker, as after a restart
	assert.Equal(t, usersync.NothingToDo, e.run(t).Status)

	e.use(t, e.src, source.PickupOptions{Store: store, StatePrefix: "other-feed/"})
	assert.Equal(t, usersync.Succeeded, e.run(t).Status, "another feed's memory is its own")
}

// hidden hides every optional interface of a Source.
type hidden struct{ usersync.Source }

func TestPickupNeedsWhatItIsAskedToDo(t *testing.T) {
	src := hidden{memsource.New()}
	for _, opts := range []source.PickupOptions{
		{AfterSuccess: source.Delete},
		{AfterSuccess: source.Archive},
		{ErrorFolder: "failed"},
		{DoneMarker: ".done"},
	} {
		_, err := source.Pickup(src, &opts)
		assert.ErrorIs(t, err, errors.ErrUnsupported, "%+v", opts)
	}
	for _, opts := range []source.PickupOptions{
		{AfterSuccess: source.Archive, ArchiveFolder: "../out"},
		{ErrorFolder: "/tmp"},
		{DoneMarker: "/done"},
		{AfterSuccess: 9},
	} {
		_, err := source.Pickup(memsource.New(), &opts)
		assert.Error(t, err, "%+v", opts)
	}
	p, err := source.Pickup(src, nil)
	require.NoError(t, err)
	assert.ErrorIs(t, p.Remove(t.Context(), "x.csv"), errors.ErrUnsupported)
	assert.ErrorIs(t, p.Rename(t.Context(), "x.csv", "y.csv"), errors.ErrUnsupported)
}

func TestPickupCheck(t *testing.T) {
	e := newPickupEnv(t, source.PickupOptions{Pattern: "users.csv", DoneMarker: ".done"})
	results := e.pick.Check(t.Context())
	require.Len(t, results, 3)
	assert.Equal(t, "memory store", results[0].Name, "the wrapped Source's checks come first")
	assert.NoError(t, results[0].Err)
	assert.Equal(t, "expected file users.csv", results[1].Name)
	assert.ErrorIs(t, results[1].Err, fs.ErrNotExist)
	assert.EqualError(t, results[1].Err, `no file matching "users.csv" in the folder: file does not exist`)
	assert.NoError(t, results[2].Err)

	e.put(t, "users.csv", day1, 0)
	results = e.pick.Check(t.Context())
	assert.NoError(t, results[1].Err)
	assert.Equal(t, "users.csv (66 bytes): waiting, no done-marker users.csv.done yet", results[1].Detail)
	e.put(t, "users.csv.done", "", 0)
	assert.Equal(t, "users.csv (66 bytes): ready", e.pick.Check(t.Context())[1].Detail)
}

func TestPickupConformance(t *testing.T) {
	sourcetest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (sourcetest.Harness, error) {
		return &pickerHarness{src: memsource.New()}, nil
	})
}

// pickerHarness runs the conformance suite on a Picker with default
// options over a memsource.
type pickerHarness struct{ src *memsource.Source }

func (h *pickerHarness) MakeSource(context.Context) (usersync.Source, error) {
	return source.Pickup(h.src, &source.PickupOptions{Logger: quiet})
}

func (h *pickerHarness) Put(_ context.Context, name string, data []byte, modTime time.Time) error {
	return h.src.Put(name, data, modTime)
}

func (h *pickerHarness) Close() {}

func names(files []usersync.FileInfo) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Name)
	}
	return slices.Clip(out)
}

func readAll(src usersync.Source, name string) (string, error) {
	rc, err := src.Open(context.Background(), name)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

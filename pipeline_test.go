package usersync_test

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
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source/memsource"
)

var schema = csvmap.Schema{Columns: []csvmap.Column{
	{Name: "id", Role: csvmap.Key},
	{Name: "name", Required: true},
	{Name: "email", Kind: csvmap.Email, Required: true},
	{Name: "groups", Role: csvmap.Groups},
}}

const day1 = "id,name,email,groups\n" +
	"e1,Ann Berg,ann@example.com,nurses\n" +
	"e2,Bo Ek,bo@example.com,\"nurses,doctors\"\n" +
	"e3,Cy Dahl,cy@example.com,\n"

// env is a pipeline over in-memory parts.
type env struct {
	src    *memsource.Source
	sink   *memsink.Sink
	events []usersync.Event
	p      *usersync.Pipeline
}

func newEnv(t *testing.T) *env {
	t.Helper()
	m, err := csvmap.New(schema, nil)
	require.NoError(t, err)
	e := &env{src: memsource.New(), sink: memsink.New()}
	e.p = &usersync.Pipeline{
		Source:     e.src,
		Mapper:     m,
		Reconciler: reconcile.New(nil),
		Sink:       e.sink,
		Reporter: usersync.ReporterFunc(func(_ context.Context, ev usersync.Event) error {
			e.events = append(e.events, ev)
			return nil
		}),
	}
	return e
}

func (e *env) put(t *testing.T, name, data string) {
	t.Helper()
	require.NoError(t, e.src.Put(name, []byte(data), time.Now()))
}

func (e *env) remove(t *testing.T, name string) {
	t.Helper()
	require.NoError(t, e.src.Remove(context.Background(), name))
}

// users returns the sink's users as "key name active" lines.
func (e *env) users() []string {
	users, _ := e.sink.Snapshot()
	var out []string
	for _, u := range users {
		state := "active"
		if u.Inactive {
			state = "inactive"
		}
		out = append(out, fmt.Sprintf("%s %s %s %v", u.Key, u.Attrs.Value("name"), state, u.Groups))
	}
	return out
}

// synced runs a first sync of day1 and clears the events.
func synced(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	e.put(t, "users.csv", day1)
	res, err := e.p.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, usersync.Succeeded, res.Status)
	e.events = nil
	return e
}

func TestFirstSyncCreatesUsersAndGroups(t *testing.T) {
	e := newEnv(t)
	e.put(t, "users.csv", day1)
	res, err := e.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, usersync.Succeeded, res.Status)
	assert.Equal(t, usersync.Counts{GroupsCreated: 2, Created: 3}, res.Applied)
	assert.Equal(t, []string{
		"e1 Ann Berg active [nurses]",
		"e2 Bo Ek active [doctors nurses]",
		"e3 Cy Dahl active []",
	}, e.users())
	require.Len(t, res.Files, 1)
	f := res.Files[0]
	assert.Equal(t, int64(len(day1)), f.Bytes)
	assert.Equal(t, 3, f.Records)
	assert.NotEqual(t, [32]byte{}, f.SHA256)
	assert.Equal(t, "UTF-8", f.Format.Encoding)
}

func TestRerunningTheSameFileChangesNothing(t *testing.T) {
	e := synced(t)
	res, err := e.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, usersync.Succeeded, res.Status)
	assert.Equal(t, 0, res.Applied.Total())
	assert.Equal(t, 3, res.Applied.Unchanged)
	assert.Empty(t, synctest.Changes(t, res.Plan))
}

func TestEmptyAndHeaderOnlyFilesDeleteNobody(t *testing.T) {
	for name, data := range map[string]string{
		"empty":             "",
		"header only":       "id,name,email,groups\n",
		"every row invalid": "id,name,email,groups\ne9,Nobody,not-an-email,\n",
	} {
		t.Run(name, func(t *testing.T) {
			e := synced(t)
			e.p.Reconciler = reconcile.New(&reconcile.Policy{Absent: reconcile.Delete, RemoveGuard: reconcile.Guard{Disabled: true}})
			before := e.users()
			e.put(t, "users.csv", data)
			res, err := e.p.Run(context.Background())
			require.Error(t, err)
			assert.Equal(t, usersync.Failed, res.Status)
			assert.Nil(t, res.Plan, "nothing was planned")
			assert.Equal(t, before, e.users())
			var fe *usersync.FileError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, "users.csv", fe.File)
		})
	}
}

func TestGuardTripAppliesNothingAndSaysWhy(t *testing.T) {
	e := synced(t)
	e.p.Reconciler = reconcile.New(&reconcile.Policy{RemoveGuard: reconcile.Guard{Max: 1}})
	before := e.users()
	e.put(t, "users.csv", "id,name,email,groups\ne1,Ann Berg,ann@example.com,nurses\ne4,Di,di@example.com,\n")
	res, err := e.p.Run(context.Background())

	assert.Equal(t, usersync.Held, res.Status)
	assert.ErrorIs(t, err, usersync.ErrGuardTripped)
	var ge *usersync.GuardError
	require.ErrorAs(t, err, &ge)
	assert.Equal(t, 2, ge.Count)
	assert.Contains(t, err.Error(), "approve the plan")
	assert.Equal(t, before, e.users(), "not even the create was applied")
	assert.Equal(t, usersync.Counts{Created: 1, Deactivated: 2, Unchanged: 1}, res.Plan.Counts())
	assert.Equal(t, usersync.Counts{}, res.Applied)
}

// failingSource delivers a file's first n bytes, then fails or ends early.
type failingSource struct {
	*memsource.Source
	n        int
	err      error // nil: a clean but early io.EOF
	closeErr error
}

func (s *failingSource) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	rc, err := s.Source.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	var r io.Reader = io.LimitReader(rc, int64(s.n))
	if s.err != nil {
		r = io.MultiReader(r, iotestErrReader{s.err})
	}
	return struct {
		io.Reader
		io.Closer
	}{r, closerFunc(func() error { rc.Close(); return s.closeErr })}, nil
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func TestBrokenTransferAppliesNothing(t *testing.T) {
	lost := errors.New("connection lost")
	cut := len("id,name,email,groups\ne1,Ann Berg,ann@example.com,nurses\n")
	for _, tc := range []struct {
		name   string
		src    func(*memsource.Source) usersync.Source
		op     string
		target error
	}{
		{"error mid-stream", func(m *memsource.Source) usersync.Source { return &failingSource{Source: m, n: cut, err: lost} }, "read", lost},
		{"clean but short stream", func(m *memsource.Source) usersync.Source { return &failingSource{Source: m, n: cut} }, "verify", usersync.ErrIntegrity},
		{"error on close", func(m *memsource.Source) usersync.Source {
			return &failingSource{Source: m, n: 1 << 20, closeErr: lost}
		}, "close", lost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := synced(t)
			before := e.users()
			e.put(t, "users.csv", "id,name,email,groups\ne1,Ann Berg,ann@example.com,nurses\ne5,Eva,eva@example.com,\n")
			e.p.Source = tc.src(e.src)
			res, err := e.p.Run(context.Background())
			assert.Equal(t, usersync.Failed, res.Status)
			assert.ErrorIs(t, err, tc.target)
			var fe *usersync.FileError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.op, fe.Op)
			assert.Equal(t, before, e.users())
			assert.Nil(t, res.Plan)
		})
	}
}

func TestDecryptorIntegrityFailureAtEOFAppliesNothing(t *testing.T) {
	e := synced(t)
	before := e.users()
	e.put(t, "users.csv", "id,name,email,groups\ne6,Fay,fay@example.com,\n")
	e.p.Decryptor = usersync.DecryptorFunc(func(_ context.Context, r io.Reader, _ usersync.FileInfo) (io.Reader, error) {
		// The plaintext looks complete; the check at its end fails.
		return io.MultiReader(r, iotestErrReader{fmt.Errorf("MDC mismatch: %w", usersync.ErrIntegrity)}), nil
	})
	res, err := e.p.Run(context.Background())
	assert.Equal(t, usersync.Failed, res.Status)
	assert.ErrorIs(t, err, usersync.ErrIntegrity)
	assert.Equal(t, before, e.users())
}

// A fault the Decryptor finds in the middle of a file, where the Mapper is
// the one reading, is blamed on the Decryptor: the FileError says
// "decrypt", not "map".
func TestDecryptorFaultMidFileNamesTheDecryptStage(t *testing.T) {
	tampered := fmt.Errorf("integrity check failed: %w", usersync.ErrIntegrity)
	for _, tc := range []struct {
		name string
		cut  int // plaintext bytes before the fault
	}{
		{"in the header", 5},
		{"in a row", len("id,name,email,groups\ne8,Hal")},
		{"between rows", len("id,name,email,groups\ne8,Hal,hal@example.com,\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := synced(t)
			before := e.users()
			e.put(t, "users.csv", "id,name,email,groups\ne8,Hal,hal@example.com,\ne9,Ida,ida@example.com,\n")
			e.p.Decryptor = usersync.DecryptorFunc(func(_ context.Context, r io.Reader, _ usersync.FileInfo) (io.Reader, error) {
				return io.MultiReader(io.LimitReader(r, int64(tc.cut)), iotestErrReader{tampered}), nil
			})
			res, err := e.p.Run(context.Background())
			assert.Equal(t, usersync.Failed, res.Status)
			assert.ErrorIs(t, err, usersync.ErrIntegrity)
			var fe *usersync.FileError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, "decrypt", fe.Op, "%v", err)
			assert.Equal(t, before, e.users())
		})
	}
	// A fault of the transport under the Decryptor is still the transport's.
	t.Run("transport", func(t *testing.T) {
		e := synced(t)
		lost := errors.New("connection lost")
		e.put(t, "users.csv", "id,name,email,groups\ne8,Hal,hal@example.com,\ne9,Ida,ida@example.com,\n")
		e.p.Source = &failingSource{Source: e.src, n: 30, err: lost}
		e.p.Decryptor = usersync.DecryptorFunc(func(_ context.Context, r io.Reader, _ usersync.FileInfo) (io.Reader, error) {
			return r, nil
		})
		_, err := e.p.Run(context.Background())
		var fe *usersync.FileError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "read", fe.Op, "%v", err)
		assert.ErrorIs(t, err, lost)
	})
}

func TestOneUnverifiedFileOfSeveralAppliesNothing(t *testing.T) {
	e := synced(t)
	before := e.users()
	e.put(t, "a.csv", "id,name,email,groups\ne7,Gus,gus@example.com,\n")
	e.put(t, "users.csv", "id,name,email,groups\n")
	res, err := e.p.Run(context.Background())
	assert.ErrorIs(t, err, usersync.ErrNoRecords)
	assert.Equal(t, usersync.Failed, res.Status)
	assert.Len(t, res.Files, 2)
	assert.NoError(t, res.Files[0].Err)
	assert.Equal(t, before, e.users())
}

func TestFailingSinkChangeIsReportedWhileOthersApply(t *testing.T) {
	for _, batch := range []int{1, 500} {
		t.Run(fmt.Sprint("batch ", batch), func(t *testing.T) {
			e := newEnv(t)
			e.p.BatchSize = batch
			refused := errors.New("quota exceeded")
			e.sink.FailOn = func(c usersync.Change) error {
				if c.Kind == usersync.CreateUser && c.User.Key == "e2" {
					return refused
				}
				return nil
			}
			e.put(t, "users.csv", day1)
			res, err := e.p.Run(context.Background())
			assert.Equal(t, usersync.PartlyFailed, res.Status)
			assert.ErrorIs(t, err, usersync.ErrChangesFailed)
			require.Len(t, res.Failed, 1)
			assert.Equal(t, "e2", res.Failed[0].Change.User.Key)
			assert.ErrorIs(t, res.Failed[0], refused)
			assert.Equal(t, 2, res.Applied.Created)
			assert.Equal(t, []string{"e1 Ann Berg active [nurses]", "e3 Cy Dahl active []"}, e.users())
			var failed int
			for _, ev := range e.events {
				if ev.Kind == usersync.ChangeFailed {
					failed++
				}
			}
			assert.Equal(t, 1, failed)

			// The next run repairs what failed.
			e.sink.FailOn = nil
			res, err = e.p.Run(context.Background())
			require.NoError(t, err)
			assert.Equal(t, usersync.Counts{Created: 1, Unchanged: 2}, res.Applied)
		})
	}
}

// cancelingSink cancels the run's context after n changes. It applies one
// change at a time (it is no BatchApplier).
type cancelingSink struct {
	usersync.Lister
	sink   *memsink.Sink
	n      int
	cancel context.CancelFunc
}

func (s *cancelingSink) Apply(ctx context.Context, c usersync.Change) error {
	if err := s.sink.Apply(ctx, c); err != nil {
		return err
	}
	if s.n--; s.n == 0 {
		s.cancel()
	}
	return nil
}

func TestCancelStopsBetweenChanges(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	e.p.Sink = &cancelingSink{Lister: e.sink, sink: e.sink, n: 3, cancel: cancel}
	e.put(t, "users.csv", day1)
	res, err := e.p.Run(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, usersync.PartlyFailed, res.Status)
	assert.Equal(t, 3, res.Applied.Total(), "two groups and one user, then stop")
	assert.Contains(t, err.Error(), "after 3 of 5 changes")
	last := e.events[len(e.events)-1]
	assert.Equal(t, usersync.RunFinished, last.Kind, "the final event is reported despite the cancel")
}

func TestCanceledBeforeReadingAppliesNothing(t *testing.T) {
	e := newEnv(t)
	e.put(t, "users.csv", day1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := e.p.Run(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, usersync.Failed, res.Status)
	assert.Empty(t, e.users())
}

func TestDryRunAppliesNothing(t *testing.T) {
	e := newEnv(t)
	e.p.DryRun = true
	e.put(t, "users.csv", day1)
	res, err := e.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, usersync.Planned, res.Status)
	assert.Equal(t, 5, len(synctest.Changes(t, res.Plan)))
	assert.Empty(t, e.users())
}

func TestNoFilesIsNothingToDo(t *testing.T) {
	e := newEnv(t)
	res, err := e.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, usersync.NothingToDo, res.Status)
}

func TestRejectedRowsAreCountedAndTheirUsersKept(t *testing.T) {
	e := synced(t)
	e.put(t, "users.csv", "id,name,email,groups\n"+
		"e1,Ann Berg,ann@example.com,nurses\n"+
		"e2,Bo Ek,bo(at)example.com,\"nurses,doctors\"\n"+ // bad email: Bo must not be deactivated
		"e4,Di Fors,di@example.com,\n")
	res, err := e.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, usersync.Counts{Created: 1, Deactivated: 1, Unchanged: 1}, res.Applied)
	require.Len(t, res.Rejected, 1)
	assert.Equal(t, 1, res.RejectedTotal)
	re := res.Rejected[0]
	assert.Equal(t, "users.csv", re.File)
	assert.Equal(t, 3, re.Line)
	assert.Equal(t, "email", re.Column)
	assert.Equal(t, 1, res.Files[0].Rejected)
	assert.Contains(t, e.users(), "e2 Bo Ek active [doctors nurses]")
	assert.Contains(t, e.users(), "e3 Cy Dahl inactive []")
}

func TestDuplicateKeysAcrossFilesAreRejected(t *testing.T) {
	e := newEnv(t)
	e.put(t, "a.csv", "id,name,email,groups\ne1,Ann,ann@example.com,\ne2,Bo,bo@example.com,\n")
	e.put(t, "b.csv", "id,name,email,groups\ne1,Ann Again,ann2@example.com,\n")
	res, err := e.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, res.RejectedTotal)
	assert.Equal(t, 1, res.Files[0].Records)
	assert.Equal(t, 1, res.Files[0].Rejected)
	assert.Equal(t, 0, res.Files[1].Records)
	assert.Equal(t, []string{"e2 Bo active []"}, e.users())
}

func TestEventsArriveInOrder(t *testing.T) {
	e := newEnv(t)
	e.p.Reporter = usersync.ReporterFunc(func(_ context.Context, ev usersync.Event) error {
		e.events = append(e.events, ev)
		return errors.New("mail server down")
	})
	e.put(t, "users.csv", day1)
	res, err := e.p.Run(context.Background())
	require.NoError(t, err, "a failing reporter never fails the run")
	var kinds []string
	for _, ev := range e.events {
		kinds = append(kinds, ev.Kind.String())
	}
	assert.Equal(t, "run-started file-read plan-ready change-applied change-applied change-applied change-applied change-applied run-finished",
		strings.Join(kinds, " "))
	assert.Len(t, res.ReportErrors, len(e.events))
	assert.Same(t, res, e.events[len(e.events)-1].Result)
}

func TestMissingPartsAreReported(t *testing.T) {
	res, err := (&usersync.Pipeline{}).Run(context.Background())
	assert.ErrorContains(t, err, "Pipeline.Source is nil")
	assert.Equal(t, usersync.Failed, res.Status)
}

func TestSinkWithoutListerOnlyUpserts(t *testing.T) {
	e := synced(t)
	applied := 0
	e.p.Sink = sinkFunc(func(ctx context.Context, c usersync.Change) error { applied++; return nil })
	e.put(t, "users.csv", "id,name,email,groups\ne1,Ann Berg,ann@example.com,\n")
	res, err := e.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, usersync.Counts{Created: 1}, res.Applied, "nobody can be found missing")
	assert.Equal(t, 1, applied)
}

type sinkFunc func(ctx context.Context, c usersync.Change) error

func (f sinkFunc) Apply(ctx context.Context, c usersync.Change) error { return f(ctx, c) }

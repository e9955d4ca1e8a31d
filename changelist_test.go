package usersync

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// someChanges returns n changes of every kind, with every field of a
// Change set somewhere, nil and empty lists apart.
func someChanges(n int) []Change {
	layout := NewLayout("name", "email")
	var cs []Change
	for i := range n {
		user := Record{Key: fmt.Sprintf("e%05d", i), Attrs: layout.Make([]string{fmt.Sprintf("User %d", i), ""}),
			Origin: Position{File: fmt.Sprintf("part%d.csv", i%3), Line: i + 2}}
		switch i % 9 {
		case 0:
			cs = append(cs, Change{Kind: CreateGroup, Group: Group{ID: fmt.Sprint("g", i), Name: "G", Parent: "p", Account: "a"}})
		case 1:
			user.Groups = []string{"g1", "g2"}
			cs = append(cs, Change{Kind: CreateUser, Invite: InviteAuto, User: user, Join: user.Groups})
		case 2:
			user.Groups = []string{}
			cs = append(cs, Change{Kind: CreateUser, User: user, Join: []string{}})
		case 3:
			cs = append(cs, Change{Kind: UpdateUser, User: user, Attrs: []string{"name"}, Leave: []string{"g1"},
				Before: NewAttrs("name", "Old"), OldKey: "old" + user.Key})
		case 4:
			user.Inactive, user.Managed = true, true
			cs = append(cs, Change{Kind: DeactivateUser, User: user, Reason: "out of scope: rule x"})
		case 5:
			user.MissingRuns, user.MissingSince = 3, -1_700_000_000
			cs = append(cs, Change{Kind: MarkMissing, User: user})
		case 6:
			cs = append(cs, Change{Kind: DeleteUser, User: Record{Key: user.Key}})
		case 7:
			cs = append(cs, Change{Kind: AdoptUser, Invite: InviteAuto, User: user, Attrs: []string{}, Before: Attrs{}})
		default:
			cs = append(cs, Change{Kind: RenameGroup, Group: Group{ID: "g", Name: "ü\x00,\n"}})
		}
	}
	return cs
}

func TestChangeWriterSpills(t *testing.T) {
	dir := t.TempDir()
	want := someChanges(2000)
	for _, limit := range []int64{0, 1, 20_000, 1 << 30} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			w := NewChangeWriter(dir, limit)
			for i := range want {
				require.NoError(t, w.Write(&want[i]))
			}
			l, err := w.List()
			require.NoError(t, err)
			got, err := l.Collect()
			require.NoError(t, err)
			assert.Equal(t, want, got)
			assert.Equal(t, len(want), l.Len())
			assert.Equal(t, NewChangeList(want...).counts, l.counts, "counted as written")
			spilled := slices.ContainsFunc(l.segs, func(s changeSeg) bool { return s.file != nil })
			assert.Equal(t, limit > 0 && limit < 1<<30, spilled, "spilled past the limit only")
			_, err = w.List()
			assert.Error(t, err, "a writer lists once")
		})
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "the plan's file has no name in the directory")
}

func TestChangeWriterJoinsLists(t *testing.T) {
	cs := someChanges(300)
	first := NewChangeWriter(t.TempDir(), 1)
	for i := range cs[100:200] {
		require.NoError(t, first.Write(&cs[100+i]))
	}
	middle, err := first.List()
	require.NoError(t, err)

	w := NewChangeWriter(t.TempDir(), 10_000)
	for i := range cs[:100] {
		require.NoError(t, w.Write(&cs[i]))
	}
	require.NoError(t, w.WriteList(middle))
	require.NoError(t, w.WriteList(NewChangeList(cs[200:]...)))
	l, err := w.List()
	require.NoError(t, err)
	got, err := l.Collect()
	require.NoError(t, err)
	assert.Equal(t, cs, got)
	assert.Equal(t, NewChangeList(cs...).counts, l.counts)

	var sizes []int
	for b, err := range l.batches(64) {
		require.NoError(t, err)
		sizes = append(sizes, len(b))
	}
	assert.LessOrEqual(t, slices.Max(sizes), 64)
}

// onDisk returns a list of cs kept on disk from its first change.
func onDisk(t *testing.T, cs []Change) ChangeList {
	w := NewChangeWriter(t.TempDir(), 1)
	require.NoError(t, w.WriteSlice(cs))
	l, err := w.List()
	require.NoError(t, err)
	require.Nil(t, l.segs[0].mem, "on disk")
	return l
}

func TestChangeListReadErrors(t *testing.T) {
	cs := someChanges(50)
	l := onDisk(t, cs)
	require.NoError(t, l.segs[0].file.f.Truncate(l.segs[0].size/2))
	n := 0
	for _, err := range l.All() {
		if err != nil {
			assert.ErrorContains(t, err, "read the plan back from disk")
			break
		}
		n++
	}
	assert.Less(t, n, len(cs), "the changes after the cut are not made up")
	_, err := l.Collect()
	assert.Error(t, err)
	_, err = (Plan{Changes: l}).MarshalJSON()
	assert.Error(t, err)
	assert.Error(t, (&Plan{Changes: l}).WriteJSON(io.Discard))
}

func TestChangeListJSON(t *testing.T) {
	cs := someChanges(30)
	a, err := Plan{Changes: onDisk(t, cs)}.MarshalJSON()
	require.NoError(t, err)
	b, err := Plan{Changes: NewChangeList(cs...)}.MarshalJSON()
	require.NoError(t, err)
	assert.Equal(t, string(b), string(a), "a list encodes the same wherever it is kept")
	e, err := Plan{}.MarshalJSON()
	require.NoError(t, err)
	assert.Contains(t, string(e), `"changes":[]`)

	// WriteJSON streams what encoding/json makes of the whole plan.
	p := &Plan{Changes: onDisk(t, cs), Unchanged: 7, Population: 40, Time: time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC),
		Hold:     &GuardError{Guard: "deletes and deactivations", Count: 30, Population: 40, Limit: "10% of 40 (4)"},
		Rejected: []*RowError{{File: "users.csv", Line: 3, Column: "Mail", Err: errors.New("not an email")}},
		Files:    []PlanFile{{Name: "users.csv", Size: 100, SHA256: "ab", Records: 31, Rejected: 1}}}
	whole := planJSON{planFields: planFields(*p), Hold: holdToJSON(p.Hold), Rejected: rowErrorsToJSON(p.Rejected)}
	want, err := json.Marshal(whole)
	require.NoError(t, err)
	var got bytes.Buffer
	require.NoError(t, p.WriteJSON(&got))
	assert.Equal(t, string(want), got.String())
	var back Plan
	require.NoError(t, json.Unmarshal(got.Bytes(), &back))
	assert.Equal(t, len(cs), back.Changes.Len())
	assert.Equal(t, 7, back.Unchanged)
}

func TestChangeWriterKeepsSlices(t *testing.T) {
	cs := someChanges(100)
	w := NewChangeWriter(t.TempDir(), 1<<30)
	require.NoError(t, w.WriteSlice(cs[:50]))
	require.NoError(t, w.Write(&cs[50]))
	require.NoError(t, w.WriteSlice(cs[51:]))
	l, err := w.List()
	require.NoError(t, err)
	assert.Same(t, &cs[0], &l.segs[0].mem[0], "a slice in memory is kept, not copied")
	l.Append(Change{Kind: DeleteUser})
	assert.Equal(t, someChanges(100), cs, "appending to the list leaves the kept slices alone")
	got, err := l.Collect()
	require.NoError(t, err)
	assert.Equal(t, append(someChanges(100), Change{Kind: DeleteUser}), got)
}

func TestReadPlan(t *testing.T) {
	cs := someChanges(300)
	p := &Plan{Changes: NewChangeList(cs...), Unchanged: 7, Population: 40, Time: time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC),
		Hold:     &GuardError{Guard: "deletes and deactivations", Count: 30, Population: 40, Limit: "10% of 40 (4)"},
		Warnings: []*RowError{{File: "users.csv", Line: 3, Column: "Mail", Err: errors.New("not an email")}},
		Files:    []PlanFile{{Name: "users.csv", Size: 100, SHA256: "ab", Records: 31, Rejected: 1}}}
	var enc bytes.Buffer
	require.NoError(t, p.WriteJSON(&enc))

	for _, w := range []*ChangeWriter{nil, NewChangeWriter(t.TempDir(), 1), NewChangeWriter("", 0)} {
		back, err := ReadPlan(bytes.NewReader(append(enc.Bytes(), " \n"...)), w)
		require.NoError(t, err)
		var again bytes.Buffer
		require.NoError(t, back.WriteJSON(&again))
		sameText(t, enc.String(), again.String(), "read back, the plan writes the same bytes")
		got, err := back.Changes.Collect()
		require.NoError(t, err)
		assert.Equal(t, len(cs), len(got))
		assert.Equal(t, cs[1].User.Attrs.Layout(), got[3].User.Attrs.Layout(), "changes share their layouts")
		if w != nil && w.limit == 1 {
			assert.Nil(t, back.Changes.segs[0].mem, "past its limit, the writer keeps the changes on disk")
		}
	}
	var um Plan
	require.NoError(t, json.Unmarshal(enc.Bytes(), &um))
	var again bytes.Buffer
	require.NoError(t, um.WriteJSON(&again))
	sameText(t, enc.String(), again.String(), "UnmarshalJSON reads the same plan")
	assert.NotNil(t, um.Changes.segs[0].mem, "UnmarshalJSON holds the changes in memory")

	none, err := ReadPlan(strings.NewReader(`{"changes":null,"unchanged":3}`), nil)
	require.NoError(t, err)
	assert.Equal(t, 0, none.Changes.Len())
	assert.Equal(t, 3, none.Unchanged)

	whole := enc.String()
	for name, in := range map[string]string{
		"empty":            "",
		"cut short":        whole[:len(whole)/2],
		"not an object":    `[]`,
		"changes no array": `{"changes":{}}`,
		"two lists":        `{"changes":[],"Changes":[]}`,
		"more after it":    whole + `{}`,
		"a bad change":     `{"changes":[{"kind":"no such kind"}]}`,
		"a bad field":      `{"changes":[],"unchanged":"seven"}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ReadPlan(strings.NewReader(in), NewChangeWriter(t.TempDir(), 1))
			assert.Error(t, err)
		})
	}
}

// sameText fails the test if got is not want, showing where they part
// rather than both texts whole.
func sameText(t *testing.T, want, got, msg string) {
	t.Helper()
	if want == got {
		return
	}
	i := 0
	for i < min(len(want), len(got)) && want[i] == got[i] {
		i++
	}
	from := max(i-60, 0)
	t.Errorf("%s: the texts part at byte %d:\nwant …%.120s\ngot  …%.120s", msg, i, want[from:], got[from:])
}

func TestChangeListAppendGrowsByChunks(t *testing.T) {
	cs := someChanges(3*appendChunk + 10)
	var l ChangeList
	for _, c := range cs {
		l.Append(c)
	}
	assert.Len(t, l.segs, 4, "a chunk a segment")
	for _, s := range l.segs {
		assert.LessOrEqual(t, len(s.mem), appendChunk)
	}
	got, err := l.Collect()
	require.NoError(t, err)
	assert.Equal(t, cs, got)
	assert.Equal(t, NewChangeList(cs...).counts, l.counts)
}

func TestChangeWriterKeepsListsInMemory(t *testing.T) {
	cs := someChanges(100)
	in := NewChangeWriter("", 0)
	require.NoError(t, in.WriteSlice(cs))
	l, err := in.List()
	require.NoError(t, err)
	w := NewChangeWriter(t.TempDir(), 1<<30)
	require.NoError(t, w.WriteList(l))
	out, err := w.List()
	require.NoError(t, err)
	assert.Same(t, &cs[0], &out.segs[0].mem[0], "a list's changes in memory are kept, not copied")

	// Past the limit, they are packed as Write packs them.
	w = NewChangeWriter(t.TempDir(), 1)
	require.NoError(t, w.WriteList(l))
	out, err = w.List()
	require.NoError(t, err)
	require.Nil(t, out.segs[0].mem, "on disk")
	got, err := out.Collect()
	require.NoError(t, err)
	assert.Equal(t, cs, got)
}

// A feed's MemoryLimit is what a writer from its ChangeWriter holds: an
// eighth of the Pipeline's budget, as the spool's chunk is, or of the
// default budget for a feed built in memory.
func TestFeedMemoryLimit(t *testing.T) {
	assert.Equal(t, int64(DefaultMemoryBudget/8), (&Feed{}).MemoryLimit())
	p := Pipeline{MemoryBudget: 8 << 20}
	f := &Feed{spool: newSpool(t.TempDir(), p.chunkSize())}
	assert.Equal(t, int64(1<<20), f.MemoryLimit())
	assert.Equal(t, f.MemoryLimit(), f.ChangeWriter().limit)
	assert.Equal(t, (&Feed{}).MemoryLimit(), (&Feed{}).ChangeWriter().limit)
}

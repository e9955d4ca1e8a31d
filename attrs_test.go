package usersync_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
)

func TestAttrsGetAndAll(t *testing.T) {
	a := usersync.NewAttrs("email", "ann@example.com", "title", "", "name", "Ann Å")
	assert.Equal(t, 3, a.Len())
	v, ok := a.Get("name")
	assert.True(t, ok)
	assert.Equal(t, "Ann Å", v)
	v, ok = a.Get("title")
	assert.True(t, ok, "an empty attribute is still in the set")
	assert.Equal(t, "", v)
	_, ok = a.Get("phone")
	assert.False(t, ok)

	var names, values []string
	for n, v := range a.All() {
		names = append(names, n)
		values = append(values, v)
	}
	assert.Equal(t, []string{"email", "title", "name"}, names)
	assert.Equal(t, []string{"ann@example.com", "", "Ann Å"}, values)
}

func TestAttrsLongValues(t *testing.T) {
	long := string(make([]byte, 70000))
	l := usersync.NewLayout("a", "b", "c")
	a := l.Make([]string{"x", long, "y"})
	assert.Equal(t, long, a.Value("b"))
	assert.Equal(t, "y", a.Value("c"))
}

func TestAttrsDiffAndEqual(t *testing.T) {
	l1 := usersync.NewLayout("email", "name")
	l2 := usersync.NewLayout("email", "name")
	a := l1.Make([]string{"a@x", "Ann"})
	b := l2.Make([]string{"a@x", "Ann"})
	assert.True(t, a.Equal(b), "same names in another layout")
	assert.Nil(t, a.Diff(b))

	c := l2.Make([]string{"a@x", "Anne"})
	assert.Equal(t, []string{"name"}, a.Diff(c))
	assert.False(t, a.Equal(c))

	reordered := usersync.NewAttrs("name", "Ann", "email", "a@x")
	assert.True(t, a.Equal(reordered))
	assert.Nil(t, a.Diff(reordered))

	// Attributes only in cur are not a's business; missing in cur counts as "".
	wider := usersync.NewAttrs("name", "Ann", "email", "a@x", "phone", "+4612345")
	assert.Nil(t, a.Diff(wider))
	assert.False(t, a.Equal(wider))
	withTitle := usersync.NewAttrs("email", "a@x", "name", "Ann", "title", "")
	assert.Nil(t, withTitle.Diff(a))
}

func TestAttrsMerge(t *testing.T) {
	cur := usersync.NewAttrs("email", "a@x", "name", "Ann", "note", "by hand")
	want := usersync.NewAttrs("email", "a@y", "name", "Ann B")
	got := cur.Merge(want, "email")
	assert.Equal(t, map[string]string{"email": "a@y", "name": "Ann", "note": "by hand"}, got.Map())
	got = cur.MergeAll(want)
	assert.Equal(t, map[string]string{"email": "a@y", "name": "Ann B", "note": "by hand"}, got.Map())
	assert.Equal(t, cur, cur.Merge(want), "no names, nothing taken")
	assert.Same(t, cur.Layout(), got.Layout(), "a's layout holds every name: it is kept")

	wider := usersync.NewAttrs("email", "a@z", "name", "Ann C", "note", "n", "title", "Nurse")
	assert.Equal(t, wider, cur.MergeAll(wider), "b replaces all of a: b itself")
	assert.Equal(t, cur, cur.Merge(usersync.NewAttrs("email", "a@x"), "email"), "no value changes: a itself")
}

func TestAttrsZeroCompares(t *testing.T) {
	var zero usersync.Attrs
	x := usersync.NewAttrs("name", "Ann")
	assert.False(t, zero.Equal(x))
	assert.False(t, x.Equal(zero))
	assert.Nil(t, zero.Diff(x))
	assert.Equal(t, []string{"name"}, x.Diff(zero))
	assert.Equal(t, x.Map(), zero.MergeAll(x).Map())
	assert.Equal(t, x, x.MergeAll(zero))
	assert.True(t, zero.Equal(usersync.NewAttrs()))
}

func TestAttrsJSON(t *testing.T) {
	a := usersync.NewAttrs("name", "Ann \"A\"", "email", "a@x")
	b, err := json.Marshal(a)
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"Ann \"A\"","email":"a@x"}`, string(b))
	var back usersync.Attrs
	require.NoError(t, json.Unmarshal(b, &back))
	assert.True(t, a.Equal(back))
}

func TestAttrsZero(t *testing.T) {
	var a usersync.Attrs
	assert.Equal(t, 0, a.Len())
	assert.Equal(t, "", a.Value("x"))
	assert.True(t, a.Equal(usersync.Attrs{}))
	assert.Equal(t, "{}", a.String())
	for range a.All() {
		t.Fatal("zero Attrs yields nothing")
	}
}

func BenchmarkAttrsDiffSameNames(b *testing.B) {
	names := []string{"name", "mail", "title", "phone", "phone2", "timestamp", "first", "last"}
	vals := []string{"Ann Andersson", "ann@example.com", "Nurse", "+4670000000", "", "2026-11-20", "Ann", "Andersson"}
	x := usersync.NewLayout(names...).Make(vals)
	y := usersync.NewLayout(names...).Make(vals)
	b.ReportAllocs()
	for b.Loop() {
		if x.Diff(y) != nil {
			b.Fatal("differs")
		}
	}
}

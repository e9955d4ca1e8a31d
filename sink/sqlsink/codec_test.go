package sqlsink

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzDecoder checks that a row decodes alike whether the decoder takes it
// through the fast path, after a row of some other shape, or through the
// general one, fresh.
func FuzzDecoder(f *testing.F) {
	const obj = `{"uniqueid":"E1","name":"Ann Berg","email":"ann@example.com"}`
	for _, seed := range []struct {
		prime, js string
		col       string
		null      bool
	}{
		{obj, `{"uniqueid":"E2","name":"Bo","email":"bo@example.com"}`, "x", false},
		{obj, `{"uniqueid":"E2","name":"Bo","email":"bo@example.com"}`, "", true},
		{obj, `{"uniqueid":"E2","name":"B\"o","email":"bo@example.com"}`, "", true},
		{obj, `{"uniqueid":"E2","name":"Bo\",\"email\":\"x","email":"bo@example.com"}`, "", true},
		{obj, `{"uniqueid":"E2","name":null,"email":"bo@example.com"}`, "", true},
		{obj, `{"uniqueid":"E2", "name":"Bo","email":"bo@example.com"}`, "", true},
		{obj, `{"uniqueid":"E2","name":"Bo","email":"bo@example.com"}x`, "", true},
		{obj, `{"uniqueid":"E2","name":"Bo","email":"bo@example.com"`, "", true},
		{obj, `{"uniqueid":"E2","name":"Bo","mail":"bo@example.com"}`, "", true},
		{obj, `{"uniqueid":"E2","name":7,"email":["a"]}`, "", true},
		{obj, `{"uniqueid":"E2","name":"\u00e9\ud83d\ude00","email":""}`, "", true},
		{obj, `{}`, "y", false},
		{`{}`, `{}`, "y", false},
		{`{}`, ``, "", true},
		{``, `{"a":"1"}`, "", true},
		{obj, `{"uniqueid":"E2","uniqueid":"E3"}`, "", true},
		{obj, `{"uniqueid":"E2","col":"E3"}`, "z", false},
		{`{"a": "1", "b": "2"}`, `{"a": "3", "b": "4"}`, "", true},
		{`{"a": "1", "b": "2"}`, `{"a": "3","b": "4"}`, "", true},
		{`{"a":"1","b":null,"c":"2"}`, `{"a":"5","b":null,"c":"6"}`, "", true},
		{`{"a":"1","b":null,"c":"2"}`, `{"a":"5","c":"6"}`, "", true},
		{`{"a":"1","b":2}`, `{"a":"5","b":6}`, "", true},
	} {
		f.Add(seed.prime, seed.js, seed.col, seed.null)
	}
	n, err := Tables{Users: UsersTable{Columns: map[string]string{"col": "col"}}}.resolve()
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, prime, js, col string, null bool) {
		src := rawRow{[]byte(col)}
		if null {
			src[0] = nil
		}
		want, wantErr := newDecoder(n).attrs(js, src, 0)
		primed := newDecoder(n)
		primed.attrs(prime, rawRow{[]byte("p")}, 0)
		primed.attrs(prime, rawRow{nil}, 0)
		got, gotErr := primed.attrs(js, src, 0)
		if wantErr != nil {
			require.Error(t, gotErr, "fast path took %q, the general one refused it: %v", js, wantErr)
			return
		}
		require.NoError(t, gotErr, "fast path refused %q", js)
		require.Equal(t, want.Layout().Names(), got.Layout().Names())
		require.True(t, want.Equal(got), "%q: got %v, want %v", js, got, want)
	})
}

// TestDecoderFastPath checks that rows spelled like the one before them,
// as the Sink writes them and as PostgreSQL prints JSONB, take the fast
// path, and that one with an escape does not.
func TestDecoderFastPath(t *testing.T) {
	n, err := Tables{}.resolve()
	require.NoError(t, err)
	for _, c := range []struct {
		first, next string
		fast        bool
	}{
		{`{"name":"Ann","email":"ann@example.com"}`, `{"name":"Bo","email":"bo@example.com"}`, true},
		{`{"email": "ann@example.com", "name": "Ann"}`, `{"email": "bo@example.com", "name": "Bo"}`, true},
		{`{"name":"Ann","gone":null}`, `{"name":"Bo","gone":null}`, true},
		{`{"name":"Ann"}`, `{"name":"B\u00f6"}`, false},
		{`{"name":"Ann"}`, `{"name":"Bo","email":"bo@example.com"}`, false},
		{`{"name":"A\"nn"}`, `{"name":"Bo"}`, false},
	} {
		d := newDecoder(n)
		_, err := d.attrs(c.first, rawRow{}, 0)
		require.NoError(t, err)
		_, ok := d.fast(c.next, rawRow{}, 0)
		require.Equal(t, c.fast, ok, "%s after %s", c.next, c.first)
	}
}

// BenchmarkDecode decodes a user row of Cosafe's attributes, as listing
// does a million times.
func BenchmarkDecode(b *testing.B) {
	n, err := Tables{}.resolve()
	require.NoError(b, err)
	s := &Sink{n: n}
	dec := newDecoder(n)
	var src rowSource = rawRow{[]byte("E0000123"), []byte("f"), []byte("t"), []byte("0"), []byte("0"),
		[]byte(`{"uniqueid":"E0000123","name":"Person Number E0000123","email":"person.E0000123@example.com","title":"Nurse","phone":"+46 70 123 45 67","phone2":"","firstname":"Person","lastname":"Number E0000123"}`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.decodeUser(dec, src, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// A rawRow is a rowSource of one row here.
func (r rawRow) next() bool { return false }
func (r rawRow) err() error { return nil }
func (r rawRow) close()     {}

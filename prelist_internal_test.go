package usersync

import (
	"context"
	"errors"
	"io"
	"iter"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// digestList is a DigestLister of a fixed listing: its digests, then err if
// set; block makes the listing wait for its ctx after them.
type digestList struct {
	emptyLister
	ds    []UserDigest
	err   error
	block bool
}

func (l *digestList) Digests(ctx context.Context) iter.Seq2[UserDigest, error] {
	return func(yield func(UserDigest, error) bool) {
		for _, d := range l.ds {
			if !yield(d, nil) {
				return
			}
		}
		if l.block {
			<-ctx.Done()
			yield(UserDigest{}, ctx.Err())
			return
		}
		if l.err != nil {
			yield(UserDigest{}, l.err)
		}
	}
}

func (l *digestList) LookupUsers(context.Context, []string) iter.Seq2[Record, error] {
	return func(func(Record, error) bool) {}
}

func collectDigests(t *testing.T, seq iter.Seq2[UserDigest, error]) ([]UserDigest, error) {
	t.Helper()
	var out []UserDigest
	for d, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, d)
	}
	return out, nil
}

func TestPrelistingReadsBackWhatTheSinkListed(t *testing.T) {
	long := strings.Repeat("k", 100<<10) // longer than the read buffer
	l := &digestList{ds: []UserDigest{
		{Key: "", Known: true},
		{Key: "a", Attrs: 1, Groups: 2, Known: true},
		{Key: "b\x00ü", Attrs: math.MaxUint64, Groups: math.MaxUint64 - 1},
		{Key: long, Attrs: 7, Groups: 8, Known: true},
		{Key: "z", Attrs: 3},
	}}
	for i := range 10000 { // more than one buffer, with a look at ctx
		l.ds = append(l.ds, UserDigest{Key: "zz" + strings.Repeat("x", i%40), Attrs: Digest(i), Known: i%3 == 0})
	}
	dir := t.TempDir()
	p := prelist(context.Background(), dir, l)
	for range 2 { // it reads back as often as asked
		got, err := collectDigests(t, p.digests(context.Background()))
		require.NoError(t, err)
		require.Equal(t, len(l.ds), len(got))
		assert.Equal(t, l.ds, got)
	}
	assert.Len(t, tempFiles(dir), 1)
	require.NoError(t, p.Close())
	assert.Empty(t, tempFiles(dir), "Close removes the file")
}

func TestPrelistingPassesTheListingsErrorOn(t *testing.T) {
	broken := errors.New("connection reset")
	dir := t.TempDir()
	p := prelist(context.Background(), dir, &digestList{ds: []UserDigest{{Key: "a", Known: true}}, err: broken})
	got, err := collectDigests(t, p.digests(context.Background()))
	assert.ErrorIs(t, err, broken)
	assert.Empty(t, got, "a failed listing yields nothing but its error")
	require.NoError(t, p.Close())
	assert.Empty(t, tempFiles(dir))
}

func TestPrelistingWithoutATempDirFails(t *testing.T) {
	p := prelist(context.Background(), t.TempDir()+"/missing", &digestList{})
	_, err := collectDigests(t, p.digests(context.Background()))
	assert.ErrorContains(t, err, "spool the digests")
	assert.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, p.Close())
}

func TestPrelistingStopsOnClose(t *testing.T) {
	dir := t.TempDir()
	p := prelist(context.Background(), dir, &digestList{ds: []UserDigest{{Key: "a"}}, block: true})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := collectDigests(t, p.digests(ctx))
	assert.ErrorIs(t, err, context.DeadlineExceeded, "a reader waits for the listing as long as its ctx lets it")

	done := make(chan error)
	go func() { done <- p.Close() }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not stop the listing")
	}
	assert.Empty(t, tempFiles(dir))
}

func TestDigestReaderFailsOnACutFile(t *testing.T) {
	var b []byte
	for _, d := range []UserDigest{{Key: "a", Attrs: 1, Known: true}, {Key: strings.Repeat("k", 3*digestBlock), Groups: 2}} {
		b = appendDigest(b, &d)
	}
	for _, cut := range []int{1, 8, 17, 3 * digestBlock} {
		r := digestReader{r: strings.NewReader(string(b[:len(b)-cut]))}
		d, err := r.next()
		require.NoError(t, err)
		assert.Equal(t, "a", d.Key)
		_, err = r.next()
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "cut %d bytes short", cut)
	}
	r := digestReader{r: strings.NewReader(string(b))}
	for range 2 {
		_, err := r.next()
		require.NoError(t, err)
	}
	_, err := r.next()
	assert.Equal(t, io.EOF, err)
}

// tempFiles lists what is left in dir.
func tempFiles(dir string) []string {
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	return left
}

package reconcile_test

import (
	"context"
	"flag"
	"io"
	"iter"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/internal/bench"
	"github.com/usersync/usersync/reconcile"
)

var benchUsers = flag.Int("users", 100_000, "users in BenchmarkReconcile's directory")

// BenchmarkReconcile plans the bench command's scenario (see internal/bench):
// today's file, already mapped, against a Sink holding yesterday's users.
// "plain" is the baseline encoding/csv pass over the same file; "reconcile"
// the Reconcile call alone ("reconcile-shuffled" with the Sink listed in an
// order unrelated to the file's); "fingerprint" a listing of the Sink that
// fingerprints it, which a Pipeline does while the Reconciler lists. For a
// million users: go test -run '^$' -bench Reconcile ./reconcile -users 1000000
func BenchmarkReconcile(b *testing.B) {
	s, err := bench.Prepare(b.TempDir(), *benchUsers)
	if err != nil {
		b.Fatal(err)
	}
	sink, err := s.Seed()
	if err != nil {
		b.Fatal(err)
	}
	feed := readFeed(b, s.Today)
	policy := &reconcile.Policy{RemoveGuard: reconcile.Guard{Max: -1}}
	b.Run("plain", func(b *testing.B) {
		for range b.N {
			if _, err := s.PlainCSV(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reconcile", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			p, err := reconcile.New(policy).Reconcile(context.Background(), feed, sink)
			if err != nil || p.Hold != nil {
				b.Fatal(err, p.Hold)
			}
		}
	})
	// The same Sink listed in an order unrelated to the file's: the
	// worst case for the index, which is then looked up for every user.
	users, groups := sink.Snapshot()
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(users), func(i, j int) { users[i], users[j] = users[j], users[i] })
	b.Run("reconcile-shuffled", func(b *testing.B) {
		for range b.N {
			if _, err := reconcile.New(policy).Reconcile(context.Background(), feed, &listing{users, groups}); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The Sink as one that keeps digests (see usersync.DigestLister): the
	// plan is a merge of the feed with the digests, and only the users
	// whose rows differ are read in full.
	digests := newStoredDigests(users, groups)
	b.Run("reconcile-digests", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			p, err := reconcile.New(policy).Reconcile(context.Background(), feed, digests)
			if err != nil || p.Hold != nil {
				b.Fatal(err, p.Hold)
			}
		}
	})
	b.Run("fingerprint", func(b *testing.B) {
		for range b.N {
			if _, err := usersync.ListFingerprint(context.Background(), sink); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func readFeed(b *testing.B, path string) *usersync.Feed {
	m, err := csvmap.New(bench.Schema, nil)
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rr, err := m.NewReader(f, usersync.FileInfo{Name: "users.csv", Size: -1})
	if err != nil {
		b.Fatal(err)
	}
	feed := &usersync.Feed{}
	for {
		r, err := rr.Read()
		if err == io.EOF {
			return feed
		}
		if err != nil {
			b.Fatal(err)
		}
		feed.Records = append(feed.Records, r)
	}
}

// storedDigests is a Sink's state with its digests computed ahead, in key
// order, as a Sink that stores them lists them.
type storedDigests struct {
	listing
	digests []usersync.UserDigest
	byKey   map[string]int
}

func newStoredDigests(users []usersync.Record, groups []usersync.Group) *storedDigests {
	s := &storedDigests{listing: listing{users, groups}, byKey: make(map[string]int, len(users))}
	for i := range users {
		s.digests = append(s.digests, usersync.DigestUser(&users[i]))
		s.byKey[users[i].Key] = i
	}
	slices.SortFunc(s.digests, func(a, b usersync.UserDigest) int { return strings.Compare(a.Key, b.Key) })
	return s
}

func (s *storedDigests) Digests(context.Context) iter.Seq2[usersync.UserDigest, error] {
	return func(yield func(usersync.UserDigest, error) bool) {
		for _, d := range s.digests {
			if !yield(d, nil) {
				return
			}
		}
	}
}

func (s *storedDigests) LookupUsers(_ context.Context, keys []string) iter.Seq2[usersync.Record, error] {
	return func(yield func(usersync.Record, error) bool) {
		for _, k := range keys {
			if i, ok := s.byKey[k]; ok && !yield(s.users[i], nil) {
				return
			}
		}
	}
}

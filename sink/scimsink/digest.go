package scimsink

import (
	"context"
	"iter"
	"slices"
	"strings"

	"github.com/usersync/usersync"
)

var _ usersync.DigestLister = (*Sink)(nil)

// Digests yields the digests of every user in byte order of key. A SCIM
// server keeps no digests, so they are computed from a listing of the
// users (see Users), which they reflect as the server holds them at that
// moment, changes made there by hand included: every digest is Known. The
// listing's records are not kept, only each user's key and digests, so a
// sync holds the feed in its spool and a few bytes a user here, rather than
// the whole feed in memory.
func (s *Sink) Digests(ctx context.Context) iter.Seq2[usersync.UserDigest, error] {
	return func(yield func(usersync.UserDigest, error) bool) {
		var ds []usersync.UserDigest
		var dg usersync.Digester
		for u, err := range s.Users(ctx) {
			if err != nil {
				yield(usersync.UserDigest{}, err)
				return
			}
			ds = append(ds, dg.Digest(&u))
		}
		slices.SortFunc(ds, func(a, b usersync.UserDigest) int { return strings.Compare(a.Key, b.Key) })
		for _, d := range ds {
			if err := ctx.Err(); err != nil {
				yield(usersync.UserDigest{}, err)
				return
			}
			if !yield(d, nil) {
				return
			}
		}
	}
}

// LookupUsers yields the users of keys, which are sorted and distinct, as
// Users yields them, in the order of keys. It takes them from one listing
// of the users, since a user's groups are known only from the groups'
// member lists.
func (s *Sink) LookupUsers(ctx context.Context, keys []string) iter.Seq2[usersync.Record, error] {
	return func(yield func(usersync.Record, error) bool) {
		if len(keys) == 0 {
			return
		}
		found := make([]usersync.Record, len(keys))
		have := make([]bool, len(keys))
		for u, err := range s.Users(ctx) {
			if err != nil {
				yield(usersync.Record{}, err)
				return
			}
			if i, ok := slices.BinarySearch(keys, u.Key); ok {
				found[i], have[i] = u, true
			}
		}
		for i := range found {
			if have[i] && !yield(found[i], nil) {
				return
			}
		}
	}
}

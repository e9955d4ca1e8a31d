package memsink

import (
	"context"
	"fmt"
	"iter"
	"slices"

	"github.com/usersync/usersync"
)

var _ usersync.DigestLister = (*Sink)(nil)

// Digests yields the digests of every user, managed or not, in increasing
// order of key, as [usersync.DigestUser] computes them from the user as it
// is: a Sink holds nothing that changes behind its back, so every digest is
// Known.
//
// A Sink keeps its keys sorted as of its last listing, and the keys added
// since apart: Digests sorts these, and merges them into the rest, which
// takes time in proportion to the users and to k log k for k keys added.
// It then digests the users a chunk of 1024 at a time, each chunk under
// one read lock. Like [Sink.Users], it is not a snapshot when the caller
// changes the Sink during the iteration: a user deleted meanwhile is left
// out, and one created meanwhile is not listed.
func (s *Sink) Digests(ctx context.Context) iter.Seq2[usersync.UserDigest, error] {
	return func(yield func(usersync.UserDigest, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(usersync.UserDigest{}, fmt.Errorf("memsink: listing digests: %w", err))
			return
		}
		keys := s.sortedKeys()
		var dg usersync.Digester
		buf := make([]usersync.UserDigest, 0, listChunk)
		for chunk := range slices.Chunk(keys, listChunk) {
			if err := ctx.Err(); err != nil {
				yield(usersync.UserDigest{}, fmt.Errorf("memsink: listing digests: %w", err))
				return
			}
			buf = buf[:0]
			s.mu.RLock()
			for _, k := range chunk {
				if i, ok := s.index[k]; ok {
					r := s.users[i].record()
					buf = append(buf, dg.Digest(&r))
				}
			}
			s.mu.RUnlock()
			for _, d := range buf {
				if !yield(d, nil) {
					return
				}
			}
		}
	}
}

// LookupUsers yields the users with the given keys, which must be sorted
// and distinct, in their order, leaving out keys the Sink does not hold. It
// reads them a chunk of 1024 at a time, each chunk under one read lock, and
// checks ctx between chunks.
func (s *Sink) LookupUsers(ctx context.Context, keys []string) iter.Seq2[usersync.Record, error] {
	return func(yield func(usersync.Record, error) bool) {
		buf := make([]usersync.Record, 0, min(len(keys), listChunk))
		for chunk := range slices.Chunk(keys, listChunk) {
			if err := ctx.Err(); err != nil {
				yield(usersync.Record{}, fmt.Errorf("memsink: looking up users: %w", err))
				return
			}
			buf = buf[:0]
			s.mu.RLock()
			for _, k := range chunk {
				if i, ok := s.index[k]; ok {
					buf = append(buf, s.users[i].record())
				}
			}
			s.mu.RUnlock()
			for _, r := range buf {
				if !yield(r, nil) {
					return
				}
			}
		}
	}
}

// sortedKeys merges the keys added since the last listing into the sorted
// ones, dropping keys no longer held and duplicates, and returns them. The
// slice returned is never changed: a later call makes another.
func (s *Sink) sortedKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.added) == 0 && len(s.sorted) == len(s.index) {
		return s.sorted
	}
	slices.Sort(s.added)
	merged := make([]string, 0, len(s.index))
	a, b := s.sorted, s.added
	for len(a) > 0 || len(b) > 0 {
		var k string
		if len(b) == 0 || len(a) > 0 && a[0] <= b[0] {
			k, a = a[0], a[1:]
		} else {
			k, b = b[0], b[1:]
		}
		if _, ok := s.index[k]; ok && (len(merged) == 0 || merged[len(merged)-1] != k) {
			merged = append(merged, k)
		}
	}
	s.sorted, s.added = merged, nil
	return merged
}

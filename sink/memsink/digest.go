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
// A Sink keeps its users in no order: Digests copies and sorts the keys
// when it starts (about 16 bytes a user, and n log n comparisons), then
// digests the users a chunk of 1024 at a time, each chunk under one read
// lock. Like [Sink.Users], it is not a snapshot when the caller changes the
// Sink during the iteration: a user deleted meanwhile is left out, and one
// created meanwhile is not listed.
func (s *Sink) Digests(ctx context.Context) iter.Seq2[usersync.UserDigest, error] {
	return func(yield func(usersync.UserDigest, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(usersync.UserDigest{}, fmt.Errorf("memsink: listing digests: %w", err))
			return
		}
		s.mu.RLock()
		keys := make([]string, 0, len(s.index))
		for i := range s.users {
			if s.users[i].key != "" {
				keys = append(keys, s.users[i].key)
			}
		}
		s.mu.RUnlock()
		slices.Sort(keys)
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

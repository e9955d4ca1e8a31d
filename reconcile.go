package usersync

import (
	"context"
	"iter"
)

// A Feed is the verified content of one run: every record of every file, each
// of which was read to a clean end.
type Feed struct {
	Files   []FileResult
	Records []Record
	// Rejected lists every row the Mapper rejected. Their users are in the
	// file even though their rows could not be used: a Reconciler must not
	// treat them as missing (see RowError.Key).
	Rejected []*RowError
}

// A Reconciler compares the feed with the Sink's current state and decides
// what to change. It must not change anything itself.
//
// A Reconciler decides the safety policy too: which users it may touch, what
// happens to users missing from the feed, and which guards hold a plan for
// an administrator's approval (see [Plan.Hold]).
type Reconciler interface {
	Reconcile(ctx context.Context, feed *Feed, current Lister) (*Plan, error)
}

// A Lister reports a Sink's current state, streaming, so that a directory of
// a million users need not sit in memory twice. Sinks that can list
// implement it; see [Sink].
type Lister interface {
	// Users yields every user the Sink holds, managed or not, in any order.
	// An error ends the sequence.
	Users(ctx context.Context) iter.Seq2[Record, error]
	// Groups yields every group that has an external ID.
	Groups(ctx context.Context) iter.Seq2[Group, error]
}

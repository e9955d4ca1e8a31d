package usersync

import (
	"context"
	"errors"
	"iter"
	"sync"
	"unsafe"
)

// A headStart lists a DigestLister's digests in the background while the
// Pipeline reads the files, keeping up to limit bytes of them, so that the
// listing (a database query, typically) runs on the core that reading a
// file leaves idle instead of after it. The first listing a Reconciler asks
// for takes what was listed and goes on from there; any other listing is
// the Sink's own.
//
// Until a Reconciler takes it, the background listing never waits for
// room: a directory too large for the limit drops its head start, and the
// Reconciler lists as it would have without one. A listing that waited
// would hold its database connection while the Reconciler asks for
// another, which a pool of one connection (or a worker's pool shared by as
// many runs) would never give.
type headStart struct {
	DigestLister
	cancel context.CancelFunc
	done   chan struct{} // closed when the background listing returns

	mu     sync.Mutex
	cond   *sync.Cond
	queue  [][]UserDigest // batches listed and not yet taken
	bytes  int64          // what queue holds, about
	limit  int64
	ended  bool  // the background listing reached its end, or failed with err
	err    error //
	taken  bool  // the one listing that takes the head start was handed out
	closed bool  // stop was called, or the head start overflowed: nobody takes more
}

// errHeadStartStopped ends a listing taken from a head start that was
// stopped before its end: a listing cut short must not pass for a whole one.
var errHeadStartStopped = errors.New("usersync: the digest listing was stopped")

// headStartBatch is how many digests the background listing hands over at
// a time.
const headStartBatch = 1024

// startHeadStart starts listing dl's digests, with at most limit bytes of
// them held. The listing lives until stop, not until ctx ends: the ctx of
// the Reconciler that takes it governs it from then on, and a Reconciler
// may finish a plan after its run was canceled (the Pipeline then applies
// nothing).
func startHeadStart(ctx context.Context, dl DigestLister, limit int64) *headStart {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h := &headStart{DigestLister: dl, cancel: cancel, done: make(chan struct{}), limit: limit}
	h.cond = sync.NewCond(&h.mu)
	go h.list(ctx)
	return h
}

// digestBytes is about what a listed digest holds in memory.
func digestBytes(d *UserDigest) int64 { return int64(unsafe.Sizeof(*d)) + int64(len(d.Key)) }

func (h *headStart) list(ctx context.Context) {
	defer close(h.done)
	batch := make([]UserDigest, 0, headStartBatch)
	var size int64
	for d, err := range h.DigestLister.Digests(ctx) {
		if err != nil {
			h.end(err)
			return
		}
		batch = append(batch, d)
		if size += digestBytes(&d); len(batch) == headStartBatch {
			if !h.push(batch, size) {
				return
			}
			batch, size = make([]UserDigest, 0, headStartBatch), 0
		}
	}
	if len(batch) > 0 && !h.push(batch, size) {
		return
	}
	h.end(nil)
}

// push queues a batch: once there is room if a Reconciler is taking the
// listing, else at once, or not at all when the limit is reached, which
// drops the head start. False means nobody will take the batch.
func (h *headStart) push(batch []UserDigest, size int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for h.taken && h.bytes >= h.limit && !h.closed {
		h.cond.Wait()
	}
	if !h.taken && h.bytes+size > h.limit {
		h.closed, h.queue, h.bytes = true, nil, 0
	}
	if h.closed {
		return false
	}
	h.queue = append(h.queue, batch)
	h.bytes += size
	h.cond.Broadcast()
	return true
}

func (h *headStart) end(err error) {
	h.mu.Lock()
	h.ended, h.err = true, err
	h.cond.Broadcast()
	h.mu.Unlock()
}

// next waits for the next batch; ok is false at the end of the listing,
// with its error, if any.
func (h *headStart) next() (batch []UserDigest, ok bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(h.queue) == 0 && !h.ended && !h.closed {
		h.cond.Wait()
	}
	if len(h.queue) == 0 {
		if h.closed && !h.ended {
			return nil, false, errHeadStartStopped
		}
		return nil, false, h.err
	}
	batch = h.queue[0]
	h.queue[0] = nil
	h.queue = h.queue[1:]
	for i := range batch {
		h.bytes -= digestBytes(&batch[i])
	}
	h.cond.Broadcast()
	return batch, true, nil
}

// Digests yields the listing started ahead, the first time it is called
// and ranged over; every other listing is the Sink's own.
func (h *headStart) Digests(ctx context.Context) iter.Seq2[UserDigest, error] {
	return func(yield func(UserDigest, error) bool) {
		h.mu.Lock()
		first := !h.taken && !h.closed
		h.taken = true
		h.cond.Broadcast()
		h.mu.Unlock()
		if !first {
			for d, err := range h.DigestLister.Digests(ctx) {
				if !yield(d, err) {
					return
				}
			}
			return
		}
		defer h.stop() // a listing left before its end frees the rest
		for {
			if err := ctx.Err(); err != nil {
				yield(UserDigest{}, err)
				return
			}
			batch, ok, err := h.next()
			if err != nil {
				yield(UserDigest{}, err)
				return
			}
			if !ok {
				return
			}
			for _, d := range batch {
				if !yield(d, nil) {
					return
				}
			}
		}
	}
}

// stop ends the background listing, if it still runs, drops what it held,
// and waits for it.
func (h *headStart) stop() {
	h.mu.Lock()
	h.closed = true
	h.queue, h.bytes = nil, 0
	h.cond.Broadcast()
	h.mu.Unlock()
	h.cancel()
	<-h.done
}

// LinksGroups passes the question on to the Sink's Lister (see
// [GroupLinker]).
func (h *headStart) LinksGroups() bool { return LinksGroups(h.DigestLister) }

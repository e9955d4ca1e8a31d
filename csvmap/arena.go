package csvmap

import "strings"

// arenaChunk is the size of an arena's buffers: a few hundred rows, and the
// largest size the runtime allocates from its per-thread caches.
const arenaChunk = 32 << 10

// An arena hands out strings carved from large shared buffers, so that many
// small strings cost one allocation. A string from an arena keeps its whole
// buffer alive, so an arena serves strings that die together (the fields of
// the rows being mapped) or that live as long as one another (the keys of a
// file's records), never a few long-lived strings among short-lived ones.
//
// It is built on strings.Builder, which never changes bytes it has handed
// out: appending writes past them, and growing copies them to a new buffer.
// So no unsafe code is needed, and a string stays valid however the arena
// is used afterwards.
type arena struct {
	b strings.Builder
}

// start makes room for about n more bytes and returns the offset where the
// next string begins. Writing more than n is allowed; it may copy.
func (a *arena) start(n int) int {
	if a.b.Cap()-a.b.Len() < n {
		a.b = strings.Builder{}
		a.b.Grow(max(n, arenaChunk))
	}
	return a.b.Len()
}

// since returns the bytes written since start, which start returned.
func (a *arena) since(start int) string {
	return a.b.String()[start:]
}

// clone returns a copy of s from the arena.
func (a *arena) clone(s string) string {
	at := a.start(len(s))
	a.b.WriteString(s)
	return a.since(at)
}

package sftpserver

import (
	"sync"
	"time"
)

// maxLockoutEntries bounds the failures the server remembers, so that
// failures from many addresses cannot fill its memory.
const maxLockoutEntries = 1 << 16

// lockout counts authentication failures per key (a user name and an
// address, or an address alone, for unknown user names) and says when a
// key is locked out.
type lockout struct {
	cfg Lockout
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*failures
}

type failures struct {
	count       int
	last        time.Time
	lockedUntil time.Time
}

func newLockout(cfg Lockout, now func() time.Time) *lockout {
	return &lockout{cfg: cfg, now: now, entries: map[string]*failures{}}
}

// userKey and ipKey name the two counters a failure counts against.
func userKey(user, ip string) string { return "user\x00" + user + "\x00" + ip }
func ipKey(ip string) string         { return "ip\x00" + ip }

// lockedUntil returns the time until which one of keys is locked out, or
// the zero time if none is.
func (l *lockout) lockedUntil(keys ...string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var until time.Time
	for _, k := range keys {
		if f := l.entries[k]; f != nil && f.lockedUntil.After(now) && f.lockedUntil.After(until) {
			until = f.lockedUntil
		}
	}
	return until
}

// fail counts a failure against the user's key and, for a user name that
// does not exist (known false), against the address's key too: only
// guessing at names (enumeration) blocks an address, so that a tenant
// sharing the address with one that fails, behind a NAT or a transfer
// vendor, is never shut out. It returns how long to wait before
// answering, and whether this failure locked either key out.
func (l *lockout) fail(user, ip string, known bool) (delay time.Duration, locked bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	n, lockedUser := l.count(userKey(user, ip), now, l.cfg.MaxFailures)
	lockedIP := false
	if !known {
		_, lockedIP = l.count(ipKey(ip), now, l.cfg.MaxFailuresPerIP)
	}
	return l.delay(n), lockedUser || lockedIP
}

// failedBefore reports whether the user failed from the address within
// the lockout's memory.
func (l *lockout) failedBefore(user, ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.entries[userKey(user, ip)]
	return f != nil && !l.expired(f, l.now())
}

// count adds a failure to key's counter, locking it out once it reaches
// max, and returns the count and whether it locked the key out. It starts
// over if the last failure is older than Duration.
func (l *lockout) count(key string, now time.Time, max int) (int, bool) {
	f := l.entries[key]
	if f == nil || l.expired(f, now) {
		l.makeRoom(now)
		f = &failures{}
		l.entries[key] = f
	}
	f.count++
	f.last = now
	if f.count >= max && !f.lockedUntil.After(now) {
		f.lockedUntil = now.Add(l.cfg.Duration)
		return f.count, true
	}
	return f.count, false
}

// delay is the wait after the n-th failure in a row: Delay, doubled for
// each further failure, at most MaxDelay.
func (l *lockout) delay(n int) time.Duration {
	d := l.cfg.Delay
	if d <= 0 {
		return 0
	}
	for i := 1; i < n && d < l.cfg.MaxDelay; i++ {
		d *= 2
	}
	return min(d, l.cfg.MaxDelay)
}

// succeed forgets the user's failures from that address. The address's
// own counter stays: one good login must not clear a spray of guesses at
// other names.
func (l *lockout) succeed(user, ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, userKey(user, ip))
}

func (l *lockout) expired(f *failures, now time.Time) bool {
	return now.Sub(f.last) > l.cfg.Duration && !f.lockedUntil.After(now)
}

// makeRoom drops expired counters once the table is full, and if that is
// not enough, counters that have not locked anything out.
func (l *lockout) makeRoom(now time.Time) {
	if len(l.entries) < maxLockoutEntries {
		return
	}
	for k, f := range l.entries {
		if l.expired(f, now) {
			delete(l.entries, k)
		}
	}
	for k, f := range l.entries {
		if len(l.entries) < maxLockoutEntries {
			return
		}
		if !f.lockedUntil.After(now) {
			delete(l.entries, k)
		}
	}
}

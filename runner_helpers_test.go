package usersync_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitLimit bounds every wait of the runner tests on another goroutine, so
// that a bug fails a test instead of hanging it. It is generous: the tests
// never wait it out when the code is right, however loaded the machine.
const waitLimit = time.Minute

// fakeClock is a usersync.Clock whose time moves only when a test says.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []fakeTimer
	changed chan struct{} // closed and replaced when a timer is added
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, changed: make(chan struct{})}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, fakeTimer{c.now.Add(d), ch})
	close(c.changed)
	c.changed = make(chan struct{})
	return ch
}

// set moves the time to t and fires the timers due by then.
func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	c.timers = slices.DeleteFunc(c.timers, func(ft fakeTimer) bool {
		if ft.at.After(t) {
			return false
		}
		ft.ch <- t
		return true
	})
}

// next waits until n timers are waiting, and returns the earliest.
func (c *fakeClock) next(t testing.TB, n int) time.Time {
	t.Helper()
	limit := time.After(waitLimit)
	for {
		c.mu.Lock()
		changed := c.changed
		if len(c.timers) >= n {
			at := slices.MinFunc(c.timers, func(a, b fakeTimer) int { return a.at.Compare(b.at) }).at
			c.mu.Unlock()
			return at
		}
		c.mu.Unlock()
		select {
		case <-changed:
		case <-limit:
			t.Fatalf("no %d timers waiting after %v", n, waitLimit)
		}
	}
}

// step waits until n timers are waiting, and moves the time to the
// earliest.
func (c *fakeClock) step(t testing.TB, n int) time.Time {
	t.Helper()
	at := c.next(t, n)
	c.set(at)
	return at
}

// logs records what a slog.Logger logs, and lets a test wait for a message.
type logs struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{}
}

func newLogs() *logs { return &logs{changed: make(chan struct{})} }

// logger returns a Logger that logs to l, at every level.
func (l *logs) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// Write takes one line from the handler, which writes each record at once.
func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimSuffix(string(p), "\n"))
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

// count returns how many lines hold s.
func (l *logs) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// wait waits until n lines hold s.
func (l *logs) wait(t testing.TB, s string, n int) {
	t.Helper()
	limit := time.After(waitLimit)
	for {
		l.mu.Lock()
		changed := l.changed
		l.mu.Unlock()
		if l.count(s) >= n {
			return
		}
		select {
		case <-changed:
		case <-limit:
			t.Fatalf("no %d log lines with %q after %v; the log:\n%s", n, s, waitLimit, l)
		}
	}
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// recv receives from ch, or fails the test after waitLimit.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("no %s after %v", what, waitLimit)
		panic("unreachable")
	}
}

// started runs r.Run in a goroutine, and returns a function that cancels
// its ctx and returns what Run returned.
func started(t testing.TB, run func(context.Context) error) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	stopped := false
	var err error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			err = recv(t, done, "return from Runner.Run")
		}
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// local formats t in loc, to the minute, with its zone.
func local(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(fmt.Errorf("time zone %s: %w", name, err))
	}
	return loc
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/usersync/usersync"
)

// A tracer samples the process's resident memory and the Go heap every
// few milliseconds during a sync, and notes the highest of each with the
// run's last event before it (-trace): where in a run its peak is.
type tracer struct {
	mu        sync.Mutex
	phase     string
	peakRSS   uint64
	rssPhase  string
	peakHeap  uint64
	heapPhase string
	stop      chan struct{}
	done      chan struct{}
	t0        time.Time
	profiles  string // a folder for a heap profile each second, or ""
}

// start starts sampling.
func (t *tracer) start() {
	t.phase, t.stop, t.done = "start", make(chan struct{}), make(chan struct{})
	t.t0 = time.Now()
	go func() {
		defer close(t.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		n := 0
		for {
			t.sample()
			if n++; t.profiles != "" && n%50 == 0 {
				t.profile(n / 50)
			}
			select {
			case <-t.stop:
				return
			case <-tick.C:
			}
		}
	}()
}

func (t *tracer) sample() {
	rss := vmRSS()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.mu.Lock()
	defer t.mu.Unlock()
	if rss > t.peakRSS {
		t.peakRSS, t.rssPhase = rss, t.phase
	}
	if ms.HeapInuse > t.peakHeap {
		t.peakHeap, t.heapPhase = ms.HeapInuse, t.phase
	}
}

// profile writes a heap profile of the last collection's live objects.
func (t *tracer) profile(n int) {
	t.mu.Lock()
	phase := t.phase
	t.mu.Unlock()
	f, err := os.Create(filepath.Join(t.profiles, fmt.Sprintf("heap-%03d.pb.gz", n)))
	if err != nil {
		return
	}
	defer f.Close()
	pprof.WriteHeapProfile(f)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("  trace %5.1fs heap-%03d.pb.gz %-22s RSS %4d MiB, heap in use %4d MiB, live at last GC about %4d MiB\n",
		time.Since(t.t0).Seconds(), n, phase, vmRSS()>>20, ms.HeapInuse>>20, ms.NextGC/2>>20)
}

// Report notes the run's events as its phases, and prints the memory at
// each file read and at the plan.
func (t *tracer) Report(_ context.Context, e usersync.Event) error {
	var name string
	switch e.Kind {
	case usersync.FileRead:
		name = "after " + e.File.Name
	case usersync.PlanReady:
		name = "plan ready"
	case usersync.ChangeApplied:
		name = "applying"
	case usersync.RunFinished:
		name = "finished"
	default:
		return nil
	}
	t.mu.Lock()
	same := t.phase == name
	t.phase = name
	t.mu.Unlock()
	if !same {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("  trace %5.1fs %-22s RSS %4d MiB, heap in use %4d MiB\n", time.Since(t.t0).Seconds(), name, vmRSS()>>20, ms.HeapInuse>>20)
	}
	return nil
}

// end stops sampling and prints the peaks.
func (t *tracer) end() {
	close(t.stop)
	<-t.done
	fmt.Printf("  trace peak RSS %d MiB (after %q), peak heap in use %d MiB (after %q)\n",
		t.peakRSS>>20, t.rssPhase, t.peakHeap>>20, t.heapPhase)
}

// vmRSS returns the process's resident memory, 0 if unknown.
func vmRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(b) {
		v, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))
		n, _ := strconv.ParseUint(string(v), 10, 64)
		return n << 10
	}
	return 0
}

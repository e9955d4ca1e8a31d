package bench

import (
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
)

// RSS is the memory the OS counts for this process (its resident set),
// over one measured step.
type RSS struct {
	Start uint64 // bytes resident when the step began; 0 if unknown
	Peak  uint64 // the most bytes resident at once during the step
	// Source says where Peak comes from: "VmHWM" on Linux, reset before
	// the step; otherwise how far back it reaches, such as "getrusage
	// maxrss, since the process started".
	Source string
}

// StartRSS begins measuring a step's peak RSS: it collects garbage and
// returns the freed memory to the OS, so that an earlier step's leftovers
// do not count, then resets the kernel's peak (Linux: writing 5 to
// /proc/self/clear_refs resets VmHWM). Call the func it returns when the
// step ends.
func StartRSS() (stop func() RSS) {
	runtime.GC()
	debug.FreeOSMemory()
	reset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	start, _ := procStatus("VmRSS:")
	return func() RSS {
		if peak, ok := procStatus("VmHWM:"); ok {
			src := "VmHWM"
			if !reset {
				src = "VmHWM, since the process started (could not reset it)"
			}
			return RSS{Start: start, Peak: peak, Source: src}
		}
		peak, ok := maxRSS()
		if !ok {
			return RSS{Source: "unknown on " + runtime.GOOS}
		}
		return RSS{Start: start, Peak: peak, Source: "getrusage maxrss, since the process started"}
	}
}

// procStatus returns a line of /proc/self/status that gives kB, in bytes.
func procStatus(field string) (uint64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range bytes.Lines(b) {
		v, ok := bytes.CutPrefix(line, []byte(field))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))
		n, err := strconv.ParseUint(string(v), 10, 64)
		return n << 10, err == nil
	}
	return 0, false
}

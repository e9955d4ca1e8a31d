//go:build unix

package bench

import (
	"os"
	"runtime"
	"syscall"
	"time"
)

// maxRSS returns getrusage's peak resident set of the process, in bytes.
func maxRSS() (uint64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return rusageBytes(&ru), true
}

// ChildPeakRSS returns the peak RSS of a child process that has exited, as
// the OS accounts it.
func ChildPeakRSS(ps *os.ProcessState) (uint64, bool) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, false
	}
	return rusageBytes(ru), true
}

func rusageBytes(ru *syscall.Rusage) uint64 {
	n := uint64(ru.Maxrss)
	if runtime.GOOS != "darwin" && runtime.GOOS != "ios" {
		n <<= 10 // kilobytes everywhere but on Apple's systems
	}
	return n
}

// CPUTime returns the CPU time, user and system, that this process and
// the children it waited for have used.
func CPUTime() (time.Duration, bool) {
	var self, children syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &self) != nil || syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children) != nil {
		return 0, false
	}
	var ns int64
	for _, ru := range []*syscall.Rusage{&self, &children} {
		ns += ru.Utime.Nano() + ru.Stime.Nano()
	}
	return time.Duration(ns), true
}

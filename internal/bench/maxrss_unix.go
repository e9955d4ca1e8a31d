//go:build unix

package bench

import (
	"runtime"
	"syscall"
)

// maxRSS returns getrusage's peak resident set of the process, in bytes.
func maxRSS() (uint64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	n := uint64(ru.Maxrss)
	if runtime.GOOS != "darwin" && runtime.GOOS != "ios" {
		n <<= 10 // kilobytes everywhere but on Apple's systems
	}
	return n, true
}

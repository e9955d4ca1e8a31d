//go:build !unix

package bench

import (
	"os"
	"time"
)

// maxRSS is not known on this system.
func maxRSS() (uint64, bool) { return 0, false }

// ChildPeakRSS is not known on this system.
func ChildPeakRSS(*os.ProcessState) (uint64, bool) { return 0, false }

// CPUTime is not known on this system.
func CPUTime() (time.Duration, bool) { return 0, false }

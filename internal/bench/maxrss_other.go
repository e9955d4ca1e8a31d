//go:build !unix

package bench

import "time"

// maxRSS is not known on this system.
func maxRSS() (uint64, bool) { return 0, false }

// CPUTime is not known on this system.
func CPUTime() (time.Duration, bool) { return 0, false }

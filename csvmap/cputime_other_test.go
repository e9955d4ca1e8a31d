//go:build !unix

package csvmap_test

import "time"

// cpuTime returns 0: this system does not say.
func cpuTime() time.Duration { return 0 }

//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package usersync

import (
	"errors"
	"os"
)

// lockFile fails: this system has no file lock that its holder's exit
// releases.
func lockFile(path string) (*os.File, error) {
	return nil, &os.PathError{Op: "lock", Path: path, Err: errors.ErrUnsupported}
}

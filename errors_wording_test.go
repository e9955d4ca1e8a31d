package usersync_test

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/usersync/usersync"
)

// TestFileErrorNamesTheFileOnce: a reason that names the file already is
// not prefixed with it again.
func TestFileErrorNamesTheFileOnce(t *testing.T) {
	broke := errors.New("connection reset")
	for _, tc := range []struct {
		err  *usersync.FileError
		want string
	}{
		{&usersync.FileError{Op: "open", File: "users-zz.csv", Err: &fs.PathError{Op: "open", Path: "users-zz.csv", Err: fs.ErrNotExist}},
			"open users-zz.csv: file does not exist"},
		{&usersync.FileError{Op: "read", File: "users.csv", Err: fmt.Errorf("users.csv: transfer broke after 10 bytes: %w", broke)},
			"read users.csv: transfer broke after 10 bytes: connection reset"},
		{&usersync.FileError{Op: "read", File: "users.csv", Err: &fs.PathError{Op: "open", Path: "users.csv", Err: fs.ErrPermission}},
			"read users.csv: open: permission denied"},
		{&usersync.FileError{Op: "map", File: "users.csv", Err: errors.New("missing required column Mail")},
			"map users.csv: missing required column Mail"},
		{&usersync.FileError{Op: "list", Err: broke}, "list: connection reset"},
		{&usersync.FileError{Op: "list", Err: &fs.PathError{Op: "list", Path: "/nope", Err: fs.ErrNotExist}}, "list /nope: file does not exist"},
	} {
		assert.Equal(t, tc.want, tc.err.Error())
	}
	err := &usersync.FileError{Op: "open", File: "users-zz.csv", Err: &fs.PathError{Op: "open", Path: "users-zz.csv", Err: fs.ErrNotExist}}
	assert.ErrorIs(t, err, fs.ErrNotExist, "the wrapped error is still there")
}

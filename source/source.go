// Package source holds what all implementations of usersync.Source share:
// the rules for file names, the error for a closed Source, a reader that
// honors a context, and [Pickup], which wraps any Source with the
// file-pickup rules (name pattern, readiness, what to do after success or
// failure, skipping content already applied).
//
// The implementations live in subpackages: dirsource (a local folder),
// sftpsource (an SFTP server), ftpsource (an FTP server, over TLS unless
// told otherwise), memsource (in memory, for tests), and the conformance
// suite every implementation runs, sourcetest. sftpserver is the other side:
// an SFTP drop box the product embeds, whose tenants' folders are Sources.
package source

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"unicode"

	"github.com/usersync/usersync"
)

// ValidName reports whether name may name a file of a Source, and why not.
// It returns nil for a valid name, or an error wrapping [fs.ErrInvalid].
//
// A valid name satisfies [fs.ValidPath] (slash-separated, relative, no "."
// or ".." element, no empty element), is not "." (which names the folder,
// not a file), and holds neither a backslash nor a control character.
// Backslashes are refused because Windows and some servers treat them as
// separators, so "..\x" could climb out of the folder; control characters
// (NUL, newline, ...) because servers and logs mangle them.
//
// Sources call ValidName before touching their store, and wrap its error in
// an [fs.PathError] naming the operation.
func ValidName(name string) error {
	switch {
	case name == ".":
		return fmt.Errorf("%w: \".\" is the folder, not a file", fs.ErrInvalid)
	case !fs.ValidPath(name):
		return fmt.Errorf("%w: the name is not a clean, relative, slash-separated path", fs.ErrInvalid)
	case strings.ContainsRune(name, '\\'):
		return fmt.Errorf("%w: the name holds a backslash", fs.ErrInvalid)
	case strings.ContainsFunc(name, unicode.IsControl):
		return fmt.Errorf("%w: the name holds a control character", fs.ErrInvalid)
	}
	return nil
}

// CheckNames is what a Source checks first in each call, before it touches
// its store: every name with [ValidName], then ctx. It returns the first
// bare cause, for the caller to wrap in an [fs.PathError].
func CheckNames(ctx context.Context, names ...string) error {
	for _, n := range names {
		if err := ValidName(n); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// ErrClosed is returned, possibly wrapped, by the methods of a Source that
// was closed. errors.Is(err, fs.ErrClosed) is true for it, as the
// usersync.Source contract asks, but its message names the Source rather
// than a file.
var ErrClosed error = closedError{}

type closedError struct{}

func (closedError) Error() string { return "source is closed" }

// Is makes errors.Is(ErrClosed, fs.ErrClosed) true.
func (closedError) Is(target error) bool { return target == fs.ErrClosed }

// ContextReader returns a ReadCloser that reads from rc until ctx is done:
// each Read first checks ctx and, once it is canceled or past its deadline,
// fails with ctx.Err() instead of reading. Close closes rc.
//
// It suits readers whose Read never blocks for long, such as a local file
// or a byte slice. A network stream also needs its blocked Read
// interrupted, by closing the connection when ctx is done.
//
// When rc is also an io.Seeker (a local file), so is the reader returned,
// which lets a Pipeline read a local file a second time from the same open
// file rather than open it again.
func ContextReader(ctx context.Context, rc io.ReadCloser) io.ReadCloser {
	r := &contextReader{ctx: ctx, rc: rc}
	if s, ok := rc.(io.Seeker); ok {
		return &seekingContextReader{r, s}
	}
	return r
}

type seekingContextReader struct {
	*contextReader
	s io.Seeker
}

func (r *seekingContextReader) Seek(offset int64, whence int) (int64, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.s.Seek(offset, whence)
}

// contextReader keeps the ctx of the Open call that made it: the Source
// contract ties the life of a read to that ctx, so it cannot be passed to
// each Read instead.
type contextReader struct {
	ctx context.Context
	rc  io.ReadCloser
}

func (r *contextReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.rc.Read(p)
}

func (r *contextReader) Close() error { return r.rc.Close() }

// CheckList is the check step every Source can offer, named name (such as
// "folder /imports"): whether src lists its folder, and how many files it
// offers. It changes nothing.
func CheckList(ctx context.Context, name string, src usersync.Source) usersync.CheckResult {
	r := usersync.CheckResult{Name: name}
	if files, err := src.List(ctx); err != nil {
		r.Err = err
	} else {
		r.Detail = fmt.Sprintf("readable; files: %d", len(files))
	}
	return r
}

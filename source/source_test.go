package source_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/source"
)

func TestValidName(t *testing.T) {
	for _, name := range []string{"users.csv", "archive/2026/users.csv", "Åsa users.csv", ".users.csv.part", "名簿.csv"} {
		assert.NoError(t, source.ValidName(name), "ValidName(%q)", name)
	}
	for _, name := range []string{
		"", ".", "..", "../x", "/x", "a/../b", "./a", "a/", "a//b",
		`a\b`, `..\x`, "a\x00b", "a\nb", "a\rb", "\x7f", "a\u0085b",
	} {
		assert.ErrorIs(t, source.ValidName(name), fs.ErrInvalid, "ValidName(%q)", name)
	}
}

func TestErrClosed(t *testing.T) {
	err := &fs.PathError{Op: "open", Path: "users.csv", Err: source.ErrClosed}
	assert.ErrorIs(t, err, fs.ErrClosed)
	assert.ErrorIs(t, err, source.ErrClosed)
	assert.EqualError(t, err, "open users.csv: source is closed")
}

func TestContextReader(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	r := source.ContextReader(ctx, io.NopCloser(strings.NewReader("abcdef")))
	buf := make([]byte, 3)
	n, err := r.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "abc", string(buf[:n]))

	cancel()
	n, err = r.Read(buf)
	assert.Zero(t, n)
	assert.ErrorIs(t, err, context.Canceled)
	assert.NoError(t, r.Close())
}

func ExampleValidName() {
	for _, name := range []string{"users.csv", "archive/users.csv", "../etc/passwd", `..\users.csv`, "users.csv\r"} {
		fmt.Printf("%q: %v\n", name, source.ValidName(name))
	}
	// Output:
	// "users.csv": <nil>
	// "archive/users.csv": <nil>
	// "../etc/passwd": invalid argument: the name is not a clean, relative, slash-separated path
	// "..\\users.csv": invalid argument: the name holds a backslash
	// "users.csv\r": invalid argument: the name holds a control character
}

func TestCheckNames(t *testing.T) {
	ctx := context.Background()
	assert.NoError(t, source.CheckNames(ctx, "a.csv", "in/b.csv"))
	assert.ErrorIs(t, source.CheckNames(ctx, "a.csv", "../b.csv"), fs.ErrInvalid)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, source.CheckNames(canceled, "a.csv"), context.Canceled)
	assert.ErrorIs(t, source.CheckNames(canceled, `a\b.csv`), fs.ErrInvalid, "the name first, then ctx")
}

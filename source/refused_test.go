package source_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/usersync/usersync/source"
)

func TestRefusal(t *testing.T) {
	for name, want := range map[string]string{
		"users.csv":       "",
		"a\nb.csv":        "the name holds a line break, which servers, listings and logs mangle",
		"users.csv\r":     "the name holds a line break, which servers, listings and logs mangle",
		"users\x01.csv":   "the name holds a control character, which servers, listings and logs mangle",
		"users\x1b.csv":   "the name holds a control character, which servers, listings and logs mangle",
		`..\users.csv`:    "the name holds a backslash, which Windows and some servers read as a separator, so it could be read as a path",
		"../users.csv":    "the name holds a slash, so it could be read as a path outside the folder",
		"..":              "the name is a folder's, not a file's",
		"":                "the name is empty",
		"users\u0085.csv": "the name holds a control character, which servers, listings and logs mangle",
	} {
		assert.Equal(t, want, source.Refusal(name), "Refusal(%q)", name)
	}
}

// The refused names are logged once each, quoted once, with their own
// reason; a watching Runner's later listings log them at Debug level only.
func TestRefusalLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil)) // Info and above
	var l source.RefusalLog
	ctx := context.Background()

	l.Log(ctx, log, "ftpsource: file name refused", "in", []string{"a\rb.csv", "c\x01.csv"})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	assert.Len(t, lines, 2)
	assert.Contains(t, lines[0], `level=WARN msg="ftpsource: file name refused" folder=in name="a\rb.csv" reason="the name holds a line break`)
	assert.Contains(t, lines[1], `name="c\x01.csv" reason="the name holds a control character`)
	assert.NotContains(t, buf.String(), "outside the folder")
	assert.NotContains(t, buf.String(), `\"`, "the name is quoted once")

	buf.Reset()
	for range 3 {
		l.Log(ctx, log, "ftpsource: file name refused", "in", []string{"a\rb.csv", "c\x01.csv"})
	}
	assert.Empty(t, buf.String(), "the same names are not warned about every run")

	l.Log(ctx, log, "ftpsource: file name refused", "in", []string{"a\rb.csv", `..\d.csv`})
	assert.Equal(t, 1, strings.Count(buf.String(), "\n"), "a new name is")
	assert.Contains(t, buf.String(), `name=..\d.csv reason="the name holds a backslash`)

	buf.Reset()
	l.Log(ctx, log, "ftpsource: file name refused", "in", nil)
	l.Log(ctx, log, "ftpsource: file name refused", "in", []string{"c\x01.csv"})
	assert.Contains(t, buf.String(), `name="c\x01.csv"`, "a name that comes back is warned about again")

	debug := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	buf.Reset()
	l.Log(ctx, debug, "ftpsource: file name refused", "in", []string{"c\x01.csv"})
	assert.Contains(t, buf.String(), `level=DEBUG`, "at Debug while it keeps being refused")
}

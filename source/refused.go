package source

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"unicode"
)

// Refusal says, in words for a log or a check's report, why a Source's
// listing leaves out the file name: why [ValidName] refuses it, or that it
// holds a slash (a listing's names are single path elements). It returns ""
// for a name a listing keeps.
func Refusal(name string) string {
	switch {
	case name == "":
		return "the name is empty"
	case name == "." || name == "..":
		return "the name is a folder's, not a file's"
	case strings.ContainsAny(name, "\r\n"):
		return "the name holds a line break, which servers, listings and logs mangle"
	case strings.ContainsFunc(name, unicode.IsControl):
		return "the name holds a control character, which servers, listings and logs mangle"
	case strings.ContainsRune(name, '\\'):
		return "the name holds a backslash, which Windows and some servers read as a separator, so it could be read as a path"
	case strings.ContainsRune(name, '/'):
		return "the name holds a slash, so it could be read as a path outside the folder"
	case ValidName(name) != nil:
		return "the name is not a clean, relative path"
	}
	return ""
}

// A RefusalLog logs the file names a Source's listings refuse, one line
// per name, with its reason when [Refusal] gives one (else msg says it): at
// Warn level when a
// listing refuses a name it did not refuse the time before, at Debug level
// while later listings keep refusing it, so that a Runner listing every
// minute does not repeat the warning all night. A name that goes away and
// comes back is warned about again.
//
// The name is logged as it is, for the handler to quote: slog's text and
// JSON handlers escape line breaks and control characters.
//
// The zero value is ready to use. A RefusalLog is safe for concurrent use.
type RefusalLog struct {
	mu   sync.Mutex
	last map[string]bool // the names the last listing refused
}

// Log logs the names a listing of folder refused, with msg (such as
// "ftpsource: file name refused") as the message.
func (l *RefusalLog) Log(ctx context.Context, log *slog.Logger, msg, folder string, names []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := make(map[string]bool, len(names))
	for _, name := range names {
		level := slog.LevelWarn
		if l.last[name] {
			level = slog.LevelDebug
		}
		if reason := Refusal(name); reason != "" {
			log.Log(ctx, level, msg, "folder", folder, "name", name, "reason", reason)
		} else {
			log.Log(ctx, level, msg, "folder", folder, "name", name)
		}
		now[name] = true
	}
	l.last = now
}

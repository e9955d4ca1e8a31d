package report

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
)

// RedactSecrets returns a [slog.Handler] that passes records on to h with
// every one of secrets, and the password of every URL, replaced by
// [Redacted]: in the message and in every attribute, those of loggers made
// With it and those in groups included. Values that are not text, such as
// a config struct, are logged as redacted text when they hold a secret, and
// unchanged otherwise.
//
// A secret is replaced where it stands as a whole token, never inside a
// longer word: a password "x" leaves "does not exist" as it is. A secret
// that is itself an ordinary word would still take that word out of every
// message, and so show what it is: refuse short secrets (the usersync
// command wants 8 characters or more).
//
// Wrap the handler of the logger given to [Slog], and of any logger the
// host's sync code writes to, with the host's passwords, passphrases and
// keys: the log-scrape tests of this module check that none gets through.
func RedactSecrets(h slog.Handler, secrets ...string) slog.Handler {
	return &redactHandler{h: h, rd: newRedactor(secrets)}
}

type redactHandler struct {
	h  slog.Handler
	rd redactor
}

// Enabled reports whether h handles records at level.
func (r *redactHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return r.h.Enabled(ctx, level)
}

// Handle passes on a redacted copy of rec.
func (r *redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, r.rd.redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(r.attr(a))
		return true
	})
	return r.h.Handle(ctx, out)
}

// WithAttrs redacts attrs before h keeps them.
func (r *redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = r.attr(a)
	}
	return &redactHandler{h: r.h.WithAttrs(out), rd: r.rd}
}

// WithGroup opens a group on h.
func (r *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{h: r.h.WithGroup(name), rd: r.rd}
}

func (r *redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, r.rd.redact(v.String()))
	case slog.KindGroup:
		group := v.Group()
		out := make([]slog.Attr, len(group))
		for i, g := range group {
			out[i] = r.attr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		return r.anyAttr(a.Key, v.Any())
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// anyAttr logs x as redacted text when any of the ways a handler might
// print it (fmt, JSON) shows a secret.
func (r *redactHandler) anyAttr(key string, x any) slog.Attr {
	if err, ok := x.(error); ok {
		return slog.String(key, r.rd.redact(err.Error()))
	}
	text := fmt.Sprintf("%+v", x)
	leaks := r.rd.redact(text) != text
	if j, err := json.Marshal(x); err == nil && !leaks {
		leaks = r.rd.redact(string(j)) != string(j)
	}
	if leaks {
		return slog.String(key, r.rd.redact(text))
	}
	return slog.Any(key, x)
}

package config

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// A Path is a file name from the config file, made absolute: a relative
// name starts in the config file's folder, and ~ is the home folder.
type Path string

// A Secret is a password, passphrase or DSN, read from an environment
// variable or a file that the config file names. It prints as a mention
// of where it came from, never as its value.
type Secret struct {
	value   string
	from    string // "environment variable X", "file Y", "the config file"
	literal bool   // written in the config file itself
}

// Value returns the secret.
func (s Secret) Value() string { return s.value }

// IsSet reports whether the config gave the secret.
func (s Secret) IsSet() bool { return s.value != "" }

// String says where the secret came from, without its value.
func (s Secret) String() string {
	if !s.IsSet() {
		return "(not set)"
	}
	return "(secret from " + s.from + ")"
}

// GoString is String, so that %#v shows no secret either.
func (s Secret) GoString() string { return s.String() }

// A Duration is a length of time: "30s", "5m", "1h30m", or with days,
// "7d" or "1d12h".
type Duration time.Duration

// UnmarshalText parses a duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// parseDuration is time.ParseDuration with a leading number of days, and
// without negative values, which no setting here wants.
func parseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("want a duration such as 30s, 5m, 2h or 7d, got %q", s)
	if s == "" {
		return 0, bad
	}
	if s == "0" {
		return 0, nil
	}
	var days float64
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
			return 0, bad
		}
		days, s = n, s[i+1:]
	}
	var rest time.Duration
	if s != "" {
		var err error
		if rest, err = time.ParseDuration(s); err != nil {
			return 0, bad
		}
	}
	total := days*24*float64(time.Hour) + float64(rest)
	if rest < 0 || total > math.MaxInt64 {
		return 0, bad
	}
	return time.Duration(total), nil
}

// A Size is a number of bytes: "512", "100MB", "4GiB".
type Size int64

// UnmarshalText parses a size.
func (z *Size) UnmarshalText(b []byte) error {
	n, err := humanize.ParseBytes(strings.TrimSpace(string(b)))
	if err != nil || n > math.MaxInt64 {
		return fmt.Errorf("want a size such as 512KiB, 100MB or 4GiB, got %q", b)
	}
	*z = Size(n)
	return nil
}

// A Location is a time zone by its IANA name, such as America/Chicago.
type Location struct{ *time.Location }

// UnmarshalText loads the time zone.
func (l *Location) UnmarshalText(b []byte) error {
	name := strings.TrimSpace(string(b))
	if name == "" {
		return errors.New("empty time zone name")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return fmt.Errorf("unknown time zone %q: want an IANA name such as Europe/Stockholm or America/Chicago", name)
	}
	l.Location = loc
	return nil
}

// A Limit is a count that may be turned off: a whole number, or "off".
// Off is -1, which is what the library's limits take to mean no limit.
type Limit int

// UnmarshalText parses a limit.
func (l *Limit) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if isOff(s) {
		*l = -1
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("want a whole number or off, got %q", s)
	}
	*l = Limit(n)
	return nil
}

// A Percent is a share that may be turned off: "10%", 10, or "off" (-1).
type Percent float64

// UnmarshalText parses a percentage.
func (p *Percent) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if isOff(s) {
		*p = -1
		return nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
	if err != nil || f < 0 || f > 100 {
		return fmt.Errorf("want a percentage such as 10%% or off, got %q", s)
	}
	*p = Percent(f)
	return nil
}

func isOff(s string) bool {
	switch strings.ToLower(s) {
	case "off", "none", "unlimited", "false", "no":
		return true
	}
	return false
}

// parseEnum finds s, ignoring case and taking - for _, among names.
func parseEnum[T any](s string, names map[string]T) (T, error) {
	key := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "-", "_")
	if v, ok := names[key]; ok {
		return v, nil
	}
	var zero T
	return zero, fmt.Errorf("want one of %s, got %q", enumNames(names), s)
}

func enumNames[T any](names map[string]T) string {
	list := make([]string, 0, len(names))
	for k := range names {
		list = append(list, k)
	}
	sort.Strings(list)
	return strings.Join(list, ", ")
}

// An Error is a problem with one key of a config file.
type Error struct {
	File string
	Line int    // 0 if the problem is with the whole file
	Key  string // the key path, such as "source.sftp.port"; "" for the whole file
	Err  error
}

// Error formats the problem as file:line: key: reason.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		b.WriteString(": " + e.Key)
	}
	b.WriteString(": " + e.Err.Error())
	return b.String()
}

// Unwrap returns the reason.
func (e *Error) Unwrap() error { return e.Err }

// Errors are all the problems found in a config file, in file order.
type Errors []*Error

// Error lists the problems, one a line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, for errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

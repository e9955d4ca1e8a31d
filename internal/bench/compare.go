package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// A Contender is one side of a side-by-side comparison: a client, or a
// server, moving the same bytes as the others.
type Contender struct {
	Name string
	// Round runs round r (from 0) and returns the time it measured, and a
	// note to print after the round's figures ("" for none). It leaves out
	// of the time what is not measured, such as checking what arrived.
	Round func(ctx context.Context, r int) (d time.Duration, note string, err error)
}

// Download is a Contender whose round is one call of get, timed whole,
// that must return size bytes.
func Download(name string, size int64, get func(context.Context) (int64, error)) Contender {
	return Contender{Name: name, Round: func(ctx context.Context, _ int) (time.Duration, string, error) {
		start := time.Now()
		n, err := get(ctx)
		d := time.Since(start)
		if err == nil && n != size {
			err = fmt.Errorf("got %d bytes, want %d", n, size)
		}
		return d, "", err
	}}
}

// A Comparison runs its contenders side by side on one machine, in the
// same run, so that their ratio holds whatever the machine's speed.
type Comparison struct {
	Size       int64 // bytes each round moves, for the MB/s column
	Rounds     int
	Width      int // of the name column
	Contenders []Contender
}

// Run runs Rounds rounds, each contender in turn within a round, so that a
// slow spell of the machine falls on all of them alike. It prints a line a
// round and contender, then the median of each, to w, and returns the
// medians in the order of Contenders.
func (c *Comparison) Run(ctx context.Context, w io.Writer) ([]time.Duration, error) {
	times := make([][]time.Duration, len(c.Contenders))
	for r := range c.Rounds {
		for i, ct := range c.Contenders {
			d, note, err := ct.Round(ctx, r)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ct.Name, err)
			}
			times[i] = append(times[i], d)
			fmt.Fprintf(w, "round %d  %-*s %8.3fs  %6.1f MB/s%s\n", r+1, c.Width, ct.Name, d.Seconds(), MBps(c.Size, d), note)
		}
	}
	fmt.Fprintln(w)
	medians := make([]time.Duration, len(times))
	for i, ct := range c.Contenders {
		medians[i] = Median(times[i])
		fmt.Fprintf(w, "median   %-*s %8.3fs  %6.1f MB/s\n", c.Width, ct.Name, medians[i].Seconds(), MBps(c.Size, medians[i]))
	}
	return medians, nil
}

// Ratio returns a/b, the figure a comparison is judged by.
func Ratio(a, b time.Duration) float64 { return a.Seconds() / b.Seconds() }

// MBps returns the throughput of size bytes in d, in megabytes a second.
func MBps(size int64, d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }

// Median returns the median of ds, the upper one of an even count.
func Median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// WriteRandom writes size random bytes to a new file at p, which no
// compression on the way can shrink, and returns their SHA-256 in hex.
func WriteRandom(p string, size int64) (sum string, err error) {
	f, err := os.Create(p)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, size); err != nil {
		f.Close()
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), f.Close()
}

// A Var is an environment variable a bench command needs, and where to
// keep its value.
type Var struct {
	Name string
	Dst  *string
}

// Env sets each Var's Dst to the variable prefix+Name. It fails on the
// first one unset, saying to start service first, as in
// "sshd with .ci/services/sshd.sh".
func Env(prefix, service string, vars ...Var) error {
	for _, v := range vars {
		if *v.Dst = os.Getenv(prefix + v.Name); *v.Dst == "" {
			return fmt.Errorf("%s%s is unset: start %s first", prefix, v.Name, service)
		}
	}
	return nil
}

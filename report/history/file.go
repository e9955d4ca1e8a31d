package history

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/usersync/usersync/report"
)

// File is a Store in a JSON-lines file: each entry is one line of JSON,
// appended at the end, so that the file reads with any tool (jq, grep,
// tail -f) and is never rewritten.
//
// Appends are safe from many goroutines and processes at once: each entry
// reaches the file in a single write to a file opened in append mode, which
// a local file system never interleaves with another, and is synced to disk
// before Append returns. A crash in the middle of a write leaves a torn last
// line: the next Append ends it first, so that the new entry starts on a
// line of its own, and Query skips every line that is not a whole entry.
// (An Append that looks at the end of the file while another process's
// write is under way may take it for torn, and leave an empty line: no
// entry suffers, and Query skips it.)
type File struct {
	path string
	mu   sync.Mutex // appends of this process, one at a time
}

var _ Store = (*File)(nil)

// NewFile returns a Store in the file at path, which is created, readable
// by its owner only, on the first Append: summaries name a customer's
// files and users.
func NewFile(path string) *File { return &File{path: path} }

// Append writes the entry of s as the file's last line.
func (f *File) Append(ctx context.Context, s *report.Summary) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	e := newEntry(s)
	line, err := json.Marshal(e)
	if err != nil {
		return Entry{}, err
	}
	line = append(line, '\n')
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.append(line); err != nil {
		return Entry{}, fmt.Errorf("history: %w", err)
	}
	return e, nil
}

func (f *File) append(line []byte) (err error) {
	fd, err := os.OpenFile(f.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := fd.Close(); err == nil {
			err = cerr
		}
	}()
	torn, err := tornTail(fd)
	if err != nil {
		return err
	}
	if torn {
		line = append([]byte{'\n'}, line...)
	}
	if _, err := fd.Write(line); err != nil {
		return err
	}
	return fd.Sync()
}

// tornTail reports whether the file ends in the middle of a line.
func tornTail(fd *os.File) (bool, error) {
	fi, err := fd.Stat()
	if err != nil || fi.Size() == 0 {
		return false, err
	}
	var last [1]byte
	if _, err := fd.ReadAt(last[:], fi.Size()-1); err != nil {
		return false, err
	}
	return last[0] != '\n', nil
}

// Query reads the file and returns the entries q selects, newest first. A
// missing file is an empty history. Lines that are not whole entries (torn
// by a crash) are skipped.
func (f *File) Query(ctx context.Context, q Query) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fd, err := os.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer fd.Close()
	matches, err := scan(ctx, fd, q)
	if err != nil {
		return nil, fmt.Errorf("history: %s: %w", f.path, err)
	}
	// Decode in full only the entries returned.
	slices.SortFunc(matches, func(a, b match) int { return newest(a.entry(), b.entry()) })
	matches = limit(matches, q.Limit)
	out := make([]Entry, 0, len(matches))
	for _, m := range matches {
		e, err := decode(m.line)
		if err != nil {
			return nil, fmt.Errorf("history: %s: %w", f.path, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// A match is a line that q selects, with what it is sorted by.
type match struct {
	line    []byte
	id      string
	started time.Time
}

func (m match) entry() Entry {
	return Entry{ID: m.id, Summary: &report.Summary{Started: m.started}}
}

// head is the part of an entry that Query looks at to select it; decoding
// only that keeps a scan of a long history cheap.
type head struct {
	ID      string `json:"id"`
	Summary *struct {
		Name    string    `json:"name"`
		Status  string    `json:"status"`
		Started time.Time `json:"started"`
	} `json:"summary"`
}

// scan returns the lines of r that q selects.
func scan(ctx context.Context, r io.Reader, q Query) ([]match, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var out []match
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		line, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, err
		}
		if l := bytes.TrimSpace(line); len(l) > 0 {
			var h head
			// A line that does not decode was torn by a crash: skip it.
			if json.Unmarshal(l, &h) == nil && h.ID != "" && h.Summary != nil &&
				q.matches(h.Summary.Name, h.Summary.Status, h.Summary.Started) {
				out = append(out, match{line: l, id: h.ID, started: h.Summary.Started})
			}
		}
		if err == io.EOF {
			return out, nil
		}
	}
}

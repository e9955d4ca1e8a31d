package unpack_test

import (
	"bytes"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/decrypt/unpack"
)

// FuzzZip feeds the zip reader arbitrary bytes: it must never panic, and a
// zip it reads to the end without an error must hold only plain, distinct
// names and files within the limits, each exactly its announced size.
// Failures are integrity, limit, name or format errors.
func FuzzZip(f *testing.F) {
	f.Add(zipOf(f, member{"users.csv", []byte(csv)}, member{"dir/", nil}, member{"dir/groups.csv", []byte("id\ng1\n")}))
	f.Add(zipOf(f, member{"../evil.csv", []byte(csv)}))
	f.Add(zipOf(f, member{"a.csv", []byte(csv)}, member{"A.CSV", []byte(csv)}))
	f.Add(zipOf(f, member{"zeros.csv", make([]byte, 64<<10)}))
	z := zipOf(f, member{"users.csv", []byte(strings.Repeat(csv, 50))})
	f.Add(z[:len(z)-7])
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Add([]byte("PK\x03\x04"))
	const maxSize = 1 << 20
	u := unpack.New(&unpack.Options{MaxFiles: 50, MaxSize: maxSize, MaxRatio: 100})
	f.Fuzz(func(t *testing.T, data []byte) {
		if unpack.Format(data) != "zip" {
			data = append([]byte("PK\x03\x04"), data...)
		}
		// A bytes.Reader is read in place: no copy in TempDir.
		p, _ := usersync.NewPacked(bytes.NewReader(data), usersync.FileInfo{Name: "fuzz.zip", Size: int64(len(data))}, nil, "")
		o, err := readAll(u, p)
		if err != nil {
			var le *unpack.LimitError
			var ne *unpack.NameError
			if !errors.Is(err, usersync.ErrIntegrity) && !errors.As(err, &le) && !errors.As(err, &ne) &&
				!strings.Contains(err.Error(), "zip password") {
				t.Fatalf("unexpected kind of error: %v", err)
			}
			return
		}
		total := 0
		seen := map[string]bool{}
		for _, name := range o.files {
			if !fs.ValidPath(name) || strings.ContainsAny(name, "\\\x00") || seen[strings.ToLower(name)] {
				t.Fatalf("accepted the name %q", name)
			}
			seen[strings.ToLower(name)] = true
			total += len(o.data[name])
		}
		if total > maxSize || len(o.files) > 50 {
			t.Fatalf("accepted %d files, %d bytes", len(o.files), total)
		}
		if o.format == "" && !bytes.Equal(o.data[""], data) {
			t.Fatal("a content passed through changed")
		}
	})
}

// Package unpacktest checks that a [usersync.Unpacker] keeps the contract
// the Pipeline relies on: it passes through what it does not open, byte
// for byte; it gives back exactly what was packed; it never lets a cut or
// changed container through as a clean one; and it refuses an archive
// holding a name that is not a plain relative one.
//
// An Unpacker's tests run [RunConformanceTests] once per format, with a
// function that packs files in it:
//
//	func TestConformance(t *testing.T) {
//		unpacktest.RunConformanceTests(t, u, packZip, &unpacktest.Options{Archive: true})
//	}
//
// Each container is read back whole, then cut short at lengths spread over
// it, and changed one byte at a time at offsets spread over it and crowded
// at its end, where formats keep their checksums. A changed container must
// be refused by Unpack or Next, or make a Read fail with an error wrapping
// [usersync.ErrIntegrity] before io.EOF, and keep failing; or, if it is no
// longer recognized, be passed through as it is (the Mapper then refuses
// it); or read back exactly as packed (the change touched nothing read),
// perhaps under another name, since zip checks no checksum over names.
package unpacktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/iotest"

	"github.com/usersync/usersync"
)

// A File is a file to pack: its name in an archive, and its content.
type File struct {
	Name string
	Data []byte
}

// A Packer packs files in the format of the Unpacker under test. A format
// that holds one file (gzip) is given one, and ignores its name.
type Packer func(files []File) ([]byte, error)

// Options tunes the suite. A nil *Options gives the defaults.
type Options struct {
	// Archive says the format holds several named files, as zip does;
	// else it holds one, as gzip does.
	Archive bool
	// TempDir is where a Packed copies content for random access; "" means
	// a t.TempDir().
	TempDir string
}

// RunConformanceTests runs the suite on u for the format pack makes.
func RunConformanceTests(t *testing.T, u usersync.Unpacker, pack Packer, opts *Options) {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	large := make([]byte, 256<<10+17)
	rand.NewChaCha8([32]byte{'u', 'n', 'p', 'a', 'c', 'k'}).Read(large)
	csv := []byte("id,name,email\r\n1001,Åsa Öberg,asa@example.com\r\n1002,\"Jörg \"\"JJ\"\" Müller\",jorg@example.com\r\n")
	sets := map[string][]File{
		"csv":   {{Name: "users.csv", Data: csv}},
		"large": {{Name: "users.csv", Data: large}},
		"empty": {{Name: "users.csv", Data: []byte{}}},
	}
	if o.Archive {
		sets["several"] = []File{{Name: "users.csv", Data: csv}, {Name: "export/groups.csv", Data: []byte("id\ng1\n")}, {Name: "big.bin", Data: large}}
	}
	t.Run("PassThrough", func(t *testing.T) {
		for _, plain := range [][]byte{nil, csv, []byte("P"), []byte("PK"), bytes.Repeat([]byte("a,b\n"), 50000)} {
			p := packed(t, o, plain)
			up, err := u.Unpack(context.Background(), p)
			if err != nil || up != nil {
				t.Fatalf("Unpack of %.20q: %v, %v; want nil, nil: it is no container", plain, up, err)
			}
			if err := iotest.TestReader(p, plain); err != nil {
				t.Fatalf("the content passed through differs: %v", err)
			}
		}
	})
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range sets {
			if !yield(k) {
				return
			}
		}
	}) {
		files := sets[name]
		if !o.Archive {
			files = files[:1]
		}
		t.Run(name, func(t *testing.T) {
			data, err := pack(files)
			if err != nil {
				t.Fatalf("pack: %v", err)
			}
			t.Run("RoundTrip", func(t *testing.T) {
				got := unpackAll(u, packed(t, o, data))
				switch {
				case got.broken != "":
					t.Fatal(got.broken)
				case got.err != nil:
					t.Fatal(got.err)
				case got.files == nil:
					t.Fatal("Unpack returned nil: the container was not recognized")
				case !equal(got.files, files, o.Archive):
					t.Fatalf("read back %s, want %s", describe(got.files), describe(files))
				}
			})
			t.Run("Truncated", func(t *testing.T) {
				for _, n := range cutLengths(len(data)) {
					checkDamaged(t, u, o, data[:n], files, fmt.Sprintf("cut to %d of %d bytes", n, len(data)))
				}
			})
			t.Run("FlippedByte", func(t *testing.T) {
				for _, off := range flipOffsets(len(data)) {
					changed := bytes.Clone(data)
					changed[off] ^= 0x01
					checkDamaged(t, u, o, changed, files, fmt.Sprintf("byte %d of %d flipped", off, len(data)))
				}
			})
		})
	}
	if o.Archive {
		t.Run("HostileNames", func(t *testing.T) {
			for _, name := range []string{"../../etc/passwd", "/etc/passwd", "a/../../b.csv", "users\x00.csv", `..\evil.csv`} {
				data, err := pack([]File{{Name: "users.csv", Data: csv}, {Name: name, Data: csv}})
				if err != nil {
					t.Fatalf("pack %q: %v", name, err)
				}
				if got := unpackAll(u, packed(t, o, data)); !errors.Is(got.err, usersync.ErrMemberName) || got.readErr {
					t.Errorf("an archive holding %q: %v, not refused by Unpack or Next with an error wrapping usersync.ErrMemberName", name, got.err)
				}
			}
		})
	}
}

func packed(t *testing.T, o Options, data []byte) *usersync.Packed {
	dir := o.TempDir
	if dir == "" {
		dir = t.TempDir()
	}
	// A stream without random access, as a remote file is: a zip is copied.
	p, cleanup := usersync.NewPacked(io.MultiReader(bytes.NewReader(data)), usersync.FileInfo{Name: "packed", Size: int64(len(data))}, nil, dir)
	t.Cleanup(cleanup)
	return p
}

// unpacked is what unpackAll found.
type unpacked struct {
	files   []File // nil when the content is no container
	err     error  // the first error met
	readErr bool   // err came from a Read, not from Unpack or Next
	broken  string // how the Unpacker broke the contract, if it did
}

// unpackAll reads every file u finds in p.
func unpackAll(u usersync.Unpacker, p *usersync.Packed) unpacked {
	up, err := u.Unpack(context.Background(), p)
	if err != nil || up == nil {
		return unpacked{err: err}
	}
	if (up.Stream == nil) == (up.Archive == nil) {
		return unpacked{broken: fmt.Sprintf("Unpacked has Stream %v and Archive %v; want exactly one", up.Stream != nil, up.Archive != nil)}
	}
	var res unpacked
	read := func(name string, size int64, r io.Reader) bool {
		b, err := io.ReadAll(r)
		res.files = append(res.files, File{Name: name, Data: b})
		if err != nil {
			res.err, res.readErr = err, true
			if _, again := r.Read(make([]byte, 512)); again == nil || again == io.EOF {
				res.broken = fmt.Sprintf("after failing with %v, the next Read returned %v; a failed reader must keep failing", err, again)
			}
			return false
		}
		if size >= 0 && int64(len(b)) != size {
			res.broken = fmt.Sprintf("%s: read %d bytes cleanly, Next announced %d", name, len(b), size)
			return false
		}
		return true
	}
	if up.Stream != nil {
		read("", -1, up.Stream)
		return res
	}
	for {
		f, r, err := up.Archive.Next()
		if err == io.EOF {
			if res.files == nil {
				res.files = []File{}
			}
			return res
		}
		if err != nil {
			res.err = err
			return res
		}
		if !read(f.Name, f.Size, r) {
			return res
		}
	}
}

// checkDamaged fails t unless a changed container is caught as the
// package documentation says.
func checkDamaged(t *testing.T, u usersync.Unpacker, o Options, changed []byte, files []File, what string) {
	t.Helper()
	got := unpackAll(u, packed(t, o, changed))
	switch {
	case got.broken != "":
		t.Errorf("%s: %s", what, got.broken)
	case got.err != nil && got.readErr && !errors.Is(got.err, usersync.ErrIntegrity):
		t.Errorf("%s: a Read failed with %v, which does not wrap usersync.ErrIntegrity", what, got.err)
	case got.err != nil:
		// Refused by Unpack or Next, or caught by a Read: safe.
	case got.files == nil:
		// No longer recognized: passed through, and the Mapper refuses it.
	case !equal(got.files, files, false):
		t.Errorf("%s: read cleanly as %s, want it refused", what, describe(got.files))
	case !equal(got.files, files, o.Archive):
		// zip keeps no checksum over names: a name can change unseen,
		// which is what signing the whole file with PGP is for.
		t.Logf("%s: read cleanly, renamed to %s", what, describe(got.files))
	}
}

func equal(got, want []File, archive bool) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if (archive && got[i].Name != want[i].Name) || !bytes.Equal(got[i].Data, want[i].Data) {
			return false
		}
	}
	return true
}

func describe(files []File) string {
	var b bytes.Buffer
	for i, f := range files {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q (%d bytes)", f.Name, len(f.Data))
	}
	return "[" + b.String() + "]"
}

// flipOffsets spreads offsets over a file of n bytes, and crowds them at
// its start and end, where formats keep headers, checksums and directories.
func flipOffsets(n int) []int {
	offs := []int{0, 1, 2, 3, 5, 10, 20}
	for i := 1; i < 16; i++ {
		offs = append(offs, n*i/16)
	}
	for _, back := range []int{64, 40, 30, 22, 20, 16, 12, 8, 5, 4, 2, 1} {
		offs = append(offs, n-back)
	}
	return clean(offs, n)
}

// cutLengths spreads the lengths a file of n bytes is cut to.
func cutLengths(n int) []int {
	lens := []int{0, 1, 2, 3, 4, 10}
	for i := 1; i < 8; i++ {
		lens = append(lens, n*i/8)
	}
	for _, back := range []int{64, 40, 23, 22, 21, 20, 16, 8, 4, 2, 1} {
		lens = append(lens, n-back)
	}
	return clean(lens, n)
}

func clean(offs []int, n int) []int {
	offs = slices.DeleteFunc(offs, func(o int) bool { return o < 0 || o >= n })
	slices.Sort(offs)
	return slices.Compact(offs)
}

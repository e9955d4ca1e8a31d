package usersync

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
)

// An Unpacker opens the containers customers put their files in: a
// compressed file (users.csv.gz) or an archive of several files
// (bundle.zip). It is an optional stage of the [Pipeline], beside the
// [Decryptor]; the stock one, for gzip and zip, is in package
// decrypt/unpack.
//
// The Pipeline gives the Unpacker every file's content, and again the
// content of every file a container held, and the plaintext of every file
// it decrypted, so that the layers compose in whatever order the customer
// chose: users.csv.gz.pgp is decrypted, then decompressed; users.csv.pgp.gz
// is decompressed, then decrypted; users.zip.pgp is decrypted, then each
// file it holds is read; and a bundle.zip holding users.csv.pgp has that
// file decrypted. Along one chain the Decryptor is used once: at the first
// layer that is not a container.
//
// As for a Decryptor, integrity comes first: a container that ends early
// or fails its checksum must make a Read fail with an error wrapping
// [ErrIntegrity], no later than the Read that would otherwise return
// io.EOF, or Archive.Next fail so.
type Unpacker interface {
	// Unpack looks at in, the content of a file, and returns what it
	// holds, or nil and no error when in is not a container it opens; the
	// Pipeline then reads in on, from its first byte. An error fails the
	// file: a container it refuses (too large, too deep, hostile names)
	// or cannot read.
	Unpack(ctx context.Context, in *Packed) (*Unpacked, error)
}

// UnpackerFunc adapts a function to the [Unpacker] interface.
type UnpackerFunc func(ctx context.Context, in *Packed) (*Unpacked, error)

// Unpack calls f.
func (f UnpackerFunc) Unpack(ctx context.Context, in *Packed) (*Unpacked, error) { return f(ctx, in) }

// Unpacked is what an [Unpacker] found in a container. Exactly one of
// Stream and Archive is set.
type Unpacked struct {
	// Format names the container, such as "gzip" or "zip".
	Format string
	// Stream is the content of a compressed file, which holds one file:
	// the Pipeline reads it as the file itself, under the file's name.
	Stream io.Reader
	// Archive holds several files, each of which the Pipeline reads as a
	// file of the run, with a [FileResult] of its own in the container's
	// FileResult.Members.
	Archive Archive
	// Skipped names the files of an Archive that the Unpacker leaves out
	// on purpose, as the archive names them, such as what macOS adds
	// (__MACOSX/._users.csv, .DS_Store): the Pipeline lists them in the
	// container's FileResult.Skipped, so that nothing is left out unseen.
	Skipped []string
}

// An Archive iterates over the files of an archive, as archive/tar's
// Reader does.
type Archive interface {
	// Next returns the next file and a reader of its content, which is
	// valid until the next call to Next; io.EOF after the last file.
	// Name is the file's name in the archive: slash-separated and valid as
	// fs.ValidPath. The Pipeline names the file "container/name" and never
	// uses it as a local path. Size is the size the archive announces, or
	// -1; the content must hold exactly that many bytes, else its Read
	// fails with an error wrapping [ErrIntegrity].
	Next() (FileInfo, io.Reader, error)
}

// An OrderedArchive is an [Archive] that can read its files in any order,
// as a zip's directory allows. The Pipeline reads such an archive's files
// in the order a [BundleMapper] asks for, when the bundle came in one
// archive (a OneRoster zip): it lists them with Files, begins the
// BundleMapper with them, and calls Reorder before the first Next.
type OrderedArchive interface {
	Archive
	// Files lists the files Next would return, in the archive's order.
	Files() []FileInfo
	// Reorder makes Next return the files named, in that order; each
	// must be one Files listed, and a file left out is not read. It fails
	// for a name Files did not list, or one given twice.
	Reorder(names []string) error
}

// Packed is the content of one file, as the Pipeline gives it to an
// [Unpacker]: a stream that can be peeked at, to recognize a format by its
// first bytes, and random access for the formats that need it, such as
// zip.
type Packed struct {
	// FileInfo is the file: the file the Source delivered, or one a
	// container held (named "bundle.zip/users.csv").
	FileInfo
	// Containers are the formats of the containers this content was found
	// in, outermost first: none for a file the Source delivered, ["zip"]
	// for a file of a zip. An Unpacker limits nesting with it.
	Containers []string

	br *bufio.Reader
	// readerAt gives random access to the whole content; set by the
	// Pipeline.
	readerAt func(max int64) (io.ReaderAt, int64, error)
}

// NewPacked returns content r of file f as an Unpacker is given it, found
// in the containers named (outermost first): for an Unpacker's tests, and
// for a host that unpacks outside a Pipeline. Its ReaderAt reads r in
// place when r is an io.ReaderAt and io.Seeker (a *bytes.Reader, an
// *os.File), and otherwise copies it to a file in tempDir ("" means
// os.TempDir()) that is removed when the returned cleanup is called.
func NewPacked(r io.Reader, f FileInfo, containers []string, tempDir string) (p *Packed, cleanup func()) {
	p = &Packed{FileInfo: f, Containers: containers, br: bufio.NewReaderSize(r, packedBuffer)}
	var spooled *os.File
	p.readerAt = func(max int64) (io.ReaderAt, int64, error) {
		if ra, ok := r.(interface {
			io.ReaderAt
			io.Seeker
		}); ok {
			size, err := ra.Seek(0, io.SeekEnd)
			if err != nil {
				return nil, 0, err
			}
			if size > max {
				return nil, 0, fmt.Errorf("%w: %d bytes, over the %d an archive may hold here", ErrTooLarge, size, max)
			}
			return ra, size, nil
		}
		sf, n, err := spoolContent(p, tempDir, max)
		spooled = sf
		return sf, n, err
	}
	return p, func() {
		if spooled != nil {
			spooled.Close()
			os.Remove(spooled.Name())
		}
	}
}

// packedBuffer is the read-ahead of a Packed: enough to recognize any
// format.
const packedBuffer = 64 << 10

// Peek returns the next n bytes without consuming them, or fewer with
// io.EOF when the content is shorter, as bufio.Reader's Peek does.
func (p *Packed) Peek(n int) ([]byte, error) { return p.br.Peek(n) }

// Read reads the content.
func (p *Packed) Read(b []byte) (int, error) { return p.br.Read(b) }

// ReaderAt returns random access to the whole content, from its first
// byte, and its size. A local file is read where it is; any other content
// (a file of a remote Source, a decrypted or decompressed one) is first
// copied to the Pipeline's TempDir, and removed once the file is read. A
// content longer than max bytes is not copied: ReaderAt fails with an
// error wrapping [ErrTooLarge]. Call it before reading the content, and at
// most once.
func (p *Packed) ReaderAt(max int64) (io.ReaderAt, int64, error) {
	if p.readerAt == nil {
		return nil, 0, errors.New("usersync: Packed.ReaderAt: the content offers no random access")
	}
	return p.readerAt(max)
}

// ErrTooLarge is wrapped by the errors of content over a limit, such as
// [Packed.ReaderAt]'s.
var ErrTooLarge = errors.New("too large")

// spoolContent copies r, at most max bytes, to a new file in dir, which
// the caller removes. The file returned is open, at its start.
func spoolContent(r io.Reader, dir string, max int64) (*os.File, int64, error) {
	f, err := os.CreateTemp(dir, "usersync-unpack-*")
	if err != nil {
		return nil, 0, err
	}
	n, err := io.Copy(f, io.LimitReader(r, max+1))
	if err == nil && n > max {
		err = fmt.Errorf("%w: over %d bytes, the most an archive may hold here", ErrTooLarge, max)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, 0, err
	}
	return f, n, nil
}

// seekReaderAt gives random access to a seekable local file that only
// offers Seek and Read (a Source's reader that wraps the file).
type seekReaderAt struct {
	mu sync.Mutex
	rs io.ReadSeeker
}

func (s *seekReaderAt) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.rs.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	n, err := io.ReadFull(s.rs, p)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF // io.ReaderAt's word for a read that ends at the end
	}
	return n, err
}

// BeginArchiveBundle begins m with the files of archive a, delivered as
// name, when m is a BundleMapper (a OneRoster bundle sent as a zip): the
// files are named as a run names them ("bundle.zip/manifest.csv"), and the
// archive is told to yield them in the order Begin gives. It returns the
// Mapper that reads the archive's files: m itself when m is no
// BundleMapper. The Pipeline calls it; so may a tool that reads a
// delivery as a run does, such as a check.
func BeginArchiveBundle(m Mapper, a Archive, name string) (Mapper, error) {
	bm, ok := m.(BundleMapper)
	if !ok {
		return m, nil
	}
	oa, ok := a.(OrderedArchive)
	if !ok {
		return nil, fmt.Errorf("usersync: the %s's files are a bundle, which its Unpacker's Archive cannot read in the Mapper's order (it is not an OrderedArchive)", name)
	}
	files := oa.Files()
	prefix := name + "/"
	for i := range files {
		files[i].Name = prefix + files[i].Name
	}
	order, bundle, err := bm.Begin(files)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(order))
	for i, o := range order {
		names[i] = strings.TrimPrefix(o.Name, prefix)
	}
	if err := oa.Reorder(names); err != nil {
		return nil, err
	}
	return bundle, nil
}

// CheckMemberName refuses the name of a file of an archive that is not a
// plain relative name (fs.ValidPath, not ".") or that seen already holds,
// with an error wrapping ErrMemberName, and adds it to seen. Names are
// never used as paths; they are checked so that a report names each file
// plainly and once.
func CheckMemberName(name string, seen map[string]bool) error {
	switch {
	case !fs.ValidPath(name) || name == ".":
		return fmt.Errorf("%w: %q is not a plain relative name", ErrMemberName, name)
	case seen[name]:
		return fmt.Errorf("%w: %q is in the archive twice", ErrMemberName, name)
	}
	seen[name] = true
	return nil
}

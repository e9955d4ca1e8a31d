// Package unpack is the stock [usersync.Unpacker]: it opens the gzip files
// (users.csv.gz) and zip archives (bundle.zip) customers send, within
// limits that make a bomb fail early and cheaply.
//
// It recognizes a container by its first bytes, not by its name, since
// the name of a file that was decrypted (users.csv.gz.pgp) no longer says
// what its plaintext is; a file that is neither gzip nor zip is passed
// through untouched, for the cost of looking at four bytes. One kind of zip
// is passed through too: a document stored as one, such as an Excel
// workbook, which its name says (users.xlsx; see [Document]), for a Mapper
// that reads it whole. Set it as the
// Pipeline's Unpacker beside its Decryptor, and the layers compose in the
// order the customer chose:
//
//	p := usersync.Pipeline{
//		Source:    src,
//		Decryptor: pgp,
//		Unpacker:  unpack.New(nil),
//		// Mapper, Reconciler, Sink, ...
//	}
//
// users.csv.gz and users.csv.pgp.gz are decompressed (and the latter then
// decrypted), users.csv.gz.pgp decrypted then decompressed, users.zip.pgp
// decrypted then opened. The files of a zip are each a file of the run,
// named "bundle.zip/users.csv" in the run's result and its errors, and
// given to the Mapper under that name (csvmap.ByName matches its routes
// on "users.csv"); a file of a zip named users.csv.pgp is decrypted.
//
// # What a zip may hold
//
// Names in a zip are never used as paths: nothing is extracted to disk
// under them. An archive is refused as a whole, before any of its files is
// read, when a name is not a plain relative one (absolute, "..", a
// backslash, a NUL or other control character, not UTF-8), when two names
// are the same (ignoring case), or when a file is encrypted with a zip
// password (use PGP). Folders, and the __MACOSX/ folder and .DS_Store
// files macOS adds, are skipped; the files skipped are named in
// usersync.Unpacked.Skipped, which the Pipeline lists in the zip's
// FileResult.Skipped. A zip in a zip is refused (see
// Options.MaxDepth).
//
// # Limits
//
// A zip needs random access: a local file is read where it is; any other
// (a remote file, or a decrypted one) is copied to the Pipeline's TempDir
// first, up to Options.MaxSize bytes, and removed once read. The number
// of files, the bytes a container holds uncompressed, and the ratio of
// those bytes to the compressed ones are bounded (see [Options]). A zip
// announces each file's sizes, which archive/zip holds it to, so a zip
// over a limit is refused before anything is decompressed; a gzip
// file is stopped as soon as its output passes a limit. Memory stays
// within a few buffers of 64 KiB whatever the sizes.
//
// # Errors
//
// A container cut short, or whose checksum fails, fails the Read that
// meets it with an error wrapping [usersync.ErrIntegrity], so the run
// applies nothing. A container over a limit fails with a [*LimitError]
// (wrapping [ErrLimit]), a hostile name with a [*NameError] (wrapping
// [usersync.ErrMemberName]).
package unpack

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/usersync/usersync"
)

// Defaults of [Options].
const (
	// DefaultMaxFiles bounds the entries of a zip, folders included.
	DefaultMaxFiles = 1000
	// DefaultMaxSize bounds the bytes a container holds, uncompressed: far
	// above the largest directory export (10 million users in a CSV file
	// are about 1.3 GB), and decompressed in seconds.
	DefaultMaxSize = 4 << 30
	// DefaultMaxRatio bounds how many times larger than its compressed
	// form a content may be. CSV files compress 5 to 20 times; deflate
	// reaches about 1000 on repeated bytes, as bombs are made.
	DefaultMaxRatio = 200
	// RatioFloor is the size under which the ratio is not checked: a
	// small file of repeated bytes is no bomb.
	RatioFloor = 1 << 20
	// DefaultMaxDepth is how many containers a file may be found in: one,
	// so that a zip in a zip or a gzip of a zip is refused, and each limit
	// bounds the whole file.
	DefaultMaxDepth = 1
)

// Options tunes an [Unpacker]. A nil *Options, like a zero field, gives the
// defaults.
type Options struct {
	// MaxFiles bounds the entries of a zip, folders included.
	MaxFiles int
	// MaxSize bounds the bytes a container holds uncompressed: a gzip
	// file's content, or a zip's files together. It also bounds the size of
	// a zip, and so the copy made of one that is not a local file.
	MaxSize int64
	// MaxRatio bounds the ratio of a content's size to its compressed
	// size, once the content is over RatioFloor bytes: for a gzip file,
	// its whole content; for a zip, each file.
	MaxRatio int
	// MaxDepth bounds how many containers a file may be found in, one
	// inside the other. Raising it lets each limit apply at each level:
	// with two, a zip may hold MaxFiles gzip files of MaxSize bytes each.
	MaxDepth int
}

// An Unpacker opens gzip files and zip archives. Make one with [New]; it is
// safe for concurrent use.
type Unpacker struct {
	maxFiles int
	maxSize  int64
	maxRatio int64
	maxDepth int
}

var _ usersync.Unpacker = (*Unpacker)(nil)

// New returns an Unpacker with the limits of opts.
func New(opts *Options) *Unpacker {
	var o Options
	if opts != nil {
		o = *opts
	}
	u := &Unpacker{maxFiles: o.MaxFiles, maxSize: o.MaxSize, maxRatio: int64(o.MaxRatio), maxDepth: o.MaxDepth}
	if u.maxFiles <= 0 {
		u.maxFiles = DefaultMaxFiles
	}
	if u.maxSize <= 0 {
		u.maxSize = DefaultMaxSize
	}
	if u.maxRatio <= 0 {
		u.maxRatio = DefaultMaxRatio
	}
	if u.maxDepth <= 0 {
		u.maxDepth = DefaultMaxDepth
	}
	return u
}

// ErrLimit is wrapped by every [LimitError].
var ErrLimit = errors.New("container over a limit")

// A LimitError refuses a container over one of the Unpacker's limits.
type LimitError struct {
	Format string // "gzip", "zip"
	// Limit names the limit: "files", "size", "ratio" or "depth".
	Limit string
	// File is the file of the zip over the limit, when one is.
	File string
	// Value is what was found, at least; Max is the limit.
	Value, Max int64
}

// Error says what is over which limit, and which option raises it.
func (e *LimitError) Error() string {
	what := e.Format
	if e.File != "" {
		what += " file " + e.File
	}
	switch e.Limit {
	case "files":
		return fmt.Sprintf("%s: %s: %s holds %d entries, over the limit of %d (Options.MaxFiles)", ErrLimit, e.Limit, what, e.Value, e.Max)
	case "ratio":
		return fmt.Sprintf("%s: %s: %s expands %d times, over the limit of %d (Options.MaxRatio): a compression bomb?", ErrLimit, e.Limit, what, e.Value, e.Max)
	case "depth":
		return fmt.Sprintf("%s: %s: a %s inside %d other containers, over the limit of %d (Options.MaxDepth)", ErrLimit, e.Limit, e.Format, e.Value, e.Max)
	}
	return fmt.Sprintf("%s: %s: %s holds over %d bytes uncompressed, over the limit of %d (Options.MaxSize)", ErrLimit, e.Limit, what, e.Value, e.Max)
}

// Unwrap returns ErrLimit and usersync.ErrTooLarge.
func (e *LimitError) Unwrap() []error { return []error{ErrLimit, usersync.ErrTooLarge} }

// A NameError refuses a zip holding a file whose name is not a plain
// relative one, or is there twice. It wraps [usersync.ErrMemberName].
type NameError struct {
	Name   string // as the zip has it
	Reason string
}

// Error names the file, quoted, and says what is wrong with its name.
func (e *NameError) Error() string {
	return fmt.Sprintf("zip: %s: %q %s", usersync.ErrMemberName, e.Name, e.Reason)
}

// Unwrap returns usersync.ErrMemberName.
func (e *NameError) Unwrap() error { return usersync.ErrMemberName }

var (
	gzipMagic = []byte{0x1f, 0x8b, 8} // 8: deflate, the only method
	zipMagics = [][]byte{
		[]byte("PK\x03\x04"), // a file
		[]byte("PK\x05\x06"), // the end of an empty archive
		[]byte("PK\x07\x08"), // a split archive's marker, then a file
	}
)

// Format returns the container format that head, a content's first bytes,
// starts: "gzip", "zip", or "" for neither.
func Format(head []byte) string {
	if bytes.HasPrefix(head, gzipMagic) {
		return "gzip"
	}
	for _, m := range zipMagics {
		if bytes.HasPrefix(head, m) {
			return "zip"
		}
	}
	return ""
}

// documentSuffixes end the names of the documents that are zips: Office
// Open XML and OpenDocument files.
var documentSuffixes = []string{".xlsx", ".xlsm", ".xltx", ".xltm", ".ods", ".docx", ".docm", ".odt", ".pptx"}

// Document reports whether a file's name says it is a document that is
// stored as a zip, such as an Excel workbook (users.xlsx, users.xlsx.pgp:
// the name before any .pgp, .gpg, .asc or .gz suffix, ignoring case). Unpack
// passes such a file through untouched, for a Mapper that reads it whole
// (csvmap/xlsx): its parts (xl/workbook.xml, ...) are not files of the
// run.
func Document(name string) bool {
	base := strings.ToLower(path.Base(name))
	for {
		trimmed := base
		for _, s := range []string{".pgp", ".gpg", ".asc", ".gz"} {
			trimmed = strings.TrimSuffix(trimmed, s)
		}
		if trimmed == base {
			break
		}
		base = trimmed
	}
	for _, s := range documentSuffixes {
		if strings.HasSuffix(base, s) {
			return true
		}
	}
	return false
}

// Unpack opens in if it is a gzip file or a zip archive, and returns nil
// otherwise, or for a document stored as a zip (see [Document]).
func (u *Unpacker) Unpack(ctx context.Context, in *usersync.Packed) (*usersync.Unpacked, error) {
	head, err := in.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	format := Format(head)
	if format == "" || format == "zip" && Document(in.Name) {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if d := len(in.Containers); d >= u.maxDepth {
		return nil, &LimitError{Format: format, Limit: "depth", Value: int64(d), Max: int64(u.maxDepth)}
	}
	if format == "gzip" {
		return u.gzip(in)
	}
	return u.zip(in)
}

func (u *Unpacker) gzip(in *usersync.Packed) (*usersync.Unpacked, error) {
	src := &countingReader{r: in}
	zr, err := gzip.NewReader(src)
	if err != nil {
		return nil, integrity("gzip", err)
	}
	return &usersync.Unpacked{Format: "gzip", Stream: &boundedReader{
		r: zr, format: "gzip", compressed: func() int64 { return src.n }, max: u.maxSize, ratio: u.maxRatio,
	}}, nil
}

func (u *Unpacker) zip(in *usersync.Packed) (*usersync.Unpacked, error) {
	ra, size, err := in.ReaderAt(u.maxSize)
	if err != nil {
		if errors.Is(err, usersync.ErrTooLarge) {
			return nil, &LimitError{Format: "zip", Limit: "size", Value: u.maxSize, Max: u.maxSize}
		}
		return nil, err
	}
	if err := checkDirectory(ra, size, u.maxFiles); err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, damaged(err)
	}
	if n := len(zr.File); n > u.maxFiles {
		return nil, &LimitError{Format: "zip", Limit: "files", Value: int64(n), Max: int64(u.maxFiles)}
	}
	files, skipped, err := u.check(zr.File)
	if err != nil {
		return nil, err
	}
	return &usersync.Unpacked{Format: "zip", Archive: &archive{u: u, files: files}, Skipped: skipped}, nil
}

// check refuses an archive with a hostile name, an encrypted file or one
// over a limit, and returns the files to read and the names of those left
// out (folders aside, which hold nothing).
func (u *Unpacker) check(all []*zip.File) (files []*zip.File, skippedNames []string, err error) {
	seen := make(map[string]string, len(all))
	var total uint64
	for _, f := range all {
		if reason := badName(f.Name); reason != "" {
			return nil, nil, &NameError{Name: f.Name, Reason: reason}
		}
		folded := strings.ToLower(strings.TrimSuffix(f.Name, "/"))
		if other, ok := seen[folded]; ok {
			return nil, nil, &NameError{Name: f.Name, Reason: fmt.Sprintf("is there twice (also as %q)", other)}
		}
		seen[folded] = f.Name
		if skipped(f) {
			if !folder(f) {
				skippedNames = append(skippedNames, f.Name)
			}
			continue
		}
		if f.Flags&1 != 0 {
			return nil, nil, fmt.Errorf("zip: %s is encrypted with a zip password, which is not supported: encrypt the file with PGP instead", f.Name)
		}
		total += f.UncompressedSize64
		if total > uint64(u.maxSize) {
			return nil, nil, &LimitError{Format: "zip", Limit: "size", Value: int64(min(total, 1<<62)), Max: u.maxSize}
		}
		if f.UncompressedSize64 > RatioFloor && f.UncompressedSize64/max(f.CompressedSize64, 1) > uint64(u.maxRatio) {
			return nil, nil, &LimitError{Format: "zip", Limit: "ratio", File: f.Name,
				Value: int64(f.UncompressedSize64 / max(f.CompressedSize64, 1)), Max: u.maxRatio}
		}
		files = append(files, f)
	}
	return files, skippedNames, nil
}

// badName says what is wrong with a name in a zip, or "" if nothing.
func badName(name string) string {
	switch {
	case !utf8.ValidString(name):
		return "is not UTF-8"
	case strings.ContainsFunc(name, unicode.IsControl):
		return "holds a control character"
	case strings.Contains(name, `\`):
		return "holds a backslash"
	case strings.HasPrefix(name, "/"):
		return "is absolute"
	}
	if n := strings.TrimSuffix(name, "/"); !fs.ValidPath(n) || n == "." {
		return "is not a plain relative name (empty, '.' or '..' parts)"
	}
	return ""
}

// skipped reports whether a zip entry is left out: a folder, or what
// macOS adds.
func skipped(f *zip.File) bool {
	return folder(f) || strings.HasPrefix(f.Name, "__MACOSX/") || path.Base(f.Name) == ".DS_Store"
}

// folder reports whether a zip entry is a folder.
func folder(f *zip.File) bool { return strings.HasSuffix(f.Name, "/") || f.FileInfo().IsDir() }

// archive iterates over a zip's files, in the zip's order or one given to
// Reorder: it is a usersync.OrderedArchive.
type archive struct {
	u     *Unpacker
	files []*zip.File
	open  io.ReadCloser
}

// Files lists the files Next would return.
func (a *archive) Files() []usersync.FileInfo {
	out := make([]usersync.FileInfo, len(a.files))
	for i, f := range a.files {
		out[i] = usersync.FileInfo{Name: f.Name, Size: int64(f.UncompressedSize64), ModTime: f.Modified}
	}
	return out
}

// Reorder makes Next return the files named, in that order.
func (a *archive) Reorder(names []string) error {
	byName := make(map[string]*zip.File, len(a.files))
	for _, f := range a.files {
		byName[f.Name] = f
	}
	files := make([]*zip.File, 0, len(names))
	for _, name := range names {
		f, ok := byName[name]
		if !ok {
			return fmt.Errorf("zip: reorder: %q is not a file of the archive, or is named twice", name)
		}
		delete(byName, name)
		files = append(files, f)
	}
	a.files = files
	return nil
}

func (a *archive) Next() (usersync.FileInfo, io.Reader, error) {
	if a.open != nil {
		a.open.Close()
		a.open = nil
	}
	if len(a.files) == 0 {
		return usersync.FileInfo{}, nil, io.EOF
	}
	f := a.files[0]
	a.files = a.files[1:]
	rc, err := f.Open()
	if err != nil {
		return usersync.FileInfo{}, nil, damaged(fmt.Errorf("%s: %w", f.Name, err))
	}
	a.open = rc
	size := int64(f.UncompressedSize64)
	info := usersync.FileInfo{Name: f.Name, Size: size, ModTime: f.Modified}
	return info, &boundedReader{r: rc, format: "zip", file: f.Name,
		compressed: func() int64 { return int64(f.CompressedSize64) }, max: size, ratio: a.u.maxRatio}, nil
}

// integrity wraps the errors of a damaged or cut container in
// usersync.ErrIntegrity, and leaves others, such as a transport's, as
// they are.
func integrity(format string, err error) error {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader),
		errors.Is(err, zip.ErrChecksum), errors.Is(err, zip.ErrFormat), errors.Is(err, zip.ErrAlgorithm),
		errors.As(err, &corrupt):
		return fmt.Errorf("%s: %w: cut short or damaged: %w", format, usersync.ErrIntegrity, err)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%s: %w: cut short: %w", format, usersync.ErrIntegrity, io.ErrUnexpectedEOF)
	}
	return err
}

// damaged wraps an error reading a zip in usersync.ErrIntegrity: the zip
// is read from a local file, so that whatever fails is the zip itself.
func damaged(err error) error {
	if errors.Is(err, usersync.ErrIntegrity) {
		return err
	}
	return fmt.Errorf("zip: %w: damaged: %w", usersync.ErrIntegrity, err)
}

// countingReader counts the bytes read.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// boundedReader reads a container's content, failing for good once it
// passes its size or ratio limit, or its stream is damaged.
type boundedReader struct {
	r          io.Reader
	format     string
	file       string
	compressed func() int64
	max        int64
	ratio      int64
	n          int64
	err        error
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	switch {
	case b.n > b.max && b.file == "":
		b.err = &LimitError{Format: b.format, Limit: "size", Value: b.n, Max: b.max}
	case b.n > b.max:
		// archive/zip holds a file to its announced size; this is a second
		// line.
		b.err = fmt.Errorf("%s: %s: %w: more bytes than the %d announced", b.format, b.file, usersync.ErrIntegrity, b.max)
	case b.n > RatioFloor && b.n/max(b.compressed(), 1) > b.ratio:
		b.err = &LimitError{Format: b.format, Limit: "ratio", File: b.file, Value: b.n / max(b.compressed(), 1), Max: b.ratio}
	case err == nil || err == io.EOF:
		return n, err
	case b.file != "":
		b.err = damaged(fmt.Errorf("%s: %w", b.file, err))
	default:
		b.err = integrity(b.format, err)
	}
	return 0, b.err
}

// checkDirectory refuses a zip whose central directory holds more than
// maxFiles entries before archive/zip reads it into memory: it walks the
// entries' headers where archive/zip will, without keeping them. A
// directory it cannot find is left for archive/zip to refuse.
func checkDirectory(ra io.ReaderAt, size int64, maxFiles int) error {
	offsets := directoryOffsets(ra, size)
	for _, off := range offsets {
		n, ok := countEntries(ra, size, off, maxFiles)
		if !ok {
			continue
		}
		if n > maxFiles {
			return &LimitError{Format: "zip", Limit: "files", Value: int64(n), Max: int64(maxFiles)}
		}
		return nil
	}
	return nil
}

// directoryOffsets returns where a zip's central directory may start: as
// its end record says, and as archive/zip also tries, just before the end
// record (for an archive with bytes prepended).
func directoryOffsets(ra io.ReaderAt, size int64) []int64 {
	const endLen, maxComment = 22, 65535
	tail := make([]byte, min(size, endLen+maxComment))
	if _, err := ra.ReadAt(tail, size-int64(len(tail))); err != nil && err != io.EOF {
		return nil
	}
	i := bytes.LastIndex(tail, []byte("PK\x05\x06"))
	if i < 0 || len(tail)-i < endLen {
		return nil
	}
	end := tail[i:]
	endAt := size - int64(len(tail)) + int64(i)
	dirSize := int64(le32(end[12:]))
	dirOff := int64(le32(end[16:]))
	if dirOff == 0xffffffff && endAt >= 20 {
		// zip64: the locator before the end record points at the zip64
		// end record, which holds the offset.
		loc := make([]byte, 20)
		if _, err := ra.ReadAt(loc, endAt-20); err == nil && bytes.HasPrefix(loc, []byte("PK\x06\x07")) {
			rec := make([]byte, 56)
			at := int64(le64(loc[8:]))
			if at >= 0 && at < size {
				if _, err := ra.ReadAt(rec, at); err == nil && bytes.HasPrefix(rec, []byte("PK\x06\x06")) {
					dirSize, dirOff = int64(le64(rec[40:])), int64(le64(rec[48:]))
				}
			}
		}
	}
	offs := []int64{dirOff}
	if o := endAt - dirSize; o != dirOff && o >= 0 {
		offs = append(offs, o)
	}
	return slices.DeleteFunc(offs, func(o int64) bool { return o < 0 || o >= size })
}

// countEntries counts the central directory headers that follow each
// other from off, up to one more than maxFiles; ok is false when there is
// none there.
func countEntries(ra io.ReaderAt, size, off int64, maxFiles int) (n int, ok bool) {
	const headerLen = 46
	h := make([]byte, headerLen)
	for n <= maxFiles && off+headerLen <= size {
		if _, err := ra.ReadAt(h, off); err != nil || !bytes.HasPrefix(h, []byte("PK\x01\x02")) {
			break
		}
		n++
		off += headerLen + int64(le16(h[28:])) + int64(le16(h[30:])) + int64(le16(h[32:]))
	}
	return n, n > 0
}

func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }
func le32(b []byte) uint32 { return uint32(le16(b)) | uint32(le16(b[2:]))<<16 }
func le64(b []byte) uint64 { return uint64(le32(b)) | uint64(le32(b[4:]))<<32 }

package csvmap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// bufferSize is the read buffer under the scanner. The scanner reads lines
// out of it directly, so for UTF-8 this is the only copy of the input.
const bufferSize = 64 << 10

// sniffBytes is how much of a file's start is looked at to recognize UTF-16
// without a byte order mark.
const sniffBytes = 512

// The encodings a file is read in, as [usersync.Format] names them when
// they were detected rather than set in Options.Encoding.
const (
	encodingUTF8      = "UTF-8"
	encodingUTF8BOM   = "UTF-8 with BOM"
	encodingUTF16LE   = "UTF-16LE"
	encodingUTF16BE   = "UTF-16BE"
	encodingNoBOMNote = " without BOM"
)

// Errors of the byte stream, which the reader wraps in errors that say
// where.
var (
	errRecordTooLong = errors.New("record exceeds MaxRecordBytes")
	errFileTooLarge  = errors.New("file exceeds MaxFileBytes")
)

// lookupEncoding returns the encoding with the IANA name or alias, and its
// preferred MIME name.
func lookupEncoding(name string) (encoding.Encoding, string, error) {
	enc, err := ianaindex.IANA.Encoding(name)
	if err != nil || enc == nil {
		return nil, "", fmt.Errorf("csvmap: unknown Encoding %q: want an IANA name such as \"windows-1252\" or \"ISO-8859-1\"", name)
	}
	canonical, err := ianaindex.MIME.Name(enc)
	if err != nil {
		canonical, _ = ianaindex.IANA.Name(enc)
	}
	return enc, canonical, nil
}

// An input is a file's byte stream on its way to the scanner: counted
// against MaxFileBytes, stripped of its byte order mark, decoded to UTF-8
// when it is in another encoding, bounded per record, and buffered.
type input struct {
	bounded  *boundedReader // bounds the bytes the scanner sees
	buf      *bufio.Reader
	encoding string
	// decoded is set when a decoder runs: it turns bytes invalid in the
	// encoding into U+FFFD, which the reader then rejects.
	decoded bool
	skipped int64 // bytes the scanner does not see before its first: a UTF-8 BOM
}

// open wraps r and detects its encoding (see Options.Encoding). A read
// error is returned as is, so that a transport failure keeps its identity.
func (m *Mapper) open(r io.Reader) (*input, error) {
	in := &input{bounded: &boundedReader{r: &limitedReader{r: r, left: m.maxFile}, max: m.maxRecord}}
	in.buf = bufio.NewReaderSize(in.bounded, bufferSize)
	head, err := in.buf.Peek(int(min(sniffBytes, m.maxRecord)))
	if len(head) == 0 && err != nil && err != io.EOF {
		return nil, err // else the error comes again, sticky, where the reading gets to it
	}
	dec, bom := m.detect(in, head)
	in.buf.Discard(bom) // cannot fail: peeked
	if dec == nil {
		in.skipped = int64(bom)
		return in, nil
	}
	// The bound applies to the decoded text the scanner reads, so it moves
	// above the decoder.
	in.bounded.max = math.MaxInt64
	in.bounded = &boundedReader{r: transform.NewReader(in.buf, dec.NewDecoder()), max: m.maxRecord}
	in.buf = bufio.NewReaderSize(in.bounded, bufferSize)
	in.decoded = true
	return in, nil
}

// detect names the encoding of a file that starts with head, and returns
// the decoder to read it with (nil for UTF-8) and the length of its byte
// order mark. A byte order mark wins over Options.Encoding; without one,
// the option wins over a guess.
func (m *Mapper) detect(in *input, head []byte) (encoding.Encoding, int) {
	switch {
	case bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")):
		in.encoding = encodingUTF8BOM
		return nil, 3
	case bytes.HasPrefix(head, []byte("\xFF\xFE")):
		in.encoding = encodingUTF16LE
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), 2
	case bytes.HasPrefix(head, []byte("\xFE\xFF")):
		in.encoding = encodingUTF16BE
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), 2
	case m.encoding == unicode.UTF8:
		in.encoding = m.encName
		return nil, 0
	case m.encoding != nil:
		in.encoding = m.encName
		return m.encoding, 0
	}
	switch sniffUTF16(head) {
	case 'L':
		in.encoding = encodingUTF16LE + encodingNoBOMNote
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), 0
	case 'B':
		in.encoding = encodingUTF16BE + encodingNoBOMNote
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), 0
	}
	in.encoding = encodingUTF8
	return nil, 0
}

// sniffUTF16 recognizes UTF-16 without a byte order mark by its zero bytes,
// which text in any other encoding a directory export uses never holds: a
// header of ASCII names has a zero in every other byte. It returns 'L' for
// little endian, 'B' for big endian, or 0.
func sniffUTF16(head []byte) byte {
	n := len(head) &^ 1
	if n < 4 {
		return 0
	}
	var even, odd int // zero bytes at even and odd offsets
	for i := 0; i < n; i += 2 {
		if head[i] == 0 {
			even++
		}
		if head[i+1] == 0 {
			odd++
		}
	}
	units := n / 2
	switch {
	case 2*odd >= units && 4*even < odd:
		return 'L'
	case 2*even >= units && 4*odd < even:
		return 'B'
	}
	return 0
}

// recordDone tells the bound that a record ended at offset, in bytes read by
// the scanner.
func (in *input) recordDone(offset int64) {
	in.bounded.start = in.skipped + offset
}

// atEOF reports whether the stream has been read to its end and every byte
// handed to the scanner.
func (in *input) atEOF() bool {
	return in.bounded.eof && in.buf.Buffered() == 0
}

// A boundedReader fails a read that would make the current record longer
// than max bytes. encoding/csv has no such limit (golang/go#20169,
// golang/go#67536): it reads a record into memory whole, however long, and
// so would a scanner that reads lines.
//
// The bound is exact because the buffer above only reads when the scanner
// needs more of the record it is on: at that point every byte delivered
// since the last record ended belongs to the current one.
type boundedReader struct {
	r     io.Reader
	n     int64 // bytes delivered
	start int64 // offset where the current record starts
	max   int64
	eof   bool // r returned io.EOF
}

// Read fails while the current record is at its bound; a read ahead that
// hits it (such as a peek at the header) does no harm once the record ends.
func (b *boundedReader) Read(p []byte) (int, error) {
	room := b.start + b.max - b.n
	if room <= 0 {
		return 0, errRecordTooLong
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// A limitedReader fails once its stream goes past left bytes: unlike
// io.LimitReader, a file that is too large is an error, not a short file.
// Its errors are sticky, so that one a peek at the file's start runs into
// is not lost but met again where the reading gets to it.
type limitedReader struct {
	r    io.Reader
	left int64
	err  error
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1] // one byte more tells a file of exactly the limit from a larger one
	}
	n, err := l.r.Read(p)
	if l.left -= int64(n); l.left < 0 {
		n, err = n+int(l.left), errFileTooLarge
	}
	if err != nil && err != io.EOF {
		l.err = err
	}
	return n, err
}

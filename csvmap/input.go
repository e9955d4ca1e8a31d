package csvmap

import (
	"bufio"
	"errors"
	"io"
)

// bufferSize is the read buffer under the csv.Reader. encoding/csv uses a
// *bufio.Reader it is given as is, so this is the only copy of the input.
const bufferSize = 64 << 10

// The encodings a file is read in, as [usersync.Format] names them.
const (
	encodingUTF8    = "UTF-8"
	encodingUTF8BOM = "UTF-8 with BOM"
)

// errRecordTooLong is what boundedReader returns; the reader wraps it in an
// ErrRecordTooLong error that says where.
var errRecordTooLong = errors.New("record exceeds MaxRecordBytes")

// An input is a file's byte stream on its way to the csv.Reader: bounded per
// record, buffered, and stripped of its byte order mark.
//
// Encoding detection (UTF-16, Windows-1252) slots in at open: the decoder
// goes between the raw stream and the boundedReader, so that the bound and
// the csv.Reader's offsets count decoded bytes.
type input struct {
	bounded  *boundedReader
	buf      *bufio.Reader
	encoding string
	skipped  int64 // bytes consumed before the csv.Reader's first: the BOM
}

// open wraps r and sniffs its encoding. A read error is returned as is, so
// that a transport failure keeps its identity.
func open(r io.Reader, maxRecord int64) (*input, error) {
	in := &input{bounded: &boundedReader{r: r, max: maxRecord}}
	in.buf = bufio.NewReaderSize(in.bounded, bufferSize)
	in.encoding = encodingUTF8
	// encoding/csv keeps a BOM in the first header (golang/go#9588), where
	// it would hide the first column: a Key column, possibly.
	const bom = "\uFEFF"
	b, err := in.buf.Peek(len(bom))
	switch {
	case string(b) == bom:
		in.buf.Discard(len(bom)) // cannot fail: peeked
		in.skipped = int64(len(bom))
		in.encoding = encodingUTF8BOM
	case err != nil && err != io.EOF:
		return nil, err
	}
	return in, nil
}

// recordDone tells the bound that a record ended at offset, in bytes read by
// the csv.Reader (csv.Reader.InputOffset).
func (in *input) recordDone(offset int64) {
	in.bounded.start = in.skipped + offset
}

// atEOF reports whether the stream has been read to its end and every byte
// handed to the csv.Reader.
func (in *input) atEOF() bool {
	return in.bounded.eof && in.buf.Buffered() == 0
}

// A boundedReader fails a read that would make the current record longer
// than max bytes. encoding/csv has no such limit (golang/go#20169,
// golang/go#67536): it reads a record into memory whole, however long.
//
// The bound is exact because the buffer above only reads when the
// csv.Reader needs more of the record it is on: at that point every byte
// delivered since the last record ended belongs to the current one.
type boundedReader struct {
	r     io.Reader
	n     int64 // bytes delivered
	start int64 // offset where the current record starts
	max   int64
	eof   bool // r returned io.EOF
	err   error
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	room := b.start + b.max - b.n
	if room <= 0 {
		b.err = errRecordTooLong
		return 0, b.err
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

package csvmap

import (
	"encoding/csv"
	"errors"
)

// aheadRows is how many rows the scanner reads in one go, ahead of the
// mapping: enough that handing a batch over costs nothing per row, few
// enough that a batch holds little.
const aheadRows = 256

// A scanAhead reads the next batch of rows in a goroutine of its own while
// the reader maps the batch before it, so that splitting lines and mapping
// rows run on two cores. A nightly sync of 1M users (examples/bench) read
// its file in 1.23 s rather than 1.38 s, medians of 6 alternated runs.
//
// Only one goroutine at a time uses the scanner, the input and the stream
// below them: the reader waits for the batch being read before it takes
// it, before it fails the file, and in Close. A batch is read whole, or up
// to the error that ends the stream, so the wait is short; and a reader
// left unread holds no goroutine once its last batch is read.
type scanAhead struct {
	sc        *scanner
	in        *input
	cur, next *scanBatch
	i         int           // the next row of cur
	filled    chan struct{} // closed once next is read; nil when no read is under way
}

// A scanBatch is rows the scanner read, copied out of its reused record
// slice. The fields' strings come from the scanner's arena, which never
// changes bytes it handed out.
type scanBatch struct {
	rows  []scannedRow
	cells []string // the rows' fields, back to back
	last  bool     // the batch ends with io.EOF or an error that ends the stream
}

// A scannedRow is what the reader needs of a row beside its fields.
type scannedRow struct {
	from, to int // its fields in cells
	start    int // the line it began on
	kind     textKind
	// err is the scanner's error: a *csv.ParseError for a row at fault,
	// else io.EOF or an error that ends the stream.
	err error
	// atEOF says the stream was at its end after a row with an error, for
	// a row whose quote is still open there (see reader.parseError).
	atEOF bool
}

func newScanAhead(sc *scanner, in *input) *scanAhead {
	a := &scanAhead{sc: sc, in: in, cur: &scanBatch{}, next: &scanBatch{}}
	a.readNext()
	return a
}

// row returns the next row's fields and what else is known of it, both
// valid until the next call.
func (a *scanAhead) row() ([]string, *scannedRow) {
	if a.i == len(a.cur.rows) {
		a.wait()
		a.cur, a.next, a.i = a.next, a.cur, 0
		if !a.cur.last {
			a.readNext()
		}
	}
	r := &a.cur.rows[a.i]
	a.i++
	return a.cur.cells[r.from:r.to:r.to], r
}

// readNext reads the next batch in a goroutine.
func (a *scanAhead) readNext() {
	done := make(chan struct{})
	a.filled = done
	go func() {
		defer close(done)
		a.fill(a.next)
	}()
}

// wait waits for the batch being read, if any.
func (a *scanAhead) wait() {
	if a.filled != nil {
		<-a.filled
		a.filled = nil
	}
}

// fill reads up to aheadRows rows into b, exactly as the reader used to
// read them one by one: each row's end is told to the input's bound
// before the next row is read.
func (a *scanAhead) fill(b *scanBatch) {
	b.rows, b.cells, b.last = b.rows[:0], b.cells[:0], false
	for len(b.rows) < aheadRows && !b.last {
		fields, err := a.sc.read()
		a.in.recordDone(a.sc.offset)
		r := scannedRow{from: len(b.cells), start: a.sc.start, kind: a.sc.kind, err: err}
		b.cells = append(b.cells, fields...)
		r.to = len(b.cells)
		if err != nil {
			r.atEOF, b.last = a.in.atEOF(), !isParseError(err)
		}
		b.rows = append(b.rows, r)
	}
}

// isParseError reports whether err is the scanner's error for a row at
// fault, after which reading goes on.
func isParseError(err error) bool {
	var pe *csv.ParseError
	return errors.As(err, &pe)
}

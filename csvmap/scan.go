package csvmap

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"io"
	"strings"
)

// A scanner splits a stream into CSV records exactly as encoding/csv.Reader
// does with LazyQuotes false and FieldsPerRecord set by the first record:
// the same fields, the same blank lines skipped, the same *csv.ParseError
// values, the same partial record along with an error. FuzzScanner and
// TestScannerAgreesWithEncodingCSV hold it to that. One error differs: a
// read error that cuts a record short (the input's MaxRecordBytes bound)
// is returned rather than a parse error earlier in the record, which
// encoding/csv would return, so that the reader fails the file instead of
// reading on in the middle of a line.
//
// It differs in what a record costs. encoding/csv copies each line into a
// record buffer and then into a new string per record; the scanner copies a
// line once, into an arena shared by hundreds of records, and cuts the
// fields out of that copy with one search per field, for quoted fields too
// unless they hold quotes or line breaks. It also says whether a record is
// ASCII without NUL, so that its values skip the checks that makes
// needless.
type scanner struct {
	r     *bufio.Reader
	comma byte

	nfields int   // fields per record, set by the first; 0 before it
	line    int   // lines read
	offset  int64 // bytes read
	start   int   // line where the last record started

	fields []string // the last record, reused
	kind   textKind // of the last record
	arena  arena    // the bytes of the last records' fields
	raw    []byte   // a line longer than the read buffer
	ends   []int    // end of each field of a quoted record, from its start in the arena

	// blank, when set, is told the offset after each blank line skipped,
	// so that a bound per record does not count blank lines toward the
	// record after them.
	blank func(offset int64)
}

func newScanner(r *bufio.Reader, comma byte) *scanner {
	return &scanner{r: r, comma: comma}
}

// readLine reads the next line, newline included, with "\r\n" turned into
// "\n" and a final "\r" dropped, as encoding/csv does.
func (s *scanner) readLine() ([]byte, error) {
	line, err := s.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		s.raw = append(s.raw[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = s.r.ReadSlice('\n')
			s.raw = append(s.raw, line...)
		}
		line = s.raw
	}
	n := len(line)
	if n > 0 && err == io.EOF {
		err = nil
		if line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	s.line++
	s.offset += int64(n)
	if n := len(line); n >= 2 && line[n-2] == '\r' && line[n-1] == '\n' {
		line[n-2] = '\n'
		line = line[:n-1]
	}
	return line, err
}

func lengthNL(b []byte) int {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return 1
	}
	return 0
}

// read returns the next record, or io.EOF. The next call reuses the slice;
// the strings, from the arena, stay valid.
func (s *scanner) read() ([]string, error) {
	var line []byte
	var errRead error
	for errRead == nil {
		line, errRead = s.readLine()
		if errRead == nil && len(line) == lengthNL(line) {
			if s.blank != nil {
				s.blank(s.offset)
			}
			continue // a blank line
		}
		break
	}
	if errRead == io.EOF {
		return nil, errRead
	}
	s.start = s.line
	var err error
	if !s.split(line[:len(line)-lengthNL(line)]) {
		err = s.unquote(line, errRead)
	}
	if err == nil {
		err = errRead
	}
	if s.nfields == 0 {
		s.nfields = len(s.fields)
	} else if len(s.fields) != s.nfields && err == nil {
		err = &csv.ParseError{StartLine: s.start, Line: s.start, Column: 1, Err: csv.ErrFieldCount}
	}
	return s.fields, err
}

// split makes the fields of a record that is one line and whose quoted
// fields hold neither quotes nor line breaks: nearly all records. It copies
// the line to the arena and cuts the fields out of the copy, quoted ones
// too, since their text is what lies between their quotes. It reports false,
// having made nothing, for any other record, which unquote then reads.
func (s *scanner) split(text []byte) bool {
	at := s.arena.start(len(text))
	s.arena.b.Write(text)
	str := s.arena.since(at)
	f := s.fields[:0]
	q := strings.IndexByte(str, '"') // the next quote, or -1
	for {
		if str == "" || str[0] != '"' {
			i := strings.IndexByte(str, s.comma)
			end := i
			if i < 0 {
				end = len(str)
			}
			if q >= 0 && q < end {
				return false // a bare quote
			}
			f = append(f, str[:end])
			if i < 0 {
				break
			}
			str = str[i+1:]
			if q >= 0 {
				q -= i + 1
			}
			continue
		}
		j := strings.IndexByte(str[1:], '"') + 1 // the closing quote
		switch {
		case j == 0:
			return false // a line break inside quotes, or a quote left open
		case j+1 == len(str):
			f = append(f, str[1:j])
			s.fields, s.kind = f, asciiOr(text)
			return true
		case str[j+1] != s.comma:
			return false // "" in the field, or a stray quote
		}
		f = append(f, str[1:j])
		str = str[j+2:]
		q = strings.IndexByte(str, '"')
	}
	s.fields, s.kind = f, asciiOr(text)
	return true
}

// unquote parses a record that split cannot: one with quotes in quoted
// fields, line breaks inside quotes, or errors. It is encoding/csv's
// readRecord for LazyQuotes false, step for step, so that errors and their
// positions agree. The unquoted bytes go straight to the arena.
func (s *scanner) unquote(line []byte, errRead error) error {
	a := &s.arena
	at := a.start(len(line))
	s.ends = s.ends[:0]
	end := func() { s.ends = append(s.ends, a.b.Len()-at) }
	var err error
	posLine, col := s.line, 1
	// q is where the next quote of line is, or -1, so that a field without
	// quotes is not searched for one.
	q := bytes.IndexByte(line, '"')
parseField:
	for {
		if len(line) == 0 || line[0] != '"' {
			i := bytes.IndexByte(line, s.comma)
			field := line
			if i >= 0 {
				field = field[:i]
			} else {
				field = field[:len(field)-lengthNL(field)]
			}
			if q >= 0 && q < len(field) {
				err = &csv.ParseError{StartLine: s.start, Line: s.line, Column: col + q, Err: csv.ErrBareQuote}
				break parseField
			}
			a.b.Write(field)
			end()
			if i < 0 {
				break parseField
			}
			line = line[i+1:]
			col += i + 1
			if q >= 0 {
				q -= i + 1
			}
			continue parseField
		}
		line = line[1:]
		col++
		for {
			i := bytes.IndexByte(line, '"')
			switch {
			case i >= 0:
				a.b.Write(line[:i])
				line = line[i+1:]
				col += i + 1
				switch {
				case len(line) > 0 && line[0] == '"': // "" is a quote
					a.b.WriteByte('"')
					line = line[1:]
					col++
				case len(line) > 0 && line[0] == s.comma: // end of field
					line = line[1:]
					col++
					end()
					q = bytes.IndexByte(line, '"')
					continue parseField
				case lengthNL(line) == len(line): // end of record
					end()
					break parseField
				default:
					err = &csv.ParseError{StartLine: s.start, Line: s.line, Column: col - 1, Err: csv.ErrQuote}
					break parseField
				}
			case len(line) > 0: // a line break inside quotes
				a.b.Write(line)
				if errRead != nil {
					break parseField
				}
				col += len(line)
				line, errRead = s.readLine()
				if len(line) > 0 {
					posLine++
					col = 1
				}
				if errRead == io.EOF {
					errRead = nil
				}
			default: // the end of the stream inside quotes
				if errRead == nil {
					err = &csv.ParseError{StartLine: s.start, Line: posLine, Column: col, Err: csv.ErrQuote}
					break parseField
				}
				end()
				break parseField
			}
		}
	}
	if err == nil || errRead != nil {
		// A read error other than the stream's end (which is nil by now)
		// wins over a parse error, unlike in encoding/csv: it cut the line
		// short, so the rest of the line would be read as the next record.
		// A record over MaxRecordBytes with a stray quote before the bound
		// must fail the file, not make a row of its tail.
		err = errRead
	}
	str := a.since(at)
	s.kind = asciiOr(str)
	f, prev := s.fields[:0], 0
	for _, end := range s.ends {
		f = append(f, str[prev:end])
		prev = end
	}
	s.fields = f
	return err
}

// asciiOr says whether text is asciiText; for anything else, a search for
// the other kinds would cost a row more than its values' checks.
func asciiOr[S string | []byte](text S) textKind {
	if isPlainASCII(text) {
		return asciiText
	}
	return otherText
}

// isPlainASCII reports whether every byte of v is ASCII but NUL.
func isPlainASCII[S string | []byte](v S) bool {
	// Eight bytes at a time: w-0x01… sets a byte's top bit when the byte is
	// NUL, and w sets it when the byte is not ASCII. A byte above a NUL may
	// be flagged too, which only sends the value to the full check.
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	if len(v) < 8 {
		for i := 0; i < len(v); i++ {
			if v[i]-1 >= 0x7f { // wraps around for NUL
				return false
			}
		}
		return true
	}
	// The last word overlaps the one before it rather than leave a tail.
	for i := 0; ; i += 8 {
		i = min(i, len(v)-8)
		w := uint64(v[i]) | uint64(v[i+1])<<8 | uint64(v[i+2])<<16 | uint64(v[i+3])<<24 |
			uint64(v[i+4])<<32 | uint64(v[i+5])<<40 | uint64(v[i+6])<<48 | uint64(v[i+7])<<56
		if (w|(w-ones))&tops != 0 {
			return false
		}
		if i == len(v)-8 {
			return true
		}
	}
}

package csvmap

import (
	"encoding/csv"
	"errors"
)

// Errors that reject one row. A [usersync.RowError] wraps them, so that
// errors.Is finds them; it names the file, the line and the column.
var (
	// ErrRequired: a Key or Required column is empty.
	ErrRequired = errors.New("required value is empty")
	// ErrInvalidEmail: an Email value is not a bare address such as
	// ann@example.com.
	ErrInvalidEmail = errors.New("invalid email address")
	// ErrInvalidStatus: a Status value is none of the words it accepts.
	ErrInvalidStatus = errors.New("invalid status: want 1/0, true/false, yes/no, active/inactive or enabled/disabled")
	// ErrInvalidSkip: a Skip value is none of the words it accepts.
	ErrInvalidSkip = errors.New("invalid skip flag: want 1, true, yes or x to skip the row; empty, 0, false or no to keep it")
	// ErrInvalidUTF8: a value is not valid UTF-8, which usually means the
	// file was saved in another encoding.
	ErrInvalidUTF8 = errors.New("invalid UTF-8: is the file saved in another encoding?")
	// ErrNULByte: a value holds a NUL byte, which usually means the file is
	// UTF-16 read as UTF-8.
	ErrNULByte = errors.New("NUL byte in value: is the file UTF-16?")
	// ErrFieldTooLong: a value is longer than [Options.MaxFieldBytes].
	ErrFieldTooLong = errors.New("value too long")
	// ErrFieldCount: a row has more or fewer fields than the header. It is
	// csv.ErrFieldCount, so either name matches.
	ErrFieldCount = csv.ErrFieldCount
)

// Errors that fail the whole file. [Mapper.NewReader] or Read return an error
// wrapping them; the Pipeline turns it into a [usersync.FileError].
//
// A bare quote inside a field only rejects its row: the error is a
// [usersync.RowError] wrapping the *csv.ParseError, with csv.ErrBareQuote or
// csv.ErrQuote.
var (
	// ErrNoHeader: the file is empty, so it has no header line.
	ErrNoHeader = errors.New("no header line")
	// ErrMissingColumn: the header lacks the Key column or a Required one.
	ErrMissingColumn = errors.New("missing required column")
	// ErrDuplicateColumn: two columns of the header map to the same schema
	// column, so either could be meant.
	ErrDuplicateColumn = errors.New("duplicate column")
	// ErrUnterminatedQuote: a quoted field is still open at the end of the
	// file. Every line after the opening quote would vanish into one field,
	// so the file fails rather than lose those users without a trace. A
	// stray quote in the last row, when that row runs to the end of the file,
	// fails it the same way: encoding/csv reports both alike.
	ErrUnterminatedQuote = errors.New("unterminated quoted field")
	// ErrRecordTooLong: one record is longer than [Options.MaxRecordBytes],
	// as in a file without line breaks. Reading stops there, so a huge or
	// hostile file cannot exhaust memory.
	ErrRecordTooLong = errors.New("record too long")
)

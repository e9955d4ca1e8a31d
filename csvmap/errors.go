package csvmap

import (
	"encoding/csv"
	"errors"
)

// Errors that reject one row. A [usersync.RowError] wraps them, so that
// errors.Is finds them; it names the file, the line, the column and the
// value.
var (
	// ErrRequired: a Key or Required column is empty.
	ErrRequired = errors.New("required value is empty")
	// ErrInvalidEmail: an Email value is not a bare address such as
	// ann@example.com.
	ErrInvalidEmail = errors.New("invalid email address")
	// ErrInvalidPhone: a Phone value is not a phone number of a possible
	// length, or has no country code and none is assumed.
	ErrInvalidPhone = errors.New("invalid phone number")
	// ErrInvalidBool: a Bool value is none of the words it accepts.
	ErrInvalidBool = errors.New("invalid boolean: want 1/0, true/false, yes/no, y/n or on/off")
	// ErrInvalidTime: a Date or Timestamp value has none of the column's
	// layouts.
	ErrInvalidTime = errors.New("invalid date or time")
	// ErrInvalidEnum: an Enum value is none of the column's Values.
	ErrInvalidEnum = errors.New("invalid value")
	// ErrLength: a value is shorter than the column's MinLen or longer than
	// its MaxLen.
	ErrLength = errors.New("wrong length")
	// ErrInvalidStatus: a Status value is none of the words it accepts.
	ErrInvalidStatus = errors.New("invalid status: want 1/0, true/false, yes/no, active/inactive or enabled/disabled")
	// ErrInvalidSkip: a Skip value is none of the words it accepts.
	ErrInvalidSkip = errors.New("invalid skip flag: want 1, true, yes or x to skip the row; empty, 0, false or no to keep it")
	// ErrInvalidEncoding: a value holds bytes that are not valid in the
	// file's encoding (for UTF-8, usually a file saved as windows-1252), or
	// U+FFFD, the replacement character a decoder leaves for such bytes
	// and that an earlier conversion may have left too. Either way
	// characters were lost, so the value is not used.
	ErrInvalidEncoding = errors.New("invalid byte sequence")
	// ErrNULByte: a value holds a NUL byte, which usually means the file is
	// UTF-16 in a form that could not be recognized.
	ErrNULByte = errors.New("NUL byte in value: is the file UTF-16?")
	// ErrFieldTooLong: a value is longer than [Options.MaxFieldBytes].
	ErrFieldTooLong = errors.New("value too long")
	// ErrFieldCount: a row has more or fewer fields than the header. It is
	// csv.ErrFieldCount, so either name matches.
	ErrFieldCount = csv.ErrFieldCount
)

// Errors that fail the whole file. [Mapper.NewReader] or Read return an error
// wrapping them; the Pipeline turns it into a [usersync.FileError], and
// nothing from the run is applied.
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
	// ErrUnknownColumn: a Strict schema does not know a column of the file.
	ErrUnknownColumn = errors.New("unknown column")
	// ErrHeaderSpelling: a header breaks the schema's HeaderRule.
	ErrHeaderSpelling = errors.New("header breaks the spelling rule")
	// ErrUnterminatedQuote: a quoted field is still open at the end of the
	// file. Every line after the opening quote would vanish into one field,
	// so the file fails rather than lose those users without a trace. A
	// stray quote in the last row, when that row runs to the end of the file,
	// fails it the same way: the two cannot be told apart.
	ErrUnterminatedQuote = errors.New("unterminated quoted field")
	// ErrRecordTooLong: one record is longer than [Options.MaxRecordBytes],
	// as in a file without line breaks. Reading stops there, so a huge or
	// hostile file cannot exhaust memory.
	ErrRecordTooLong = errors.New("record too long")
	// ErrTooManyRows: the file has more rows than [Options.MaxRows].
	ErrTooManyRows = errors.New("too many rows")
	// ErrFileTooLarge: the file is larger than [Options.MaxFileBytes].
	ErrFileTooLarge = errors.New("file too large")
	// ErrTooManyRejected: more rows were rejected than the file's
	// [HoldPolicy] allows, so the whole file is held.
	ErrTooManyRejected = errors.New("too many rows rejected")
	// ErrNoSchema: no route of a [ByName] matches the file's name.
	ErrNoSchema = errors.New("no schema for this file name")
)

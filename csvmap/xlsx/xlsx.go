// Package xlsx reads Excel workbooks (.xlsx) into usersync Records with a
// csvmap Schema: the same columns, validation, row errors and limits as a
// CSV file, with errors that name the cell ("users.xlsx: Sheet1!C17: ...").
//
// A [Mapper] wraps a *csvmap.Mapper. It reads the files whose name ends in
// .xlsx (before any .pgp, .gpg or .asc suffix) and passes the others to the
// csvmap.Mapper, so that one pipeline takes a customer's CSV and Excel
// exports alike:
//
//	cm, err := csvmap.New(csvmap.Cosafe(), nil)
//	...
//	m, err := xlsx.New(cm, &xlsx.Options{Sheet: "Users"})
//	p := usersync.Pipeline{Mapper: m, ...}
//
// It reads the first sheet, or the one [Options.Sheet] names; the header is
// the first row that is not blank, or [Options.HeaderRow]. Values are what
// Excel shows: numbers and dates with their number formats applied (dates
// in Excel's default date format as yyyy-mm-dd; see [Options.DateFormat]),
// shared strings resolved, and a merged cell's value in every cell of its
// range below the header. Blank rows are passed over, as CSV's blank lines are.
//
// The workbook is read through github.com/xuri/excelize/v2's streaming row
// reader, so that memory stays bounded whatever the sheet's size: the file
// is spooled to a private directory under [Options.TempDir], and the sheet
// and a large shared string table are unzipped there too rather than held
// in memory. A shared string table (where Excel saves every text cell's
// value) too large for memory is written to a file too, and the sheet
// rewritten with its strings inline, rather than left to excelize, which
// would keep an index of about 60 bytes per distinct string in memory (some
// 270 MB for a million users of Cosafe's columns): what remains in memory
// is 8 bytes per distinct string, which [Options.MaxSharedStrings] bounds. The directory is removed when the reader reaches the end of
// the file or fails it (or by Close). A zip bomb stops at
// [Options.MaxUnzippedBytes], [Options.MaxPartBytes], [Options.MaxParts] and
// [Options.MaxSharedStrings];
// a password-protected, damaged or truncated workbook fails the file with
// an error that says so ([ErrPasswordProtected], [ErrNotWorkbook],
// [ErrDamaged]).
//
// This package is separate from csvmap so that a program reading only CSV
// does not link excelize.
package xlsx

import (
	"errors"
	"io"
	"path"
	"strings"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
)

// Limits that apply when Options leave them zero.
const (
	// DefaultMaxFileBytes bounds the workbook as the Mapper receives it
	// (compressed): 1 GiB.
	DefaultMaxFileBytes = 1 << 30
	// DefaultMaxUnzippedBytes bounds the sum of the workbook's parts once
	// unzipped, as written on disk and read: 4 GiB, a sheet of about ten
	// million rows.
	DefaultMaxUnzippedBytes = 4 << 30
	// DefaultMaxPartBytes bounds each part that excelize keeps in memory
	// (every part but the worksheets and the shared string table, such as
	// the styles): 32 MiB.
	DefaultMaxPartBytes = 32 << 20
	// DefaultMaxParts bounds the parts (zip members) of a workbook.
	DefaultMaxParts = 10_000
	// DefaultMaxSharedStrings bounds the distinct strings of a large
	// shared string table: 64 MB of index.
	DefaultMaxSharedStrings = 8_000_000
)

// inMemoryBytes is the size above which excelize unzips a worksheet or the
// shared string table to a temporary file instead of memory
// (excelize.Options.UnzipXMLSizeLimit). excelize decodes a shared string
// table it holds in memory into structures several times its size.
const inMemoryBytes = 4 << 20

// Errors that fail a workbook. The error names the file and wraps one of
// these, so that errors.Is finds it.
var (
	// ErrNotWorkbook: the file is not an .xlsx workbook: not a zip, an
	// Excel 97-2003 .xls, or a zip without a workbook in it.
	ErrNotWorkbook = errors.New("not an Excel workbook (.xlsx)")
	// ErrPasswordProtected: the workbook is encrypted with a password.
	ErrPasswordProtected = errors.New("the workbook is password-protected: save it without a password to open it")
	// ErrDamaged: the workbook is truncated or damaged: a part fails its
	// checksum, or the sheet's XML ends before its rows do.
	ErrDamaged = errors.New("the workbook is damaged or truncated")
	// ErrTooLarge: the workbook is over a limit of Options, as a zip bomb
	// would be.
	ErrTooLarge = errors.New("the workbook is too large")
	// ErrNoSheet: the workbook has no sheet of the name Options.Sheet gives.
	ErrNoSheet = errors.New("no such sheet")
)

// Options tune a Mapper. A nil *Options or a zero field means the default.
type Options struct {
	// Sheet names the sheet to read; "" means the first sheet. Case is
	// ignored, as Excel does.
	Sheet string
	// HeaderRow is the row number (1-based, as Excel shows it) of the
	// header; the rows above it are not read. 0 means the first row that
	// is not blank.
	HeaderRow int
	// DateFormat is the number format (such as "dd/mm/yyyy") of the dates
	// in Excel's default date format, which Excel shows as the computer's
	// locale says (excelize.Options.ShortDatePattern); it also makes the
	// date part of the default date-and-time format. "" means yyyy-mm-dd,
	// which csvmap's Date and Timestamp columns read without Layouts.
	// Dates in a format of the workbook's own are shown in that format.
	DateFormat string
	// TempDir is where the workbook and its large parts are written while
	// it is read; "" means os.TempDir(). Give it the Pipeline's TempDir.
	TempDir string
	// MaxFileBytes bounds the workbook's bytes; more fail it with
	// ErrTooLarge. 0 means DefaultMaxFileBytes.
	MaxFileBytes int64
	// MaxUnzippedBytes bounds the sum of its parts' sizes once unzipped;
	// 0 means DefaultMaxUnzippedBytes.
	MaxUnzippedBytes int64
	// MaxPartBytes bounds each part that is held in memory: all but the
	// worksheets and the shared string table. 0 means DefaultMaxPartBytes.
	MaxPartBytes int64
	// MaxParts bounds the number of parts; 0 means DefaultMaxParts.
	MaxParts int
	// MaxSharedStrings bounds the distinct strings of a shared string
	// table too large to be held in memory, whose index keeps 8 bytes a
	// string; 0 means DefaultMaxSharedStrings.
	MaxSharedStrings int
}

// A Mapper reads .xlsx workbooks with a csvmap.Mapper's schema and passes
// other files to that Mapper. It implements usersync.Mapper and is safe for
// concurrent use.
type Mapper struct {
	csv  *csvmap.Mapper
	opts Options
}

var _ usersync.Mapper = (*Mapper)(nil)

// New returns a Mapper that reads workbooks with m's schema and options
// (limits on values and rows, the hold policy) and other files with m.
func New(m *csvmap.Mapper, opts *Options) (*Mapper, error) {
	if m == nil {
		return nil, errors.New("xlsx: New without a csvmap.Mapper")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.HeaderRow < 0 || o.MaxFileBytes < 0 || o.MaxUnzippedBytes < 0 || o.MaxPartBytes < 0 || o.MaxParts < 0 || o.MaxSharedStrings < 0 {
		return nil, errors.New("xlsx: negative HeaderRow, MaxFileBytes, MaxUnzippedBytes, MaxPartBytes, MaxParts or MaxSharedStrings")
	}
	o.MaxFileBytes = cmpOr(o.MaxFileBytes, DefaultMaxFileBytes)
	o.MaxUnzippedBytes = cmpOr(o.MaxUnzippedBytes, DefaultMaxUnzippedBytes)
	o.MaxPartBytes = cmpOr(o.MaxPartBytes, DefaultMaxPartBytes)
	o.MaxParts = cmpOr(o.MaxParts, DefaultMaxParts)
	o.MaxSharedStrings = cmpOr(o.MaxSharedStrings, DefaultMaxSharedStrings)
	return &Mapper{csv: m, opts: o}, nil
}

func cmpOr[T int | int64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// IsWorkbook reports whether the Mapper reads a file of this name as a
// workbook: its base name ends in .xlsx, ignoring case and a final .pgp,
// .gpg or .asc.
func IsWorkbook(name string) bool {
	base := strings.ToLower(path.Base(strings.ReplaceAll(name, "\\", "/")))
	for _, s := range []string{".pgp", ".gpg", ".asc"} {
		base = strings.TrimSuffix(base, s)
	}
	return strings.HasSuffix(base, ".xlsx")
}

// NewReader reads a workbook, as the package documentation describes, or
// passes a file whose name does not end in .xlsx to the csvmap.Mapper. For
// a workbook, the error fails the file for the reasons csvmap's does (such
// as a missing column) and when the workbook cannot be read; the reader it
// returns is a usersync.FormatReader whose Format's Encoding names the
// sheet, and an io.Closer that removes the workbook's temporary files
// (reading to the end or to an error that fails the file does so too).
func (m *Mapper) NewReader(r io.Reader, f usersync.FileInfo) (usersync.RecordReader, error) {
	if !IsWorkbook(f.Name) {
		return m.csv.NewReader(r, f)
	}
	return m.openWorkbook(r, f)
}

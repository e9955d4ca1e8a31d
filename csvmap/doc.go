// Package csvmap reads the CSV files that HR systems, Active Directory
// scripts and school information systems export into usersync Records, and
// says exactly what is wrong with the ones it cannot read.
//
// A [Schema] lists the columns to read and what each feeds: the Key, an
// attribute, the groups, the status, a Skip flag, or nothing (Ignore). [New]
// checks the schema and returns a [Mapper], which is a usersync.Mapper:
//
//	m, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
//		{Name: "UniqueID", Role: csvmap.Key},
//		{Name: "email", Header: "Mail", Kind: csvmap.Email, Required: true},
//		{Name: "Groups", Role: csvmap.Groups},
//	}}, nil)
//
// Schemas are plain data. [Cosafe] and [Opensense] return the layouts those
// vendors publish, and [Smartfense] one in the style of SMARTFENSE's user
// import, for a host to use as they are or change. [ByName] reads
// each file with the schema its name calls for, such as students.csv and
// staff.csv.
//
// # Encodings and delimiters
//
// A file may be UTF-8 with or without a byte order mark, UTF-16 (Excel's
// "Unicode text") with one or, recognized by its zero bytes, without; a
// legacy encoding such as windows-1252 is read when [Options.Encoding]
// names it. The delimiter is detected from the header line among ',', ';',
// tab and '|', unless [Options.Comma] forces one. Records may end in CRLF or
// LF and hold line breaks inside quotes. The reader's Format says which
// encoding and delimiter it used.
//
// Bytes that are not valid in the file's encoding never become silent
// replacement characters: the decoders of golang.org/x/text put U+FFFD
// there, and a value holding U+FFFD rejects its row ([ErrInvalidEncoding]),
// as does invalid UTF-8.
//
// # Headers
//
// Columns are found by their header, in any order. Matching ignores case,
// white space, underscores and hyphens, so "UniqueID", "unique_id" and
// " Unique ID " are the same header, and a byte order mark never hides the
// first column; a schema may also demand Opensense's spelling
// ([LowerSnake]). A file fails when a Key or Required column is missing or
// when two of its columns map to the same schema column, naming them.
// Columns the schema does not know are listed in the reader's
// Format().Warnings, or fail a [Schema.Strict] file.
//
// # Values and rows
//
// Every value is trimmed, checked to be valid text and brought to Unicode
// NFC; its column's [Kind] checks and normalizes it further (emails, phone
// numbers in E.164, booleans, dates, timestamps, enumerations), along with
// length bounds, case folding and lists. Columns can be made From others
// (Name from FirstName and LastName, a username from the email) or get a
// Default (a language).
//
// Rows are parsed as encoding/csv does with strict quoting and the header's
// field count, so that columns never shift silently. A row at fault is
// rejected with a *usersync.RowError naming the file, the line the row
// starts on, the column and the value, and wrapping a sentinel such as
// [ErrInvalidEmail] or [ErrFieldCount]; the other rows still count, unless
// a [HoldPolicy] holds the whole file when too many are bad. Rows that share
// a key are rejected by the Reconciler, which sees every file of the run.
//
// # Transforms and filters
//
// Real exports need more than renaming columns. A column's [Transform]s
// rewrite its value, in order, before its Kind checks it: a value map
// (status words such as "Terminated" or "On leave" mapped to active or
// inactive, with a default for other words or a rejection), a template
// joining columns ("{first} {last}"), the email address's local part, white
// space closed up, lower, upper or title case, a regular expression's
// capture group, "Last, First" turned into "First Last", a date layout
// read and written as ISO 8601, and a default taken from another column. A
// column made by its transforms from others needs no header of its own.
// These rules are plain Go, compiled once by [New]; but for Extract's
// regular expression, mapping a row with them costs no allocation of its
// own (what they write goes to the row's arena).
//
// For the rest, a transform or a filter may be an expression in the
// language of github.com/expr-lang/expr, compiled once per schema and run
// on a VM kept per reader: `type == "C" ? "Contractor" : value`. expr was
// chosen over CEL (github.com/google/cel-go) because it has no dependencies
// of its own, so csvmap stays light, and a string-valued language with a
// familiar syntax is all a row needs; CEL brings protocol buffers and a
// dozen modules. A syntax error, an unknown column or a result of the
// wrong type fails New, not a row.
//
// A transform that refuses a value rejects the row with a
// *usersync.RowError naming the file, the line, the column and the rule
// ([RuleError]): users.csv:12: column Status: "Retired": rule hr-status:
// value not in the map.
//
// A [Filter] sets the sync's scope: rows whose column has some values, or
// matches a pattern or an expression, are kept (Include) or left out
// (Exclude). Rows out of scope are neither records nor errors: they are
// counted in Format.OutOfScope, never checked, and their keys reach the
// Reconciler (the reader is a usersync.ScopeReader), so that a user who
// moves out of scope is handled by the absent-user policy, and the report
// says why ("out of scope: rule contractors").
//
// # Limits
//
// A row that cannot be trusted to end where it seems to fails the file
// instead: a quote still open at the end of the file
// ([ErrUnterminatedQuote]) or a record longer than [Options.MaxRecordBytes]
// ([ErrRecordTooLong]), which also bounds the memory a file without line
// breaks can take. Fields, rows and files have bounds of their own; all
// are generous and finite.
//
// # Templates
//
// A Mapper writes a sample file for its schema ([Mapper.WriteTemplate]) and
// a plain-text description of each column ([Mapper.WriteDescription]), for
// a host's download button and help pages.
//
// # Cost
//
// Mapping is a hot path: a file may hold a million rows. A record costs its
// packed Attrs (one usersync.Layout per file) and nothing else of its own:
// the rows' text, the keys, the Groups slices and the values normalized on
// the way come from arenas and slabs that serve hundreds of rows per
// allocation. The common case, UTF-8, is read straight from the read buffer
// without a decoder; numbers in international form take a fast path that
// gives libphonenumber's result without its cost. Mapping the generated
// Cosafe file takes under three times as long as a plain encoding/csv pass
// over it (BenchmarkMapVsPlain).
package csvmap

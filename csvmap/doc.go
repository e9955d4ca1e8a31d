// Package csvmap reads the CSV files that HR systems, Active Directory
// scripts and school information systems export into usersync Records.
//
// A [Schema] lists the columns to read and what each feeds: the Key, an
// attribute, the groups, the status, or a Skip flag. [New] checks the schema
// and returns a [Mapper], which is a usersync.Mapper:
//
//	m, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
//		{Name: "UniqueID", Role: csvmap.Key},
//		{Name: "email", Header: "Mail", Kind: csvmap.Email, Required: true},
//		{Name: "Groups", Role: csvmap.Groups},
//	}}, nil)
//
// # Headers
//
// Columns are found by their header, in any order. Matching ignores case,
// white space, underscores and hyphens, so "UniqueID", "unique_id" and
// " Unique ID " are the same header; a UTF-8 byte order mark is dropped, so it
// never hides the first column. A file fails when a Key or Required column
// is missing or when two of its columns map to the same schema column.
// Columns the schema does not know are ignored and listed in the reader's
// Format().Warnings.
//
// # Rows
//
// Rows are parsed by encoding/csv with strict quoting and the header's field
// count, so that columns never shift silently. A row at fault is rejected
// with a *usersync.RowError naming the file, the line the row starts on, the
// column and the value, and wrapping a sentinel such as [ErrInvalidEmail] or
// [ErrFieldCount]; the other rows still count. A row that cannot be trusted
// to end where it seems to fails the file instead: a quote still open at the
// end of the file ([ErrUnterminatedQuote]) or a record longer than
// [Options.MaxRecordBytes] ([ErrRecordTooLong]), which also bounds the memory
// a file without line breaks can take.
//
// # Cost
//
// Mapping is a hot path: a file may hold a million rows. Beyond the string
// encoding/csv allocates per row, a record costs three allocations: its
// packed Attrs (one usersync.Layout per file), a copy of its Key, and its
// Groups slice, whose IDs are stored once per file.
package csvmap

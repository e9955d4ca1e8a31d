package csvmap

import (
	"strconv"
)

// A Role says what a column feeds in a [usersync.Record].
type Role uint8

// The roles of a column.
const (
	// Attribute values go to Record.Attrs under the column's Name.
	Attribute Role = iota
	// Key values become Record.Key: never empty. A schema has exactly one
	// Key column, and a file must hold it (or the columns it is made From).
	//
	// Rows that share a key, once normalized (see Column.Fold), are all
	// rejected with usersync.ErrDuplicateKey by the Reconciler, which sees
	// every file of a run: a streaming reader cannot take back a record it
	// has returned when the key turns up again a million rows later.
	Key
	// Groups values become Record.Groups: split by Column.Separator, each
	// part trimmed, empty parts dropped, sorted and without duplicates. An
	// empty value means the user is in no group. In a file without the
	// column, Groups is nil: memberships are left as they are.
	Groups
	// Status values set Record.Inactive. The column says whether the user
	// is active: 1, true, yes, active and enabled (in any case) or an empty
	// value mean active; 0, false, no, inactive and disabled mean inactive.
	// Anything else rejects the row.
	Status
	// Skip values leave a row out on purpose, as Cosafe's Skip column does:
	// 1, true, yes or x (in any case) skip the row, which is then counted
	// in Format.Skipped and not reported as an error; empty, 0, false or no
	// keep it. Anything else rejects the row. A skipped row is not checked
	// any further, and its user counts as not in the file: a user imported
	// before is treated like one whose row was removed.
	Skip
	// Ignore columns are known and not read: they feed nothing and are not
	// reported as unknown. They are for what an export writes about itself,
	// such as Cosafe's TimeStamp: mapped as an attribute, a time that
	// changes every night would update every user every night.
	Ignore
)

var roleNames = [...]string{"Attribute", "Key", "Groups", "Status", "Skip", "Ignore"}

// String returns the role's name, as in the constant.
func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// A Kind says how the values of an Attribute or Key column are checked and
// normalized. Every value is first trimmed of surrounding white space,
// checked to be valid text without NUL bytes or U+FFFD (the mark a decoder
// leaves where bytes were invalid), and brought to Unicode NFC, so that a
// name typed on a Mac and on Windows is the same value. An empty value is
// allowed unless the column is Required; Kind checks only non-empty ones.
type Kind uint8

// The kinds of values.
const (
	// Text values are kept as they are.
	Text Kind = iota
	// Email values must be a bare address such as ann@example.com: exactly
	// one @, no spaces, no display name, angle brackets or comments, and
	// valid for net/mail.ParseAddress. A dot in the domain is not required.
	// The domain is lower-cased; the local part is kept as it is (mail
	// servers may tell its case apart) unless the column folds case.
	Email
	// Phone values are phone numbers, normalized to E.164 (+46701234567).
	// A number without a country code is read in Options.PhoneRegion. It
	// must have a possible length for its country (libphonenumber's
	// IsPossibleNumber, not IsValidNumber: number plans gain ranges faster
	// than the library's metadata follows, and a user's row must not be
	// rejected for a new mobile range). Extensions are refused: E.164 has
	// no room for them.
	Phone
	// Bool values are 1/0, true/false, yes/no, y/n or on/off in any case,
	// normalized to "true" or "false".
	Bool
	// Date values are dates in one of Column.Layouts (by default ISO 8601,
	// 2006-01-02), normalized to 2006-01-02.
	Date
	// Timestamp values are times in one of Column.Layouts (by default RFC
	// 3339 and the ISO 8601 forms "2006-01-02 15:04:05", "2006-01-02T15:04:05"
	// and "2006-01-02 15:04"), normalized to RFC 3339 in UTC. A time without
	// a zone is in Options.Location.
	Timestamp
	// Enum values are one of Column.Values, in any case, normalized to the
	// spelling the column lists.
	Enum
)

var kindNames = [...]string{"Text", "Email", "Phone", "Bool", "Date", "Timestamp", "Enum"}

// String returns the kind's name, as in the constant.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// A Column describes one column a file may hold. It is plain data: presets
// such as [Cosafe] return columns a host can copy and change.
type Column struct {
	// Name is the attribute name in Record.Attrs for an Attribute column,
	// and names the column in From and in messages for every role. It is
	// also the header unless Header is set.
	Name string
	// Header is the column's header in the file; "" means Name.
	Header string
	// Aliases are other headers accepted for the column, such as "E-mail"
	// for "Mail".
	Aliases []string
	// Role says what the column feeds; the zero value is Attribute.
	Role Role
	// Kind says how an Attribute or Key value is checked; the zero value
	// is Text.
	Kind Kind
	// Required means the header must be in the file (or the file fails,
	// naming the column) and every row must have a non-empty value (or the
	// row is rejected with ErrRequired). A Key column is always required.
	// A column made From others counts as in the file when they all are.
	//
	// An optional Attribute column missing from a file is left out of its
	// records' Attrs entirely, so that reconcilers leave that attribute
	// alone rather than clear it.
	Required bool
	// Separator makes the column a list: a Groups column (where "" means
	// ","), or an Attribute column whose value is split by it, each part
	// trimmed and checked by Kind, empty parts dropped, sorted, duplicates
	// removed, and joined again with the separator, so that a list in
	// another order is not a change.
	Separator string
	// Fold lower-cases values (after Kind's normalization), for values
	// compared without regard to case, such as email addresses used as
	// keys or Active Directory account names: Ann@Example.com and
	// ann@example.com are then the same user.
	Fold bool
	// MinLen and MaxLen bound a non-empty value's length in characters
	// (each part's, for a list); 0 means no bound. Cosafe's UniqueID, for
	// one, has 10 to 256.
	MinLen, MaxLen int
	// Values lists the values of an Enum column.
	Values []string
	// Layouts are the time.Parse layouts a Date or Timestamp value may
	// have; nil means the ISO 8601 forms listed with the kind. Order
	// matters for ambiguous dates: list "02/01/2006" or "01/02/2006", not
	// both.
	Layouts []string
	// From names columns that make this column's value when it is empty or
	// missing from the file: their non-empty values, joined by a space. So
	// Name may be made from FirstName and LastName, or a username from the
	// email address. The value made is then checked like any other. From
	// columns must be Attribute or Key columns not made From others.
	From []string
	// Default is the value when the column's value is empty, or the file
	// lacks the column (and the columns it is made From): a feed that has
	// no language column then says every user's language is the default.
	// It must be valid for the Kind. A column with a Default cannot be
	// Required.
	Default string
	// Description says what the column holds, for the description a
	// Mapper writes (see Mapper.WriteDescription).
	Description string
	// Example is the value of the template's example row (see
	// Mapper.WriteTemplate); "" means one made up for the Kind.
	Example string
	// Transforms rewrite the value, in order, before Kind checks it: a
	// value map, a template, case, a date layout... (see [Transform]). A
	// column whose first Transform makes its value from other columns
	// (a Template, an Expr that does not read value, DefaultFrom) counts
	// as in the file when they are.
	Transforms []Transform
}

// header returns the header the column is known by in the file.
func (c *Column) header() string {
	if c.Header != "" {
		return c.Header
	}
	return c.Name
}

// A HeaderRule says how strictly the headers of a file must be spelled.
type HeaderRule uint8

const (
	// AnySpelling matches headers ignoring case, white space, underscores
	// and hyphens, so "UniqueID", "unique_id" and " Unique ID " are the
	// same header.
	AnySpelling HeaderRule = iota
	// LowerSnake is Opensense's rule: every header of the file must be in
	// lower case without spaces, underscores taking their place
	// ("first_name"). A header that breaks it fails the file, naming the
	// spelling it should have. Headers then match as with AnySpelling.
	LowerSnake
)

// A Schema lists the columns a Mapper understands. Files may hold them in any
// order, along with other columns, which are ignored with a warning unless
// the schema is Strict.
type Schema struct {
	// Name names the files the schema reads, for the column description:
	// "Cosafe users", "Students".
	Name string
	// Columns are the columns a file may hold.
	Columns []Column
	// Headers says how strictly headers must be spelled.
	Headers HeaderRule
	// Strict fails a file that holds a column the schema does not list,
	// rather than ignore it with a warning.
	Strict bool
	// File says what the schema's files list: users (the zero value),
	// groups or memberships. See [FileKind].
	File FileKind
	// Filters set the sync's scope: the rows they leave out are counted,
	// neither records nor errors (see [Filter]).
	Filters []Filter
}

package csvmap

// Presets are schemas for the layouts vendors publish. They are plain data:
// each call returns a new Schema that a host may change (drop a column, add
// an alias, require a field) before passing it to New.

// Cosafe returns the schema of Cosafe's SFTP user sync: UniqueID (10 to 256
// characters), Name (or FirstName and LastName), Mail, Title, the two phone
// numbers in E.164, Groups separated by commas, and Skip.
//
// TimeStamp is known but not read (Role Ignore): it is when the file was
// exported, the same on every row and new every night. Mapped as an
// attribute it would update every user every night; left out of the schema
// it would be warned about as unknown every night, and fail a Strict file.
func Cosafe() Schema {
	return Schema{
		Name: "Cosafe users",
		Columns: []Column{
			{Name: "uniqueid", Header: "UniqueID", Role: Key, MinLen: 10, MaxLen: 256, Example: "EMP0001001",
				Description: "Unique for each user: letters, numbers and symbols, such as an employee number. The email address works too, but then a new address makes a new user."},
			{Name: "name", Header: "Name", Required: true, From: []string{"firstname", "lastname"}, Example: "Ann Lee",
				Description: "First and last name."},
			{Name: "email", Header: "Mail", Aliases: []string{"Email", "E-mail"}, Kind: Email, Required: true, Example: "ann.lee@example.com",
				Description: "The user's email address."},
			{Name: "title", Header: "Title", Example: "Nurse", Description: "The user's title."},
			{Name: "phone", Header: "TelephoneNumber", Kind: Phone, Example: "+46 70 123 45 67",
				Description: "Primary phone number, for two-step verification and the call-in function."},
			{Name: "phone2", Header: "SecondaryTelephoneNumber", Kind: Phone, Example: "+46 8 123 456 78",
				Description: "Shown in the user's profile. Without this column, a number the user added in the app is removed."},
			{Name: "timestamp", Header: "TimeStamp", Role: Ignore, Example: "2025-11-21 02:00:00",
				Description: "When the data was exported. Not compared with the users: it changes every night."},
			{Name: "groups", Header: "Groups", Role: Groups, Separator: ",", Example: "Scranton branch, Akron Branch",
				Description: "The Group IDs the user belongs to, each exactly as in the admin panel."},
			{Name: "skip", Header: "Skip", Role: Skip, Description: "1 leaves the user out of the import; otherwise empty."},
			{Name: "firstname", Header: "FirstName", Example: "Ann", Description: "Makes the name, with LastName, when Name is empty."},
			{Name: "lastname", Header: "LastName", Example: "Lee", Description: "Makes the name, with FirstName, when Name is empty."},
		},
	}
}

// Opensense returns a schema under Opensense's header rule: column names in
// lower case without spaces, underscores in their place (LowerSnake). Its
// columns are those an email signature typically shows, keyed by the email
// address compared without regard to case; Opensense maps further columns
// with each customer, so add them as needed.
func Opensense() Schema {
	return Schema{
		Name:    "Opensense users",
		Headers: LowerSnake,
		Columns: []Column{
			{Name: "email", Role: Key, Kind: Email, Fold: true, Aliases: []string{"mail"},
				Description: "The user's email address, which identifies the user."},
			{Name: "first_name", Example: "Ann"},
			{Name: "last_name", Example: "Lee"},
			{Name: "name", From: []string{"first_name", "last_name"}, Example: "Ann Lee",
				Description: "Full name, as the signature shows it."},
			{Name: "title", Example: "Head of Sales"},
			{Name: "department", Example: "Sales"},
			{Name: "company", Example: "Example Ltd"},
			{Name: "phone", Kind: Phone, Aliases: []string{"telephone_number"}},
			{Name: "mobile_phone", Kind: Phone, Aliases: []string{"mobile"}},
		},
	}
}

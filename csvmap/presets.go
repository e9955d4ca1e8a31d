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

// Smartfense returns a schema in the style of SMARTFENSE's CSV user import,
// which a security-awareness platform reads from a folder or an FTP
// server: users keyed by email address (compared without regard to case),
// with a username, a language, whether the user is active, and the
// manager's email address. Its rules follow SMARTFENSE's published ones:
// without a username, one is made from the email address; without a
// language, the product's own default applies; users can be activated and
// deactivated from the file. The header spellings are this package's
// ("Manager Email"); their usual variants match, and aliases can be
// added.
//
// A manager whose email matches no user is not saved: set the
// reconciler's manager policy on "manager_email" to have such references
// left out with a warning.
func Smartfense() Schema {
	return Schema{
		Name: "SMARTFENSE-style users",
		Columns: []Column{
			{Name: "email", Header: "Email", Aliases: []string{"Mail", "E-mail"}, Role: Key, Kind: Email, Fold: true,
				Example: "ann.lee@example.com", Description: "The user's email address, which identifies the user."},
			{Name: "username", Header: "Username", Aliases: []string{"User"}, Example: "ann.lee",
				Transforms:  []Transform{{Rule: "username-from-email", Expr: `value != "" ? value : split(email, "@")[0]`}},
				Description: "The name the user logs in with. When empty, the part of the email address before the @."},
			{Name: "first_name", Header: "First Name", Aliases: []string{"Name", "Given Name"}, Example: "Ann",
				Description: "The user's first name."},
			{Name: "last_name", Header: "Last Name", Aliases: []string{"Surname"}, Example: "Lee",
				Description: "The user's last name."},
			{Name: "language", Header: "Language", Aliases: []string{"Lang"}, Example: "en",
				Transforms:  []Transform{{Case: Lower}},
				Description: "The user's language, such as es, en or pt. When empty, the product's default language."},
			{Name: "active", Header: "Active", Aliases: []string{"Enabled", "Status"}, Role: Status, Example: "yes",
				Transforms:  []Transform{{Rule: "si-no", Map: map[string]string{"sí": "yes", "si": "yes"}}},
				Description: "Whether the user is active: yes (or sí, 1, true, active) or no (0, false, inactive). When empty, active."},
			{Name: "manager_email", Header: "Manager Email", Aliases: []string{"Manager"}, Kind: Email, Fold: true,
				Example:     "bob.berg@example.com",
				Description: "The email address of the user's manager. A manager who is not a user of the product is not saved."},
			{Name: "groups", Header: "Groups", Role: Groups, Separator: ",", Example: "Sales, Buenos Aires",
				Description: "The groups the user belongs to, separated by commas."},
		},
	}
}

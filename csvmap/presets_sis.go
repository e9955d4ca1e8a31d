package csvmap

// SIS presets: the staff/students pair of files that a school information
// system's SFTP export sends, each with the fields its user type requires.
// A student's record and a staff member's record have different columns,
// so the two files have schemas of their own, and [SIS] routes each file to
// its schema by name.

// SISStudents returns the schema of an SIS export's students file: Student
// ID (the key), First Name and Last Name (required; Name is made of them),
// Email (optional: young students often have none), Grade (PK, K or 1 to
// 12, as the export writes it), the School IDs the student attends (their
// groups) and Status.
//
// Student IDs and staff IDs are one run's keys: if the system numbers both
// from 1, key the staff file by email instead (change its Key column).
func SISStudents() Schema {
	return Schema{
		Name: "Students",
		Columns: []Column{
			{Name: "student_id", Header: "Student ID", Aliases: []string{"Student Number", "StudentID"}, Role: Key, Example: "S100234",
				Description: "The student's number in the school information system, unique and stable."},
			{Name: "first_name", Header: "First Name", Required: true, Example: "Ben", Description: "The student's first name."},
			{Name: "last_name", Header: "Last Name", Required: true, Example: "Ortiz", Description: "The student's last name."},
			{Name: "name", From: []string{"first_name", "last_name"}, Header: "Name", Example: "Ben Ortiz",
				Description: "Full name; made of First Name and Last Name when empty or missing."},
			{Name: "email", Header: "Email", Kind: Email, Example: "ben.ortiz@students.riverside.example",
				Description: "The student's school email address, if the student has one."},
			{Name: "grade", Header: "Grade", Kind: Enum, Required: true,
				Values:      []string{"PK", "K", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"},
				Description: "Grade level: PK, K, or 1 to 12.", Example: "4"},
			{Name: "homeroom", Header: "Homeroom", Example: "4B", Description: "The student's homeroom."},
			{Name: "schools", Header: "School IDs", Aliases: []string{"School ID"}, Role: Groups, Separator: ",", Example: "RE",
				Description: "The schools the student attends, each by its ID in the system, separated by commas."},
			{Name: "status", Header: "Status", Role: Status, Description: "Whether the student is enrolled: active or inactive."},
		},
	}
}

// SISStaff returns the schema of an SIS export's staff file: Staff ID (the
// key), First Name, Last Name and Email (required), Title, Role (Teacher,
// Administrator, Aide, Counselor, Principal or Staff), the School IDs the
// person works at (their groups) and Status.
func SISStaff() Schema {
	return Schema{
		Name: "Staff",
		Columns: []Column{
			{Name: "staff_id", Header: "Staff ID", Aliases: []string{"Employee ID", "StaffID"}, Role: Key, Example: "T1001",
				Description: "The staff member's number in the school information system, unique and stable."},
			{Name: "first_name", Header: "First Name", Required: true, Example: "Ann", Description: "The staff member's first name."},
			{Name: "last_name", Header: "Last Name", Required: true, Example: "Lee", Description: "The staff member's last name."},
			{Name: "name", From: []string{"first_name", "last_name"}, Header: "Name", Example: "Ann Lee",
				Description: "Full name; made of First Name and Last Name when empty or missing."},
			{Name: "email", Header: "Email", Kind: Email, Required: true, Example: "ann.lee@riverside.example",
				Description: "The staff member's work email address."},
			{Name: "title", Header: "Title", Example: "Grade 4 teacher", Description: "Job title."},
			{Name: "role", Header: "Role", Kind: Enum, Required: true,
				Values:      []string{"Teacher", "Administrator", "Aide", "Counselor", "Principal", "Staff"},
				Description: "What the person does at school: Teacher, Administrator, Aide, Counselor, Principal or Staff.", Example: "Teacher"},
			{Name: "schools", Header: "School IDs", Aliases: []string{"School ID"}, Role: Groups, Separator: ",", Example: "RE",
				Description: "The schools the person works at, each by its ID in the system, separated by commas."},
			{Name: "status", Header: "Status", Role: Status, Description: "Whether the person is employed: active or inactive."},
		},
	}
}

// SIS returns a ByName Mapper over the pair of SIS files: students*.csv
// read with SISStudents, staff*.csv with SISStaff (names matched ignoring
// case, so Students_2025.CSV is a students file). A run reads both as one
// snapshot: a student missing from the students file is absent, as is a
// staff member missing from the staff file. Any other file fails with
// ErrNoSchema.
func SIS(opts *Options) (*ByName, error) {
	students, err := New(SISStudents(), opts)
	if err != nil {
		return nil, err
	}
	staff, err := New(SISStaff(), opts)
	if err != nil {
		return nil, err
	}
	return NewByName(
		Route{Pattern: "students*.csv", Mapper: students},
		Route{Pattern: "staff*.csv", Mapper: staff},
	)
}

package csvmap_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
)

func Example() {
	m, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "UniqueID", Role: csvmap.Key},
		{Name: "name", Header: "Name", Required: true},
		{Name: "email", Header: "Mail", Aliases: []string{"E-mail"}, Kind: csvmap.Email, Required: true},
		{Name: "title", Header: "Title"},
		{Name: "Groups", Role: csvmap.Groups},
		{Name: "Skip", Role: csvmap.Skip},
	}}, nil)
	if err != nil {
		log.Fatal(err)
	}

	// As Excel saves "CSV UTF-8": a byte order mark and CRLF line breaks.
	const file = "\uFEFFUniqueID,Name,E-mail,Title,Groups,Skip,TimeStamp\r\n" +
		"E1001,Ann Lee,ann.lee@Example.COM,Nurse,\"Scranton branch, Akron Branch\",,2025-11-21\r\n" +
		"E1002,Bob Berg,bob.berg@example.com,,Akron Branch,1,2025-11-21\r\n" +
		"E1003,Cy Ström,cy(at)example.com,Teacher,,,2025-11-21\r\n" +
		"E1004, Dan Ek ,dan.ek@example.com,\"Head of Sales, Nordics\",,,2025-11-21\r\n"

	rr, err := m.NewReader(strings.NewReader(file), usersync.FileInfo{Name: "users.csv", Size: -1})
	if err != nil {
		log.Fatal(err) // the whole file fails
	}
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println("rejected:", err) // a *usersync.RowError: the other rows count
			continue
		}
		fmt.Println(rec.Origin, rec.Key, rec.Attrs, rec.Groups)
	}
	f := rr.(usersync.FormatReader).Format()
	fmt.Println(f.Encoding, "skipped:", f.Skipped)
	fmt.Println(f.Warnings)
	// Output:
	// users.csv:2 E1001 {name="Ann Lee" email="ann.lee@example.com" title="Nurse"} [Akron Branch Scranton branch]
	// rejected: users.csv:4: column E-mail: "cy(at)example.com": invalid email address
	// users.csv:5 E1004 {name="Dan Ek" email="dan.ek@example.com" title="Head of Sales, Nordics"} []
	// UTF-8 with BOM skipped: 1
	// [ignored columns not in the schema: "TimeStamp" (column 7)]
}

func ExampleMapper_NewReader_missingColumn() {
	m, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "UniqueID", Role: csvmap.Key},
		{Name: "email", Header: "Mail", Kind: csvmap.Email},
	}}, &csvmap.Options{Comma: ';'})
	if err != nil {
		log.Fatal(err)
	}
	// Without its Key column, a file would look as if every user had left.
	_, err = m.NewReader(strings.NewReader("Id;Mail\n1;ann@example.com\n"), usersync.FileInfo{Name: "users.csv"})
	fmt.Println(err)
	// Output:
	// missing required column "UniqueID"; the header has "Id", "Mail"
}

// Cosafe's layout, as a European Excel saves it: semicolons, a byte order
// mark, CRLF. The delimiter and the encoding are detected, phone numbers
// become E.164, FirstName and LastName make a missing Name, and TimeStamp,
// which changes every night, is not read.
func Example_cosafe() {
	m, err := csvmap.New(csvmap.Cosafe(), nil)
	if err != nil {
		log.Fatal(err)
	}
	const file = "\uFEFFUniqueID;Name;Mail;TelephoneNumber;TimeStamp;Groups;Skip;FirstName;LastName\r\n" +
		"EMP0001001;Ann Lee;ann.lee@example.com;+46 70 123 45 67;2025-11-21 02:00;Scranton branch, Akron Branch;;;\r\n" +
		"EMP0001002;;bo@example.com;+46 (0)8-123 456 78;2025-11-21 02:00;Akron Branch;;Bo;Berg\r\n" +
		"EMP0001003;Cy Dahl;cy@example.com;;2025-11-21 02:00;;1;;\r\n" +
		"E4;Dan Ek;dan@example.com;+46 70;2025-11-21 02:00;;;;\r\n"
	rr, err := m.NewReader(strings.NewReader(file), usersync.FileInfo{Name: "users.csv", Size: -1})
	if err != nil {
		log.Fatal(err)
	}
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println("rejected:", err)
			continue
		}
		fmt.Println(rec.Key, rec.Attrs.Value("name"), rec.Attrs.Value("phone"), rec.Groups)
	}
	f := rr.(usersync.FormatReader).Format()
	fmt.Printf("%s, delimiter %q, skipped %d\n", f.Encoding, f.Delimiter, f.Skipped)
	// Output:
	// EMP0001001 Ann Lee +46701234567 [Akron Branch Scranton branch]
	// EMP0001002 Bo Berg +46812345678 [Akron Branch]
	// rejected: users.csv:5: column UniqueID: "E4": wrong length: 2 characters, want 10 to 256
	// UTF-8 with BOM, delimiter ';', skipped 1
}

// The rules of SMARTFENSE's CSV import: the username is the key, made from
// the email address when not given; a language by default; a status column
// activates and deactivates users; groups are separated by semicolons.
func Example_rowRules() {
	m, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "username", Role: csvmap.Key, Fold: true, From: []string{"email"}},
		{Name: "email", Kind: csvmap.Email, Required: true},
		{Name: "name", Required: true, From: []string{"first_name", "last_name"}},
		{Name: "first_name"},
		{Name: "last_name"},
		{Name: "language", Kind: csvmap.Enum, Values: []string{"en", "es", "pt"}, Default: "es"},
		{Name: "status", Role: csvmap.Status},
		{Name: "groups", Role: csvmap.Groups, Separator: ";"},
	}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	const file = "email,first_name,last_name,language,status,groups\n" +
		"Ana.Gomez@Example.com,Ana,Gómez,,active,\"Ventas;Gerencia\"\n" +
		"luis@example.com,Luis,Pérez,EN,inactive,Ventas\n"
	rr, err := m.NewReader(strings.NewReader(file), usersync.FileInfo{Name: "usuarios.csv"})
	if err != nil {
		log.Fatal(err)
	}
	for {
		rec, err := rr.Read()
		if err != nil {
			break
		}
		fmt.Println(rec.Key, rec.Attrs.Value("name"), rec.Attrs.Value("language"), rec.Groups, "inactive:", rec.Inactive)
	}
	fmt.Println(rr.(usersync.FormatReader).Format().Warnings)
	// Output:
	// ana.gomez@example.com Ana Gómez es [Gerencia Ventas] inactive: false
	// luis@example.com Luis Pérez en [Ventas] inactive: true
	// [column "username" is missing: made from "email" column "name" is missing: made from "first_name", "last_name"]
}

// A template a customer can start from, and the column description for a
// help page.
func ExampleMapper_WriteTemplate() {
	m, err := csvmap.New(csvmap.Schema{Name: "Staff", Columns: []csvmap.Column{
		{Name: "id", Header: "Employee Number", Role: csvmap.Key, MinLen: 4, Description: "As in the HR system."},
		{Name: "email", Header: "Email", Kind: csvmap.Email, Required: true},
		{Name: "mobile", Header: "Mobile", Kind: csvmap.Phone},
		{Name: "role", Header: "Role", Kind: csvmap.Enum, Values: []string{"Teacher", "Staff"}},
		{Name: "groups", Header: "Departments", Role: csvmap.Groups, Separator: ";"},
	}}, &csvmap.Options{Comma: ';', PhoneRegion: "GB"})
	if err != nil {
		log.Fatal(err)
	}
	m.WriteTemplate(os.Stdout)
	fmt.Println()
	m.WriteDescription(os.Stdout)
	// Output:
	// Employee Number;Email;Mobile;Role;Departments
	// E1001;ann.lee@example.com;+44 7400 123456;Teacher;Example group
	//
	// Staff
	//
	// Headers may come in any order and case; spaces, underscores and hyphens in them are ignored.
	// Columns not listed here are ignored.
	// Values are separated by ';'.
	// The file is in UTF-8 or UTF-16 (as Excel's "Unicode text"), with or without a byte order mark.
	//
	// Employee Number (required; identifies the user)
	//     At least 4 characters.
	//     As in the HR system.
	//     Example: E1001
	//
	// Email (required)
	//     An email address, such as ann.lee@example.com.
	//     Example: ann.lee@example.com
	//
	// Mobile (optional)
	//     A phone number, best with its country code (+46 70 123 45 67); stored as +46701234567.
	//     Without a country code, a number of GB.
	//     Example: +44 7400 123456
	//
	// Role (optional)
	//     One of: Teacher, Staff.
	//     Example: Teacher
	//
	// Departments (optional; the user's groups)
	//     Several values are separated by ";".
	//     Example: Example group
}

// The per-file error policy: a file with more than 1% of bad rows is held,
// and the Pipeline applies nothing from the run.
func ExampleHoldPolicy() {
	m, err := csvmap.New(csvmap.Cosafe(), &csvmap.Options{Hold: &csvmap.HoldPolicy{Rows: -1, Percent: 1}})
	if err != nil {
		log.Fatal(err)
	}
	rr, err := m.NewReader(strings.NewReader("UniqueID,Name,Mail\nEMP0001001,Ann,ann@example.com\nEMP0001002,Bo,bo(at)example.com\n"),
		usersync.FileInfo{Name: "users.csv"})
	if err != nil {
		log.Fatal(err)
	}
	for {
		_, err := rr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			if !errors.Is(err, csvmap.ErrTooManyRejected) {
				continue
			}
			break
		}
	}
	// Output:
	// users.csv:3: column Mail: "bo(at)example.com": invalid email address
	// too many rows rejected: 1 of 2 rows (50.0%), more than 1%; the file is held and nothing from it is applied
}

// A school information system delivers students and staff in two files,
// each with the required fields of its own schema.
func ExampleByName() {
	students, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Header: "Student ID", Role: csvmap.Key},
		{Name: "grade", Header: "Grade", Kind: csvmap.Enum, Values: []string{"K", "1", "2"}, Required: true},
	}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	staff, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Header: "Staff ID", Role: csvmap.Key},
		{Name: "email", Header: "Email", Kind: csvmap.Email, Required: true},
	}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	m, err := csvmap.NewByName(
		csvmap.Route{Pattern: "students*.csv", Mapper: students},
		csvmap.Route{Pattern: "staff.*", Mapper: staff},
	)
	if err != nil {
		log.Fatal(err)
	}
	for name, file := range map[string]string{
		"Students_2025.CSV": "Student ID;Grade\nS1;k\n",
		"staff.txt":         "Staff ID\tEmail\nT1\tteacher@school.example\n",
		"parents.csv":       "Parent ID\nP1\n",
	} {
		rr, err := m.NewReader(strings.NewReader(file), usersync.FileInfo{Name: name})
		if err != nil {
			fmt.Println(err)
			continue
		}
		rec, _ := rr.Read()
		fmt.Println(name, rec.Key, rec.Attrs)
	}
	// Unordered output:
	// Students_2025.CSV S1 {grade="K"}
	// staff.txt T1 {email="teacher@school.example"}
	// no schema for this file name: "parents.csv" matches none of "students*.csv", "staff.*"
}

// A groups file lists groups with their display names and parents: its
// reader returns no records, and is a usersync.GroupReader.
func ExampleFileKind() {
	m, err := csvmap.New(csvmap.Schema{File: csvmap.GroupsFile, Columns: []csvmap.Column{
		{Name: "id", Header: "Group ID", Role: csvmap.Key},
		{Name: csvmap.GroupName, Header: "Name"},
		{Name: csvmap.GroupParent, Header: "Parent"},
	}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	const file = "Group ID,Name,Parent\nstaff,All staff,\nnurses,Nurses,staff\nicu,ICU,wards\n"
	rr, err := m.NewReader(strings.NewReader(file), usersync.FileInfo{Name: "groups.csv"})
	if err != nil {
		log.Fatal(err)
	}
	for {
		_, err := rr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		fmt.Println("rejected:", err)
	}
	for _, g := range rr.(usersync.GroupReader).Groups() {
		fmt.Printf("%s %q parent=%q\n", g.ID, g.Name, g.Parent)
	}
	// Output:
	// rejected: groups.csv:4: column Parent: "wards": parent group is not in the file
	// staff "All staff" parent=""
	// nurses "Nurses" parent="staff"
}

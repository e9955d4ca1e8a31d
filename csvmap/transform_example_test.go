package csvmap_test

import (
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
)

// An HR export: names written "Last, First", status words of its own, and
// contractors who are not to be synced at all.
func ExampleTransform() {
	m, err := csvmap.New(csvmap.Schema{
		Columns: []csvmap.Column{
			{Name: "email", Header: "Work Email", Role: csvmap.Key, Kind: csvmap.Email, Fold: true},
			{Name: "username", Transforms: []csvmap.Transform{{Template: "{email}"}, {EmailLocal: true}}},
			{Name: "name", Header: "Employee", Transforms: []csvmap.Transform{{LastFirst: true}, {Case: csvmap.Title}}},
			{Name: "start", Header: "Hire Date", Transforms: []csvmap.Transform{{Date: []string{"1/2/2006"}}}},
			{Name: "status", Header: "Employment Status", Role: csvmap.Status, Transforms: []csvmap.Transform{{
				Rule: "hr-status", Reject: true,
				Map: map[string]string{"Active": "active", "On leave": "inactive", "Terminated": "inactive", "T": "inactive"},
			}}},
			{Name: "type", Header: "Worker Type", Role: csvmap.Ignore},
		},
		Filters: []csvmap.Filter{{Name: "contractors", Mode: csvmap.Exclude, Column: "type", Values: []string{"Contractor"}}},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	const file = "Work Email,Employee,Hire Date,Employment Status,Worker Type\n" +
		"Ann.Lee@example.com,\"LEE, ANN\",3/7/2019,Active,Employee\n" +
		"bob@example.com,\"Berg, Bob\",11/20/2021,On leave,Employee\n" +
		"cy@example.com,\"Ek, Cy\",1/2/2024,Active,Contractor\n" +
		"dan@example.com,\"Ek, Dan\",5/5/2015,Retired,Employee\n"
	rr, err := m.NewReader(strings.NewReader(file), usersync.FileInfo{Name: "hr.csv"})
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
		fmt.Println(rec.Key, rec.Attrs, "inactive:", rec.Inactive)
	}
	fmt.Println("out of scope:", rr.(usersync.FormatReader).Format().OutOfScope, rr.(usersync.ScopeReader).OutOfScope())
	// Output:
	// ann.lee@example.com {username="ann.lee" name="Ann Lee" start="2019-03-07"} inactive: false
	// bob@example.com {username="bob" name="Bob Berg" start="2021-11-20"} inactive: true
	// rejected: hr.csv:5: column Employment Status: "Retired": rule hr-status: value not in the map
	// out of scope: 1 [{cy@example.com contractors}]
}

// The SMARTFENSE-style preset: its template, which an administrator
// downloads to start from, and the description of its columns.
func ExampleSmartfense() {
	m, err := csvmap.New(csvmap.Smartfense(), nil)
	if err != nil {
		log.Fatal(err)
	}
	m.WriteTemplate(os.Stdout)
	fmt.Println()
	m.WriteDescription(os.Stdout)
	// Output:
	// Email,Username,First Name,Last Name,Language,Active,Manager Email,Groups
	// ann.lee@example.com,ann.lee,Ann,Lee,en,yes,bob.berg@example.com,"Sales, Buenos Aires"
	//
	// SMARTFENSE-style users
	//
	// Headers may come in any order and case; spaces, underscores and hyphens in them are ignored.
	// Columns not listed here are ignored.
	// Values are separated by commas, semicolons, tabs or pipes (|), whichever the header uses.
	// The file is in UTF-8 or UTF-16 (as Excel's "Unicode text"), with or without a byte order mark.
	//
	// Email (required; identifies the user)
	//     An email address, such as ann.lee@example.com.
	//     Compared without regard to case.
	//     The user's email address, which identifies the user.
	//     Also accepted as: Mail, E-mail.
	//     Example: ann.lee@example.com
	//
	// Username (optional)
	//     The name the user logs in with. When empty, the part of the email address before the @.
	//     Also accepted as: User.
	//     Example: ann.lee
	//
	// First Name (optional)
	//     The user's first name.
	//     Also accepted as: Name, Given Name.
	//     Example: Ann
	//
	// Last Name (optional)
	//     The user's last name.
	//     Also accepted as: Surname.
	//     Example: Lee
	//
	// Language (optional)
	//     The user's language, such as es, en or pt. When empty, the product's default language.
	//     Also accepted as: Lang.
	//     Example: en
	//
	// Active (optional; whether the user is active)
	//     1, true, yes, active or enabled (or empty) for an active user; 0, false, no, inactive or disabled for an inactive one.
	//     Whether the user is active: yes (or sí, 1, true, active) or no (0, false, inactive). When empty, active.
	//     Also accepted as: Enabled, Status.
	//     Example: yes
	//
	// Manager Email (optional)
	//     An email address, such as ann.lee@example.com.
	//     Compared without regard to case.
	//     The email address of the user's manager. A manager who is not a user of the product is not saved.
	//     Also accepted as: Manager.
	//     Example: bob.berg@example.com
	//
	// Groups (optional; the user's groups)
	//     Several values are separated by ",".
	//     The groups the user belongs to, separated by commas.
	//     Example: Sales, Buenos Aires
}

// A description says what the transforms and filters do.
func ExampleMapper_WriteDescription_transforms() {
	m, err := csvmap.New(csvmap.Schema{
		Columns: []csvmap.Column{
			{Name: "id", Role: csvmap.Key},
			{Name: "name", Transforms: []csvmap.Transform{{LastFirst: true}, {Case: csvmap.Title}}},
			{Name: "status", Role: csvmap.Status, Transforms: []csvmap.Transform{{Map: map[string]string{"A": "active", "T": "inactive", "Leave": "inactive"}, Reject: true}}},
			{Name: "type", Role: csvmap.Ignore},
		},
		Filters: []csvmap.Filter{{Name: "contractors", Mode: csvmap.Exclude, Column: "type", Values: []string{"C"}}},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	m.WriteDescription(os.Stdout)
	// Output:
	// Headers may come in any order and case; spaces, underscores and hyphens in them are ignored.
	// Columns not listed here are ignored.
	// Values are separated by commas, semicolons, tabs or pipes (|), whichever the header uses.
	// The file is in UTF-8 or UTF-16 (as Excel's "Unicode text"), with or without a byte order mark.
	// Rows where type is "C" are left out of the sync (rule contractors): they are counted, not imported, and not errors.
	//
	// id (required; identifies the user)
	//     Example: E1001
	//
	// name (optional)
	//     Rewritten before it is checked: "Last, First" written "First Last"; then in title case (Ann-Marie O'Neil).
	//     Example: example
	//
	// status (optional; whether the user is active)
	//     1, true, yes, active or enabled (or empty) for an active user; 0, false, no, inactive or disabled for an inactive one.
	//     Rewritten before it is checked: words mapped, in any case: "A" → "active", "Leave" → "inactive", "T" → "inactive"; any other value is refused.
	//     Example: active
	//
	// type (optional; read by the filters only)
}

package oneroster

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
)

// A File describes one file of a template bundle: the columns of the
// specification that the Mapper reads, in the specification's order.
type File struct {
	Name    string // manifest.csv, orgs.csv, ...
	Columns []Column
}

// A Column is a column of a template file.
type Column struct {
	Header      string
	Required    bool // the Mapper rejects a row without a value
	Description string
	Example     string
}

// Template returns the files of a bulk bundle of the version ("1.1" or
// "1.2") that the Mapper reads, with every column it reads or the
// specification requires, for a school's IT to start from (see
// File.WriteCSV and WriteDescription).
func Template(version string) ([]File, error) {
	if version != "1.1" && version != "1.2" {
		return nil, fmt.Errorf("oneroster: template version %q: 1.1 or 1.2", version)
	}
	status := []Column{
		{Header: "status", Description: "Empty, or active, in a bulk file; active or tobedeleted in a delta file, where it is required."},
		{Header: "dateLastModified", Description: "When the record last changed (ISO 8601, UTC). Required in a delta file.", Example: "2025-11-21T02:00:00.000Z"},
	}
	id := func(what, example string) Column {
		return Column{Header: "sourcedId", Required: true, Description: "The " + what + "'s identifier in the school information system, stable across exports.", Example: example}
	}
	with := func(cols ...Column) []Column {
		return append(append([]Column{cols[0]}, status...), cols[1:]...)
	}
	manifest := File{Name: "manifest.csv", Columns: []Column{
		{Header: "propertyName", Required: true, Description: "manifest.version (1.0), oneroster.version, and file.<name> for each file of the specification: bulk, delta or absent.", Example: "oneroster.version"},
		{Header: "value", Required: true, Example: version},
	}}
	orgs := File{Name: "orgs.csv", Columns: with(id("org", "s1"),
		Column{Header: "name", Required: true, Description: "The org's name: the display name of its group.", Example: "Riverside Elementary"},
		Column{Header: "type", Required: true, Description: "One of " + strings.Join(orgTypes, ", ") + ".", Example: "school"},
		Column{Header: "identifier", Description: "A human-readable identifier, such as a school number.", Example: "RE"},
		Column{Header: "parentSourcedId", Description: "The sourcedId of the parent org (a school's district): its group is the parent group."},
	)}
	classes := File{Name: "classes.csv", Columns: with(id("class", "k1"),
		Column{Header: "title", Required: true, Description: "The class's title: the display name of its group.", Example: "Math 4A"},
		Column{Header: "grades", Description: "Grades, separated by commas.", Example: "04"},
		Column{Header: "courseSourcedId", Description: "The class's course (courses.csv; required by the specification, not read).", Example: "c1"},
		Column{Header: "classCode", Example: "M4A"},
		Column{Header: "classType", Description: "homeroom or scheduled.", Example: "scheduled"},
		Column{Header: "location", Example: "Room 12"},
		Column{Header: "schoolSourcedId", Required: true, Description: "The org (orgs.csv) the class belongs to: its group is the parent group.", Example: "s1"},
		Column{Header: "termSourcedIds", Description: "The class's terms (academicSessions.csv; required by the specification, not read).", Example: "t1"},
	)}
	users := File{Name: "users.csv", Columns: with(id("user", "u1"),
		Column{Header: "enabledUser", Required: true, Description: "true, or false for a user who exists but may not sign in: deactivated.", Example: "true"},
	)}
	if version == "1.1" {
		users.Columns = append(users.Columns,
			Column{Header: "orgSourcedIds", Required: true, Description: "The user's orgs (orgs.csv), separated by commas: the user is a member of their groups.", Example: "s1"},
			Column{Header: "role", Required: true, Description: "One of " + strings.Join(userRoles11, ", ") + ".", Example: "teacher"})
	}
	users.Columns = append(users.Columns,
		Column{Header: "username", Required: true, Example: "alee"},
		Column{Header: "userIds", Description: "Other identifiers, as {type:id} (not read)."},
		Column{Header: "givenName", Required: true, Example: "Ann"},
		Column{Header: "familyName", Required: true, Example: "Lee"},
		Column{Header: "middleName"},
		Column{Header: "identifier", Description: "A human-readable identifier, such as a staff or student number.", Example: "T100"},
		Column{Header: "email", Description: "An email address.", Example: "ann.lee@riverside.example"},
		Column{Header: "sms", Description: "A mobile number for text messages."},
		Column{Header: "phone"},
		Column{Header: "agentSourcedIds", Description: "The user's guardians or students (not read)."},
		Column{Header: "grades", Description: "Grades, separated by commas."},
		Column{Header: "password", Description: "Not read: leave empty."})
	if version == "1.2" {
		users.Columns = append(users.Columns,
			Column{Header: "preferredGivenName"},
			Column{Header: "preferredFamilyName"},
			Column{Header: "primaryOrgSourcedId", Description: "The user's primary org (orgs.csv): the user is a member of its group.", Example: "s1"})
	}
	enrollments := File{Name: "enrollments.csv", Columns: with(id("enrollment", "e1"),
		Column{Header: "classSourcedId", Required: true, Description: "The class (classes.csv): the user is a member of its group.", Example: "k1"},
		Column{Header: "schoolSourcedId", Required: true, Description: "The class's school (orgs.csv).", Example: "s1"},
		Column{Header: "userSourcedId", Required: true, Description: "The user (users.csv).", Example: "u1"},
		Column{Header: "role", Required: true, Description: "One of " + strings.Join(enrollmentRoles, ", ") + ".", Example: "teacher"},
		Column{Header: "primary", Description: "true for a class's primary teacher.", Example: "true"},
		Column{Header: "beginDate", Example: "2025-08-25"},
		Column{Header: "endDate", Example: "2026-06-12"},
	)}
	files := []File{manifest, orgs, classes}
	if version == "1.2" {
		files = append(files, File{Name: "roles.csv", Columns: with(id("role", "r1"),
			Column{Header: "userSourcedId", Required: true, Description: "The user (users.csv).", Example: "u1"},
			Column{Header: "roleType", Required: true, Description: "primary or secondary: a user's role is that of its primary role.", Example: "primary"},
			Column{Header: "role", Required: true, Description: "One of " + strings.Join(userRoles12, ", ") + ".", Example: "teacher"},
			Column{Header: "beginDate"},
			Column{Header: "endDate"},
			Column{Header: "orgSourcedId", Required: true, Description: "The org (orgs.csv) of the role: the user is a member of its group.", Example: "s1"},
		)})
	}
	return append(files, users, enrollments), nil
}

// WriteCSV writes the file's header and one example row; for
// manifest.csv, the manifest of a bulk bundle of the template's files.
func (f File) WriteCSV(w io.Writer, version string) error {
	cw := csv.NewWriter(w)
	header := make([]string, len(f.Columns))
	example := make([]string, len(f.Columns))
	for i, c := range f.Columns {
		header[i], example[i] = c.Header, c.Example
	}
	cw.Write(header)
	if f.Name == "manifest.csv" {
		cw.Write([]string{"manifest.version", "1.0"})
		cw.Write([]string{"oneroster.version", version})
		for _, name := range []string{"orgs", "classes", "roles", "users", "enrollments"} {
			if name == "roles" && version != "1.2" {
				continue
			}
			cw.Write([]string{"file." + name, bulk})
		}
	} else {
		cw.Write(example)
	}
	cw.Flush()
	return cw.Error()
}

// WriteDescription writes a plain-text description of the template's
// files and columns, for a host's help pages.
func WriteDescription(w io.Writer, version string) error {
	files, err := Template(version)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "OneRoster %s CSV bundle: UTF-8, comma-separated, with a header row; the files may come as a folder or a zip.\n", version)
	fmt.Fprintln(bw, "manifest.csv says which files the bundle holds (bulk, delta or absent); each file it marks bulk or delta must be there, and no other.")
	for _, f := range files {
		fmt.Fprintf(bw, "\n%s\n", f.Name)
		for _, c := range f.Columns {
			need := "optional"
			if c.Required {
				need = "required"
			}
			fmt.Fprintf(bw, "    %s (%s)", c.Header, need)
			if c.Description != "" {
				fmt.Fprintf(bw, ": %s", c.Description)
			}
			if c.Example != "" {
				fmt.Fprintf(bw, " Example: %s", c.Example)
			}
			fmt.Fprintln(bw)
		}
	}
	return bw.Flush()
}

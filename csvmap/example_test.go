package csvmap_test

import (
	"fmt"
	"io"
	"log"
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

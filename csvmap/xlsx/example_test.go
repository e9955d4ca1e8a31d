package xlsx_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/csvmap/xlsx"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source/memsource"
)

// A customer uploads users.xlsx: the users on a sheet named Users, start
// dates formatted as dates, a department merged over the rows of its
// people, and a typo in one address.
func Example() {
	tmp, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	cm, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Header: "UniqueID", Role: csvmap.Key},
		{Name: "name", Header: "Name", Required: true},
		{Name: "email", Header: "Mail", Kind: csvmap.Email, Required: true},
		{Name: "start", Header: "Start", Kind: csvmap.Date},
		{Name: "department", Header: "Department"},
	}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	m, err := xlsx.New(cm, &xlsx.Options{Sheet: "Users", TempDir: tmp})
	if err != nil {
		log.Fatal(err)
	}

	drop := memsource.New()
	defer drop.Close()
	drop.Put("users.xlsx", customerWorkbook(), time.Now())
	directory := memsink.New()
	p := usersync.Pipeline{
		Source:     drop,
		Mapper:     m,
		Reconciler: reconcile.New(nil),
		Sink:       directory,
		TempDir:    tmp,
	}
	res, err := p.Run(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.Applied.Created, "created from", res.Files[0].Format.Encoding)
	for _, re := range res.Rejected {
		fmt.Println("rejected:", re)
	}
	bob, _ := directory.User("1002")
	fmt.Println(bob.Attrs)
	// Output:
	// succeeded 2 created from xlsx, sheet Users
	// rejected: users.xlsx: Users!C4: column Mail: "cy(at)example.com": invalid email address
	// {name="Bob Berg" email="bob@example.com" start="2024-12-31" department="Sales"}
}

// customerWorkbook writes the workbook the example's customer sends.
func customerWorkbook() []byte {
	f := excelize.NewFile()
	defer f.Close()
	f.SetSheetName("Sheet1", "Users")
	for i, row := range [][]any{
		{"UniqueID", "Name", "Mail", "Start", "Department"},
		{1001, "Ann Lee", "ann@example.com", time.Date(2025, 3, 9, 0, 0, 0, 0, time.UTC), "Sales"},
		{1002, "Bob Berg", "bob@example.com", time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)},
		{1003, "Cy Ek", "cy(at)example.com"},
	} {
		f.SetSheetRow("Users", fmt.Sprintf("A%d", i+1), &row)
	}
	iso := "yyyy-mm-dd"
	style, _ := f.NewStyle(&excelize.Style{CustomNumFmt: &iso})
	f.SetCellStyle("Users", "D2", "D4", style)
	f.MergeCell("Users", "E2", "E4")
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		log.Fatal(err)
	}
	return b.Bytes()
}

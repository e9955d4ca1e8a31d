package unpack_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"log"
	"time"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/decrypt/unpack"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source/memsource"
)

// A customer sends its staff gzipped, and its students in a zip: the
// Pipeline opens both, and reads each file of the zip with the schema its
// name routes it to.
func Example() {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte("id,name,email\nt1,Ann Berg,ann@school.example\n"))
	w.Close()
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	f, _ := zw.Create("students.csv")
	f.Write([]byte("id,name,email\ns1,Bo Ek,bo@school.example\ns2,Cy Dahl,cy@school.example\n"))
	zw.Close()

	src := memsource.New()
	src.Put("staff.csv.gz", gz.Bytes(), time.Now())
	src.Put("students.zip", zb.Bytes(), time.Now())

	schema, err := csvmap.New(csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Role: csvmap.Key},
		{Name: "name", Required: true},
		{Name: "email", Kind: csvmap.Email, Required: true},
	}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	mapper, err := csvmap.NewByName(
		csvmap.Route{Pattern: "staff*", Mapper: schema},
		csvmap.Route{Pattern: "students*.csv", Mapper: schema},
	)
	if err != nil {
		log.Fatal(err)
	}
	p := usersync.Pipeline{
		Source:     src,
		Unpacker:   unpack.New(nil),
		Mapper:     mapper,
		Reconciler: reconcile.New(nil),
		Sink:       memsink.New(),
	}
	res, err := p.Run(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range res.Files {
		fmt.Printf("%s: %d records\n", f.Name, f.Records)
		for _, m := range f.Members {
			fmt.Printf("  %s: %d records\n", m.Name, m.Records)
		}
	}
	// Output:
	// staff.csv.gz: 1 records
	// students.zip: 2 records
	//   students.zip/students.csv: 2 records
}

// A zip whose file is named to escape a folder is refused whole.
func ExampleNameError() {
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	zw.Create("../../etc/passwd")
	zw.Close()
	p, cleanup := usersync.NewPacked(bytes.NewReader(zb.Bytes()), usersync.FileInfo{Name: "bundle.zip", Size: int64(zb.Len())}, nil, "")
	defer cleanup()
	_, err := unpack.New(nil).Unpack(context.Background(), p)
	fmt.Println(err)
	// Output:
	// zip: unsafe or duplicate name in archive: "../../etc/passwd" is not a plain relative name (empty, '.' or '..' parts)
}

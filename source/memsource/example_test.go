package memsource_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"time"

	"github.com/usersync/usersync/source/memsource"
)

func Example() {
	ctx := context.Background()
	src := memsource.New()
	defer src.Close()

	// Put stands for the customer's nightly upload.
	modTime := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
	if err := src.Put("users.csv", []byte("id;name\n1;Åsa\n"), modTime); err != nil {
		log.Fatal(err)
	}

	files, err := src.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range files {
		fmt.Println(f.Name, f.Size, f.ModTime.Format(time.DateTime))
	}

	rc, err := src.Open(ctx, "users.csv")
	if err != nil {
		log.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(data))

	// After a successful run, archive the file: List no longer offers it.
	if err := src.Rename(ctx, "users.csv", "archive/2026-11-20/users.csv"); err != nil {
		log.Fatal(err)
	}
	files, err = src.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("files left:", len(files))
	// Output:
	// users.csv 15 2026-11-20 02:00:00
	// id;name
	// 1;Åsa
	// files left: 0
}

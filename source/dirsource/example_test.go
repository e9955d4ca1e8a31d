package dirsource_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/usersync/usersync/source/dirsource"
)

func Example() {
	dir, err := os.MkdirTemp("", "uploads")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// A finished upload, and one still being written under a hidden name.
	for name, data := range map[string]string{"users.csv": "id;name\n1;Åsa\n", ".groups.csv.part": "id;na"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			log.Fatal(err)
		}
	}

	ctx := context.Background()
	src, err := dirsource.New(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()

	files, err := src.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range files {
		fmt.Println(f.Name, f.Size)
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

	// After a successful run, archive the file; Rename makes the folder.
	if err := src.Rename(ctx, "users.csv", "archive/2026-11-20/users.csv"); err != nil {
		log.Fatal(err)
	}
	_, err = os.Stat(filepath.Join(dir, "archive", "2026-11-20", "users.csv"))
	fmt.Println("archived:", err == nil)
	// Output:
	// users.csv 15
	// id;name
	// 1;Åsa
	// archived: true
}

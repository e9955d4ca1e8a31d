package sftpsource_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/usersync/usersync/internal/sftptest"
	"github.com/usersync/usersync/source/sftpsource"
)

// Connect to the customer's server, trusting only the key known_hosts
// records for it, and read the file it holds. The server here is an
// in-process stand-in on 127.0.0.1.
func ExampleDial() {
	srv, err := sftptest.Start(nil)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	srv.Put("imports/users.csv", []byte("id,email\ne1,ann@example.com\n"), time.Now())
	knownHosts := filepath.Join(srv.Dir, "known_hosts") // ~/.ssh/known_hosts, or one per customer
	os.WriteFile(knownHosts, []byte(srv.KnownHostsLines()), 0o600)

	ctx := context.Background()
	src, err := sftpsource.Dial(ctx, sftpsource.Config{
		Addr:           srv.Addr,
		User:           "test",
		Password:       "secret",
		Folder:         "imports",
		KnownHostsFile: knownHosts,
	}, nil)
	if err != nil {
		panic(err)
	}
	defer src.Close()

	files, _ := src.List(ctx)
	for _, f := range files {
		fmt.Println(f.Name, f.Size, "bytes")
	}
	rc, _ := src.Open(ctx, "users.csv")
	data, _ := io.ReadAll(rc)
	fmt.Printf("%q, close: %v\n", data, rc.Close())
	// Output:
	// users.csv 28 bytes
	// "id,email\ne1,ann@example.com\n", close: <nil>
}

// CheckConfig checks an administrator's settings before they are saved,
// step by step, like a "Check connection" button.
func ExampleCheckConfig() {
	srv, err := sftptest.Start(nil)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	srv.Put("imports/users.csv", []byte("id\n1\n"), time.Now())

	results := sftpsource.CheckConfig(context.Background(), sftpsource.Config{
		Addr:                srv.Addr,
		User:                "test",
		Password:            "wrong",
		Folder:              "imports",
		HostKeyFingerprints: []string{srv.Fingerprint()},
	}, nil)
	for _, r := range results {
		status := "ok"
		if !r.OK() {
			status = "FAILED"
		}
		fmt.Printf("%-6s %s\n", status, strings.ReplaceAll(r.Name, srv.Addr, "SERVER"))
	}
	// Output:
	// ok     connect to SERVER
	// ok     host key of SERVER
	// FAILED log in as test
	// FAILED folder imports
}

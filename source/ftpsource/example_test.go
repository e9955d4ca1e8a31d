package ftpsource_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/usersync/usersync/internal/ftptest"
	"github.com/usersync/usersync/source"
	"github.com/usersync/usersync/source/ftpsource"
)

// Connect to the customer's FTPS server, trusting its self-signed
// certificate by its fingerprint, and read the file it holds. The server
// here is an in-process stand-in on 127.0.0.1.
func ExampleDial() {
	srv, err := ftptest.Start(nil)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	srv.Put("imports/users.csv", []byte("id,email\ne1,ann@example.com\n"), time.Now())

	ctx := context.Background()
	src, err := ftpsource.Dial(ctx, ftpsource.Config{
		Host:              srv.Addr, // "ftp.example.com" or "ftp.example.com:2121"
		User:              "test",
		Password:          "secret",
		Dir:               "/imports",
		CertificateSHA256: []string{srv.Fingerprint()}, // as openssl x509 -fingerprint -sha256 prints it
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

// SMARTFENSE-style settings: host, user, password, the file's absolute
// path and "use TLS", wrapped with the pickup rules: take the file once
// it has not changed for a minute, delete it after success.
func ExampleConfig_file() {
	srv, err := ftptest.Start(nil)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	srv.Put("imports/users.csv", []byte("id\n1\n"), time.Now().Add(-time.Hour))

	src, err := ftpsource.Dial(context.Background(), ftpsource.Config{
		Host:     srv.Addr,
		User:     "test",
		Password: "secret",
		File:     "/imports/users.csv",
		TLS:      ftpsource.Explicit, // the default: AUTH TLS
		RootCAs:  srv.CertPool(),     // the customer's CA; nil for the system's
	}, nil)
	if err != nil {
		panic(err)
	}
	picker, err := source.Pickup(src, &source.PickupOptions{AfterSuccess: source.Delete})
	if err != nil {
		panic(err)
	}
	defer picker.Close()
	files, _ := picker.List(context.Background())
	fmt.Println(len(files), files[0].Name)
	// Output:
	// 1 users.csv
}

// CheckConfig checks an administrator's settings before they are saved,
// step by step, like a "Check connection" button.
func ExampleCheckConfig() {
	srv, err := ftptest.Start(nil)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	srv.Put("imports/users.csv", []byte("id\n1\n"), time.Now())

	results := ftpsource.CheckConfig(context.Background(), ftpsource.Config{
		Host:     srv.Addr,
		User:     "test",
		Password: "secret",
		Dir:      "imports",
		// No RootCAs and no pin: the self-signed certificate is refused.
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
	// FAILED TLS (explicit)
	// FAILED log in as test
	// FAILED folder imports
}

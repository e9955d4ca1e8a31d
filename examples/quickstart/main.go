// Command quickstart runs two nightly directory syncs end to end, on embedded
// sample files and in-memory parts, with nothing to install:
//
//	go run ./examples/quickstart
//
// Night 1: the customer drops users.csv (Cosafe's layout) into a local
// folder; the sync creates eight users and two groups. Night 2: a changed
// file arrives; the sync updates a title and a membership, creates a new
// hire, deactivates the user who left, and rejects a row with a bad email,
// naming its line, without deactivating that user. A consultant added by hand
// is never touched.
//
// The code below is the whole integration: a Source, a Mapper, a Reconciler,
// a Sink and a Reporter, wired into a usersync.Pipeline.
package main

import (
	"context"
	"embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/reconcile"
	"github.com/usersync/usersync/report"
	"github.com/usersync/usersync/sink/memsink"
	"github.com/usersync/usersync/source/dirsource"
)

//go:embed testdata/day1.csv testdata/day2.csv
var samples embed.FS

// schema maps Cosafe's columns to the attributes the product stores.
var schema = csvmap.Schema{Columns: []csvmap.Column{
	{Name: "uniqueid", Header: "UniqueID", Role: csvmap.Key},
	{Name: "name", Header: "Name", Required: true},
	{Name: "email", Header: "Mail", Kind: csvmap.Email, Required: true},
	{Name: "title", Header: "Title"},
	{Name: "phone", Header: "TelephoneNumber"},
	{Name: "groups", Header: "Groups", Role: csvmap.Groups},
}}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	// The folder the customer uploads to (an SFTP drop box in production).
	drop, err := os.MkdirTemp("", "usersync-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(drop)
	src, err := dirsource.New(drop, nil)
	if err != nil {
		return err
	}
	defer src.Close()

	mapper, err := csvmap.New(schema, nil)
	if err != nil {
		return err
	}

	// The product's user directory, with a consultant an administrator
	// added by hand: the sync must never touch her.
	directory := memsink.New()
	directory.PutUser(usersync.Record{Key: "consultant-ines", Attrs: usersync.NewAttrs(
		"name", "Ines Vidal (added by hand)", "email", "ines@consulting.example")})

	p := usersync.Pipeline{
		Source:     src,
		Mapper:     mapper,
		Reconciler: reconcile.New(nil), // deactivate leavers; hold mass removals
		Sink:       directory,
		Reporter:   report.Text(out),
	}
	for night, sample := range []string{"day1.csv", "day2.csv"} {
		fmt.Fprintf(out, "\n=== Night %d: the customer uploads %s as users.csv\n\n", night+1, sample)
		if err := deliver(drop, sample); err != nil {
			return err
		}
		// Rejected rows are not an error: the run succeeds for every good row.
		if _, err := p.Run(ctx); err != nil {
			return err
		}
		printDirectory(out, directory)
	}
	return nil
}

// deliver puts a sample into the drop folder, as the customer's upload would.
func deliver(drop, sample string) error {
	data, err := samples.ReadFile("testdata/" + sample)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(drop, "users.csv"), data, 0o600)
}

func printDirectory(out io.Writer, d *memsink.Sink) {
	users, _ := d.Snapshot()
	fmt.Fprintf(out, "\nThe directory now:\n")
	for _, u := range users {
		state := "active"
		if u.Inactive {
			state = "inactive"
		}
		owner := "sync"
		if !u.Managed {
			owner = "by hand"
		}
		line := fmt.Sprintf("  %-16s %-28s %-15s %-8s %-7s %s", u.Key, u.Attrs.Value("name"),
			u.Attrs.Value("title"), state, owner, strings.Join(u.Groups, "; "))
		fmt.Fprintln(out, strings.TrimRight(line, " "))
	}
}

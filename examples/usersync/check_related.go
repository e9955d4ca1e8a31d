package main

import (
	"fmt"

	"github.com/usersync/usersync"
)

// listsGroups describes the groups a groups file lists, which its reader
// returns instead of records; "" for other files.
func listsGroups(rr usersync.RecordReader) string {
	gr, ok := rr.(usersync.GroupReader)
	if !ok || len(gr.Groups()) == 0 {
		return ""
	}
	gs := gr.Groups()
	return fmt.Sprintf("a groups file: %d groups, the first %q named %q", len(gs), gs[0].ID, gs[0].Name)
}

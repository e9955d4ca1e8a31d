package oneroster

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/usersync/usersync"
)

// The indexes of users and classes are dropped once the last file that
// refers to them is read: enrollments.csv, or users.csv when the run reads
// no enrollments.
func TestIndexesDroppedAfterLastReference(t *testing.T) {
	files := loadDir(t, "bulk-1.1")
	for _, noEnrollments := range []bool{false, true} {
		m := mustNew(t, &Options{NoEnrollments: noEnrollments})
		var infos []usersync.FileInfo
		for name := range files {
			infos = append(infos, usersync.FileInfo{Name: name})
		}
		slices.SortFunc(infos, func(a, b usersync.FileInfo) int { return strings.Compare(a.Name, b.Name) })
		ordered, run, err := m.Begin(infos)
		if err != nil {
			t.Fatal(err)
		}
		b := run.(*bundle)
		for _, f := range ordered {
			rr, err := run.NewReader(strings.NewReader(files[f.Name]), f)
			if err != nil {
				t.Fatal(err)
			}
			for {
				if _, err := rr.Read(); err == io.EOF {
					break
				}
			}
			name, _ := specName(f.Name)
			held := b.users.ents != nil || b.classes != nil
			switch {
			case name == "classes" && b.classes == nil:
				t.Errorf("NoEnrollments %v: no classes held after classes.csv", noEnrollments)
			case name == "users" && !noEnrollments && b.users.ents == nil:
				t.Errorf("users dropped after users.csv, before enrollments.csv")
			case name == "users" && noEnrollments && held:
				t.Errorf("NoEnrollments: indexes held after users.csv")
			case name == "enrollments" && held:
				t.Errorf("indexes held after enrollments.csv")
			}
		}
	}
}

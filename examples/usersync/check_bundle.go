package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/source"
)

// checkBundle checks the files of a bundle, such as a OneRoster one, whose
// files refer to each other: it begins a run over them as the Pipeline
// would, and reads each file to its end in the bundle's order, since a row
// of one can only be mapped once the files before it were read. It reports
// each file's records and rejected rows, with the first rejection.
func (a *app) checkBundle(ctx context.Context, cs *checks, picker *source.Picker, dec usersync.Decryptor, files []usersync.FileInfo, bm usersync.BundleMapper) {
	ordered, m, err := bm.Begin(files)
	if err != nil {
		cs.add("mapping", usersync.CheckResult{Name: "bundle", Err: err})
		return
	}
	for _, f := range ordered {
		if !a.checkBundleFile(ctx, cs, picker, dec, m, f) {
			cs.skip("mapping", "the files after "+f.Name, "they refer to it")
			return
		}
	}
}

// checkBundleFile reads one file of a bundle to its end, and reports
// whether the bundle's next files can be checked.
func (a *app) checkBundleFile(ctx context.Context, cs *checks, picker *source.Picker, dec usersync.Decryptor, m usersync.Mapper, f usersync.FileInfo) bool {
	rc, err := picker.Open(ctx, f.Name)
	if err != nil {
		cs.add("file", usersync.CheckResult{Name: "open " + f.Name, Err: err})
		return false
	}
	defer rc.Close()
	// A bundle sent as a zip is begun with the zip's files when the
	// layers open it (check_unpack.go).
	l := a.layers(ctx, cs, dec, true, func(r io.Reader, f usersync.FileInfo, m usersync.Mapper) bool {
		return a.checkBundleMapped(cs, r, f, m)
	})
	return l.open(rc, f, layerChain{mapper: m})
}

// checkBundleMapped reads r, the plain content of one file of a bundle, to
// its end, and reports whether the bundle's next files can be checked.
func (a *app) checkBundleMapped(cs *checks, r io.Reader, f usersync.FileInfo, m usersync.Mapper) bool {
	name := "file " + f.Name + " of the bundle"
	rr, err := m.NewReader(r, f)
	if err != nil {
		cs.add("mapping", usersync.CheckResult{Name: name, Err: err})
		return false
	}
	var records, rejected int
	var first *usersync.RowError
	for {
		_, err := rr.Read()
		if err == io.EOF {
			break
		}
		var re *usersync.RowError
		if errors.As(err, &re) {
			if first == nil {
				first = re
			}
			rejected++
			continue
		}
		if err != nil {
			cs.add("mapping", usersync.CheckResult{Name: name, Err: err})
			return false
		}
		records++
	}
	detail := fmt.Sprintf("%d records", records)
	if fr, ok := rr.(usersync.FormatReader); ok && fr.Format().Skipped > 0 {
		detail += fmt.Sprintf(", %d rows out of scope", fr.Format().Skipped)
	}
	if gr, ok := rr.(usersync.GroupReader); ok {
		detail += fmt.Sprintf(", %d groups", len(gr.Groups()))
	}
	pr, part := rr.(usersync.PartReader)
	switch {
	case records == 0 && !(part && pr.Part()):
		cs.add("mapping", usersync.CheckResult{Name: name, Err: fmt.Errorf("%s: a run would fail: %w", detail, usersync.ErrNoRecords)})
	case rejected > 0:
		cs.warn("mapping", name, detail, fmt.Sprintf("%d rows rejected, the first: %s; a run applies the good rows and lists the rejected ones", rejected, first))
	default:
		cs.add("mapping", usersync.CheckResult{Name: name, Detail: detail})
	}
	return true
}

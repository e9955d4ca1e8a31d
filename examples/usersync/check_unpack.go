package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/usersync/usersync"
)

// checkNesting bounds how deep check follows containers, as the Pipeline
// does whatever the Unpacker allows.
const checkNesting = 16

// A layers opens a delivered file's content for check as a run does: the
// containers the config's Unpacker opens (gzip, zip), with its limits, and
// the Decryptor at the first layer that is not a container, in whatever
// order the customer chose (users.zip.pgp, users.csv.pgp.gz). Each plain
// file found is handed to leaf, under the name a run gives it
// ("bundle.zip/users.csv").
type layers struct {
	a   *app
	ctx context.Context
	cs  *checks
	up  usersync.Unpacker // nil when the config turns unpacking off
	dec usersync.Decryptor
	// bundle is set when the files are a bundle's: a file that fails
	// stops the check of those after it, and a zip holding the bundle
	// begins its BundleMapper with the zip's files.
	bundle bool
	// leaf checks one plain file with the Mapper of its chain, and reports
	// whether the check may go on to the next files.
	leaf func(r io.Reader, f usersync.FileInfo, m usersync.Mapper) bool
}

// A layerChain is what lies above one layer of a file.
type layerChain struct {
	containers []string // formats of the containers opened, outermost first
	decrypted  bool     // the Decryptor had its turn
	mapper     usersync.Mapper
}

func (a *app) layers(ctx context.Context, cs *checks, dec usersync.Decryptor, bundle bool,
	leaf func(io.Reader, usersync.FileInfo, usersync.Mapper) bool) *layers {
	return &layers{a: a, ctx: ctx, cs: cs, up: a.unpacker(), dec: dec, bundle: bundle, leaf: leaf}
}

// open checks in, the content of file f, through its layers, and reports
// whether the check may go on.
func (l *layers) open(in io.Reader, f usersync.FileInfo, ch layerChain) bool {
	if l.up != nil {
		pk, cleanup := usersync.NewPacked(in, f, ch.containers, string(l.a.cfg.TempDir))
		defer cleanup()
		up, err := l.up.Unpack(l.ctx, pk)
		if err != nil {
			l.cs.add("file", usersync.CheckResult{Name: "unpack " + f.Name, Err: err})
			l.skipMapping(f, "the file could not be unpacked")
			return false
		}
		if up != nil {
			return l.unpacked(up, f, ch)
		}
		in = pk
	}
	if l.dec != nil && !ch.decrypted {
		plain, err := l.dec.Decrypt(l.ctx, in, f)
		if err != nil {
			l.cs.add("decryption", usersync.CheckResult{Name: "decrypt " + f.Name, Err: err})
			l.skipMapping(f, "the file could not be decrypted")
			return false
		}
		ch.decrypted = true
		detail := "plaintext, passed through"
		if dr, ok := plain.(usersync.DecryptedReader); ok && dr.DecryptedBy() != "" {
			detail = "decrypts with " + dr.DecryptedBy()
		}
		l.cs.add("decryption", usersync.CheckResult{Name: "decrypt " + f.Name, Detail: detail})
		if plain != in && l.up != nil {
			return l.open(plain, f, ch) // the plaintext may be a container: users.csv.gz.pgp
		}
		in = plain
	}
	return l.leaf(in, f, ch.mapper)
}

// skipMapping notes that a file's mapping could not be checked; a bundle's
// caller says so of the files after it instead.
func (l *layers) skipMapping(f usersync.FileInfo, why string) {
	if !l.bundle {
		l.cs.skip("mapping", "header line of "+f.Name, why)
	}
}

// unpacked checks what a container held: the content of a compressed
// file, or each file of an archive.
func (l *layers) unpacked(up *usersync.Unpacked, f usersync.FileInfo, ch layerChain) bool {
	name := "unpack " + f.Name
	if len(ch.containers) >= checkNesting {
		l.cs.add("file", usersync.CheckResult{Name: name, Err: fmt.Errorf("%w: containers nested over %d deep", usersync.ErrTooLarge, checkNesting)})
		return false
	}
	ch.containers = append(slices.Clip(ch.containers), up.Format)
	if up.Stream != nil {
		l.cs.add("file", usersync.CheckResult{Name: name, Detail: up.Format + ": its content is read as " + f.Name})
		return l.open(up.Stream, f, ch)
	}
	if up.Archive == nil {
		l.cs.add("file", usersync.CheckResult{Name: name, Err: fmt.Errorf("the Unpacker returned a %q container with neither Stream nor Archive", up.Format)})
		return false
	}
	detail := up.Format + " archive"
	if oa, ok := up.Archive.(usersync.OrderedArchive); ok {
		var names []string
		for _, m := range oa.Files() {
			names = append(names, m.Name)
		}
		detail = fmt.Sprintf("%s archive of %d files: %s", up.Format, len(names), strings.Join(names, ", "))
	}
	if len(up.Skipped) > 0 {
		detail += fmt.Sprintf("; %d left out (what macOS adds): %s", len(up.Skipped), strings.Join(up.Skipped, ", "))
	}
	m, err := usersync.BeginArchiveBundle(ch.mapper, up.Archive, f.Name)
	if err != nil {
		l.cs.add("file", usersync.CheckResult{Name: name, Detail: detail, Err: err})
		return false
	}
	ch.mapper = m
	l.cs.add("file", usersync.CheckResult{Name: name, Detail: detail})
	seen := make(map[string]bool)
	members := 0
	for {
		if err := l.ctx.Err(); err != nil {
			l.cs.add("file", usersync.CheckResult{Name: name, Err: err})
			return false
		}
		mi, mr, err := up.Archive.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			l.cs.add("file", usersync.CheckResult{Name: name, Err: err})
			return false
		}
		if err := usersync.CheckMemberName(mi.Name, seen); err != nil {
			l.cs.add("file", usersync.CheckResult{Name: name, Err: err})
			return false
		}
		members++
		m := usersync.FileInfo{Name: f.Name + "/" + mi.Name, Size: mi.Size, ModTime: mi.ModTime}
		if !l.open(mr, m, ch) {
			return false
		}
	}
	if members == 0 {
		l.cs.add("file", usersync.CheckResult{Name: name, Err: fmt.Errorf("%w: the %s archive holds no file: a run would fail", usersync.ErrNoRecords, up.Format)})
		return false
	}
	return true
}

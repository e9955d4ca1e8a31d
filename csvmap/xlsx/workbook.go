package xlsx

import (
	"archive/zip"
	"bufio"
	"bytes"
	"cmp"
	"compress/flate"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/richardlehane/mscfb"
	"github.com/xuri/excelize/v2"

	"github.com/usersync/usersync"
)

// oleMagic starts an OLE compound file: an encrypted workbook, or an Excel
// 97-2003 .xls.
var oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// A workbook is a workbook being read: its private temporary directory
// (which holds the spooled file and excelize's unzipped parts) and the
// excelize file.
type workbook struct {
	dir  string
	file *excelize.File
	rows *excelize.Rows
}

// close closes the workbook and removes its directory. It is safe to call
// more than once.
func (w *workbook) close() error {
	var err error
	if w.rows != nil {
		w.rows.Close()
		w.rows = nil
	}
	if w.file != nil {
		err = w.file.Close()
		w.file = nil
	}
	if w.dir != "" {
		if rerr := os.RemoveAll(w.dir); err == nil {
			err = rerr
		}
		w.dir = ""
	}
	return err
}

// openWorkbook spools r, checks it, and returns a reader of its sheet.
func (m *Mapper) openWorkbook(r io.Reader, f usersync.FileInfo) (_ usersync.RecordReader, err error) {
	dir, err := os.MkdirTemp(m.opts.TempDir, "usersync-xlsx-*")
	if err != nil {
		return nil, err
	}
	w := &workbook{dir: dir}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	name := filepath.Join(dir, "book.xlsx")
	if err := m.spool(r, name); err != nil {
		return nil, err
	}
	sheet, err := m.check(name)
	if err != nil {
		return nil, err
	}
	if sheet.inline {
		if name, err = inlineStrings(name, dir, sheet); err != nil {
			return nil, err
		}
	}
	if err := m.open(w, name, sheet); err != nil {
		return nil, err
	}
	src := &source{rows: w.rows, sheet: sheet, headerRow: m.opts.HeaderRow, ref: quoteSheet(sheet.name) + "!"}
	rr, err := m.csv.NewRowReader(src, f)
	if err != nil {
		return nil, err
	}
	rd := &reader{rr: rr, w: w, sheet: sheet.name}
	// A reader dropped before its end (a run cancelled mid-file) leaves
	// no files behind: the cleanup removes them once it is unreachable.
	rd.cleanup = runtime.AddCleanup(rd, func(w *workbook) { w.close() }, w)
	return rd, nil
}

// open opens the spooled workbook with excelize, and the sheet's rows.
func (m *Mapper) open(w *workbook, name string, sheet *sheetInfo) (err error) {
	defer recoverTo(&err)
	w.file, err = excelize.OpenFile(name, excelize.Options{
		UnzipSizeLimit:    m.opts.MaxUnzippedBytes,
		UnzipXMLSizeLimit: min(inMemoryBytes, m.opts.MaxUnzippedBytes),
		TmpDir:            w.dir,
		ShortDatePattern:  cmp.Or(m.opts.DateFormat, "yyyy-mm-dd"),
	})
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &corrupt):
		return fmt.Errorf("%w: %w", ErrDamaged, err)
	case err != nil:
		return fmt.Errorf("%w: %w", ErrNotWorkbook, err)
	}
	// excelize has unzipped what it reads: the spooled file is no longer
	// needed.
	if err := os.Remove(name); err != nil {
		return err
	}
	if w.rows, err = w.file.Rows(sheet.name); err != nil {
		return fmt.Errorf("sheet %s: %w", quoteSheet(sheet.name), err)
	}
	return nil
}

// spool copies r to the file name, up to MaxFileBytes.
func (m *Mapper) spool(r io.Reader, name string) error {
	out, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, io.LimitReader(r, m.opts.MaxFileBytes+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return err
	case n > m.opts.MaxFileBytes:
		return fmt.Errorf("%w: over %d bytes (Options.MaxFileBytes)", ErrTooLarge, m.opts.MaxFileBytes)
	}
	return nil
}

// A sheetInfo is the sheet to read and what a pass over its XML found.
type sheetInfo struct {
	name    string
	part    string  // its path in the zip
	lastRow int     // the number of its last <row>, 0 if its rows are not numbered
	merges  []merge // its merged cells, in the order of their first row
	// inline is set when the shared string table is too large for
	// excelize to hold in memory: the sheet is rewritten with its strings
	// inline (see inlineStrings).
	inline bool
}

// maxMerges bounds the merged ranges kept for a sheet.
const maxMerges = 100_000

// A merge is a merged range of cells, 1-based and inclusive.
type merge struct {
	col1, row1, col2, row2 int
	value                  string // of its top left cell, once read
}

// check checks the spooled workbook before excelize opens it: its kind,
// its parts against the limits, and the XML of the sheet to read, which it
// also finds. excelize alone would read an encrypted file into memory whole,
// hold any part but worksheets and shared strings in memory whatever its
// size, and end a sheet whose XML breaks off as if it had no more rows.
func (m *Mapper) check(name string) (*sheetInfo, error) {
	if err := checkKind(name); err != nil {
		return nil, err
	}
	zr, err := zip.OpenReader(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	defer zr.Close()
	if err := m.checkParts(&zr.Reader); err != nil {
		return nil, err
	}
	sheet, err := m.findSheet(&zr.Reader)
	if err != nil {
		return nil, err
	}
	if err := scanSheet(&zr.Reader, sheet); err != nil {
		return nil, err
	}
	if sheet.inline, err = m.countStrings(&zr.Reader); err != nil {
		return nil, err
	}
	return sheet, nil
}

// inlineAbove is the size of a shared string table above which the sheet
// is rewritten with its strings inline: the size above which excelize does
// not hold the table in memory. Tests lower it.
var inlineAbove uint64 = inMemoryBytes

// sharedStringsPart is where excelize reads the shared string table.
const sharedStringsPart = "xl/sharedstrings.xml"

// countStrings bounds the shared string table of a workbook when it is too
// large to be held in memory, and reports whether it is: inlineStrings then
// keeps an index of 8 bytes a string, however short the strings are.
func (m *Mapper) countStrings(zr *zip.Reader) (large bool, err error) {
	for _, p := range zr.File {
		if partName(p) != sharedStringsPart || p.UncompressedSize64 <= inlineAbove {
			continue
		}
		rc, err := p.Open()
		if err != nil {
			return true, fmt.Errorf("%w: the shared strings: %w", ErrDamaged, err)
		}
		defer rc.Close()
		n := 0
		err = eachTag(rc, func(name string, _ []byte) error {
			if name == "si" {
				if n++; n > m.opts.MaxSharedStrings {
					return fmt.Errorf("%w: over %d shared strings (Options.MaxSharedStrings)", ErrTooLarge, m.opts.MaxSharedStrings)
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, ErrTooLarge) {
			err = fmt.Errorf("%w: the shared strings: %w", ErrDamaged, err)
		}
		return true, err
	}
	return false, nil
}

// eachTag calls fn with the local name and the attributes of each tag of
// the XML in r, without parsing it: a tag's first tagPeek bytes at most.
func eachTag(r io.Reader, fn func(name string, attrs []byte) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		_, err := br.ReadSlice('<')
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		}
		tag, _ := br.Peek(tagPeek)
		if end := bytes.IndexByte(tag, '>'); end >= 0 {
			tag = tag[:end]
		}
		if err := fn(tagName(tag)); err != nil {
			return err
		}
	}
}

// checkKind fails a file that is not a zip, telling an encrypted workbook
// and an .xls from other files.
func checkKind(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, len(oleMagic))
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case n == 0:
		return fmt.Errorf("%w: the file is empty (%w)", ErrNotWorkbook, usersync.ErrNoRecords)
	case bytes.Equal(head, oleMagic):
		doc, err := mscfb.New(f)
		if err != nil {
			return fmt.Errorf("%w: an OLE compound file that cannot be read: %w", ErrNotWorkbook, err)
		}
		for e, err := doc.Next(); err == nil; e, err = doc.Next() {
			if e.Name == "EncryptionInfo" || e.Name == "EncryptedPackage" {
				return ErrPasswordProtected
			}
		}
		return fmt.Errorf("%w: an Excel 97-2003 workbook (.xls) or another OLE file; save it as .xlsx", ErrNotWorkbook)
	case !bytes.HasPrefix(head, []byte("PK")):
		return fmt.Errorf("%w: the file is not a zip", ErrNotWorkbook)
	}
	return nil
}

// checkParts checks the parts' number and sizes, as the zip declares them;
// archive/zip fails a part that unzips to more than it declares.
func (m *Mapper) checkParts(zr *zip.Reader) error {
	if len(zr.File) > m.opts.MaxParts {
		return fmt.Errorf("%w: %d parts, over the limit of %d (Options.MaxParts)", ErrTooLarge, len(zr.File), m.opts.MaxParts)
	}
	var total uint64
	for _, p := range zr.File {
		size := p.UncompressedSize64
		total += size
		if total > uint64(m.opts.MaxUnzippedBytes) {
			return fmt.Errorf("%w: over %d bytes unzipped (Options.MaxUnzippedBytes)", ErrTooLarge, m.opts.MaxUnzippedBytes)
		}
		if size > uint64(m.opts.MaxPartBytes) && !onDisk(p.Name) {
			return fmt.Errorf("%w: part %q is %d bytes unzipped, over the limit of %d (Options.MaxPartBytes)",
				ErrTooLarge, cut(p.Name, 64), size, m.opts.MaxPartBytes)
		}
	}
	return nil
}

// onDisk reports whether excelize unzips the part to a temporary file
// when it is large: worksheets and the shared string table.
func onDisk(name string) bool {
	n := strings.ToLower(strings.ReplaceAll(name, "\\", "/"))
	return strings.HasPrefix(n, "xl/worksheets/sheet") || n == "xl/sharedstrings.xml"
}

// The parts of the package that lead to the sheets, as excelize finds them.
type (
	xmlRels struct {
		Rels []struct {
			ID     string `xml:"Id,attr"`
			Type   string `xml:"Type,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	xmlWorkbook struct {
		Sheets []struct {
			Name string `xml:"name,attr"`
			ID   string `xml:"http://schemas.openxmlformats.org/officeDocument/2006/relationships id,attr"`
		} `xml:"sheets>sheet"`
	}
)

// findSheet finds the sheet to read and its part.
func (m *Mapper) findSheet(zr *zip.Reader) (*sheetInfo, error) {
	parts := make(map[string]*zip.File, len(zr.File))
	for _, p := range zr.File {
		parts[strings.ToLower(strings.ReplaceAll(p.Name, "\\", "/"))] = p
	}
	var root xmlRels
	if err := readXMLPart(parts, "_rels/.rels", &root); err != nil {
		return nil, err
	}
	wbPath := ""
	for _, r := range root.Rels {
		if strings.HasSuffix(r.Type, "/officeDocument") {
			wbPath = strings.TrimPrefix(r.Target, "/")
		}
	}
	if wbPath == "" {
		return nil, fmt.Errorf("%w: the zip names no workbook", ErrNotWorkbook)
	}
	var wb xmlWorkbook
	if err := readXMLPart(parts, wbPath, &wb); err != nil {
		return nil, err
	}
	var rels xmlRels
	if err := readXMLPart(parts, path.Join(path.Dir(wbPath), "_rels", path.Base(wbPath)+".rels"), &rels); err != nil {
		return nil, err
	}
	if len(wb.Sheets) == 0 {
		return nil, fmt.Errorf("%w: the workbook has no sheets", ErrNotWorkbook)
	}
	i := 0
	if m.opts.Sheet != "" {
		i = -1
		names := make([]string, len(wb.Sheets))
		for j, s := range wb.Sheets {
			names[j] = quoteSheet(s.Name)
			if i < 0 && strings.EqualFold(s.Name, m.opts.Sheet) {
				i = j
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("%w %s: the workbook has %s", ErrNoSheet, quoteSheet(m.opts.Sheet), strings.Join(names, ", "))
		}
	}
	s := wb.Sheets[i]
	for _, r := range rels.Rels {
		if r.ID != s.ID {
			continue
		}
		part := strings.TrimPrefix(r.Target, "/")
		if !strings.HasPrefix(r.Target, "/") {
			part = path.Join(path.Dir(wbPath), r.Target)
		}
		if !strings.HasPrefix(strings.ToLower(part), "xl/worksheets/sheet") {
			return nil, fmt.Errorf("%w: sheet %s is not a worksheet (a chart sheet?)", ErrNoSheet, quoteSheet(s.Name))
		}
		if _, ok := parts[strings.ToLower(part)]; !ok {
			break
		}
		return &sheetInfo{name: s.Name, part: strings.ToLower(part)}, nil
	}
	return nil, fmt.Errorf("%w: sheet %s has no part in the zip", ErrDamaged, quoteSheet(s.Name))
}

// readXMLPart decodes the part name, which MaxPartBytes bounds, into v.
func readXMLPart(parts map[string]*zip.File, name string, v any) error {
	p, ok := parts[strings.ToLower(name)]
	if !ok {
		return fmt.Errorf("%w: part %q is missing", ErrNotWorkbook, cut(name, 64))
	}
	rc, err := p.Open()
	if err != nil {
		return fmt.Errorf("%w: part %q: %w", ErrDamaged, cut(name, 64), err)
	}
	defer rc.Close()
	if err := xml.NewDecoder(rc).Decode(v); err != nil {
		if errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) {
			return fmt.Errorf("%w: part %q: %w", ErrDamaged, cut(name, 64), err)
		}
		return fmt.Errorf("%w: part %q: %w", ErrNotWorkbook, cut(name, 64), err)
	}
	return nil
}

// tagPeek is how much of a tag scanSheet looks at: a <row> tag's r
// attribute and a <mergeCell>'s ref come early in it.
const tagPeek = 512

// scanSheet reads the sheet's XML once, without parsing it, to check that
// it unzips whole and ends with its root element, and to find the number of
// its last row and its merged cells. excelize's row reader ends a sheet
// whose XML breaks off as if it had no more rows; the reader compares the
// rows it got with lastRow.
func scanSheet(zr *zip.Reader, s *sheetInfo) error {
	var part *zip.File
	for _, p := range zr.File {
		if strings.ToLower(strings.ReplaceAll(p.Name, "\\", "/")) == s.part {
			part = p
		}
	}
	rc, err := part.Open()
	if err != nil {
		return fmt.Errorf("%w: sheet %s: %w", ErrDamaged, quoteSheet(s.name), err)
	}
	defer rc.Close()
	ended := false
	err = eachTag(rc, func(name string, attrs []byte) error {
		ended = name == "/worksheet"
		switch name {
		case "row":
			if n, err := strconv.Atoi(attr(attrs, "r")); err == nil {
				s.lastRow = n
			}
		case "mergeCell":
			if len(s.merges) >= maxMerges {
				return fmt.Errorf("%w: sheet %s has over %d merged ranges", ErrTooLarge, quoteSheet(s.name), maxMerges)
			}
			if mg, ok := parseRange(attr(attrs, "ref")); ok {
				s.merges = append(s.merges, mg)
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, ErrTooLarge):
		return err
	case err != nil:
		return fmt.Errorf("%w: sheet %s: %w", ErrDamaged, quoteSheet(s.name), err)
	}
	if !ended {
		return fmt.Errorf("%w: the XML of sheet %s breaks off before its end", ErrDamaged, quoteSheet(s.name))
	}
	return nil
}

// tagName splits the start of a tag into its local name (with a leading /
// for an end tag) and the rest.
func tagName(tag []byte) (string, []byte) {
	end := bytes.IndexAny(tag, " \t\r\n/>")
	if end == 0 && len(tag) > 0 && tag[0] == '/' {
		n, rest := tagName(tag[1:])
		return "/" + n, rest
	}
	if end < 0 {
		end = len(tag)
	}
	name := tag[:end]
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	return string(name), tag[end:]
}

// attr returns the value of the attribute key in attrs, or "".
func attr(attrs []byte, key string) string {
	for _, q := range []string{`"`, `'`} {
		pat := []byte(" " + key + "=" + q)
		if i := bytes.Index(attrs, pat); i >= 0 {
			v := attrs[i+len(pat):]
			if j := bytes.IndexByte(v, q[0]); j >= 0 {
				return string(v[:j])
			}
		}
	}
	return ""
}

// parseRange parses a range such as "A1:C3", or a single cell.
func parseRange(ref string) (merge, bool) {
	a, b, ok := strings.Cut(ref, ":")
	if !ok {
		b = a
	}
	var mg merge
	var err1, err2 error
	mg.col1, mg.row1, err1 = excelize.CellNameToCoordinates(a)
	mg.col2, mg.row2, err2 = excelize.CellNameToCoordinates(b)
	if err1 != nil || err2 != nil {
		return merge{}, false
	}
	if mg.col1 > mg.col2 {
		mg.col1, mg.col2 = mg.col2, mg.col1
	}
	if mg.row1 > mg.row2 {
		mg.row1, mg.row2 = mg.row2, mg.row1
	}
	return mg, true
}

// quoteSheet writes a sheet's name as a reference to it does: quoted when
// it holds more than letters, digits and underscores.
func quoteSheet(name string) string {
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		return "'" + name + "'"
	}
	for _, r := range name {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 0x7f) {
			return "'" + strings.ReplaceAll(name, "'", "''") + "'"
		}
	}
	return name
}

// cut returns at most n bytes of s, not splitting a UTF-8 character.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

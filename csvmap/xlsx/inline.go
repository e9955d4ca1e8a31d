package xlsx

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// inlineStrings rewrites the spooled workbook at name, whose shared string
// table is too large for excelize to hold in memory, so that the sheet to
// read holds its strings inline: excelize would otherwise keep an index of
// about 60 bytes per string in memory and read the table's file once per
// cell. Here the strings go to a file in dir with an index of 8 bytes each,
// and the rest of the workbook is copied as it is. It returns the path of
// the new workbook and removes the old one.
func inlineStrings(name, dir string, sheet *sheetInfo) (string, error) {
	zr, err := zip.OpenReader(name)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	defer zr.Close()
	var sst *zip.File
	for _, p := range zr.File {
		if partName(p) == sharedStringsPart {
			sst = p
		}
	}
	table, err := readStrings(sst, dir)
	if err != nil {
		return "", err
	}
	defer table.close()

	out := filepath.Join(dir, "inline.xlsx")
	f, err := os.OpenFile(out, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, p := range zr.File {
		if partName(p) != sheet.part {
			if err := zw.Copy(p); err != nil {
				return "", fmt.Errorf("%w: part %q: %w", ErrDamaged, cut(p.Name, 64), err)
			}
			continue
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: p.Name, Method: zip.Store})
		if err != nil {
			return "", err
		}
		rc, err := p.Open()
		if err != nil {
			return "", fmt.Errorf("%w: sheet %s: %w", ErrDamaged, quoteSheet(sheet.name), err)
		}
		err = table.inline(w, rc)
		rc.Close()
		if err != nil {
			return "", fmt.Errorf("%w: sheet %s: %w", ErrDamaged, quoteSheet(sheet.name), err)
		}
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return out, os.Remove(name)
}

// partName is a part's name as excelize compares it.
func partName(p *zip.File) string {
	return strings.ToLower(strings.ReplaceAll(p.Name, "\\", "/"))
}

// A stringTable is a shared string table in a file: the strings one after
// another, and where each ends.
type stringTable struct {
	f    *os.File
	ends []int64
	buf  []byte
}

func (t *stringTable) close() {
	t.f.Close()
	os.Remove(t.f.Name())
}

// readStrings reads the shared string table p into a file in dir.
func readStrings(p *zip.File, dir string) (*stringTable, error) {
	rc, err := p.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: the shared strings: %w", ErrDamaged, err)
	}
	defer rc.Close()
	f, err := os.CreateTemp(dir, "strings-*")
	if err != nil {
		return nil, err
	}
	t := &stringTable{f: f}
	bw := bufio.NewWriterSize(f, 64<<10)
	var end int64
	d := xml.NewDecoder(bufio.NewReaderSize(rc, 64<<10))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.close()
			return nil, fmt.Errorf("%w: the shared strings: %w", ErrDamaged, err)
		}
		start, ok := tok.(xml.StartElement)
		if !ok || start.Name.Local != "si" {
			continue
		}
		// As excelize reads a string: its text, or its runs' text;
		// phonetic guides (rPh) are not part of it.
		var si struct {
			T *string `xml:"t"`
			R []struct {
				T string `xml:"t"`
			} `xml:"r"`
		}
		if err := d.DecodeElement(&si, &start); err != nil {
			t.close()
			return nil, fmt.Errorf("%w: the shared strings: %w", ErrDamaged, err)
		}
		n := 0
		if si.T != nil {
			n, _ = bw.WriteString(*si.T)
		} else {
			for _, r := range si.R {
				k, _ := bw.WriteString(r.T)
				n += k
			}
		}
		end += int64(n)
		t.ends = append(t.ends, end)
	}
	if err := bw.Flush(); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// get returns string i of the table.
func (t *stringTable) get(i int) ([]byte, error) {
	if i < 0 || i >= len(t.ends) {
		return nil, fmt.Errorf("cell refers to shared string %d; the table has %d", i, len(t.ends))
	}
	var start int64
	if i > 0 {
		start = t.ends[i-1]
	}
	n := int(t.ends[i] - start)
	if cap(t.buf) < n {
		t.buf = make([]byte, n)
	}
	t.buf = t.buf[:n]
	_, err := t.f.ReadAt(t.buf, start)
	return t.buf, err
}

// inline copies the sheet's XML from r to w, writing the cells whose value
// is a shared string (t="s") as inline strings (t="inlineStr"). It scans
// tags without parsing the XML, as scanSheet does.
func (t *stringTable) inline(w io.Writer, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	bw := bufio.NewWriterSize(w, 64<<10)
	var cell bytes.Buffer // the start tag of a shared string cell
	var value []byte      // and its <v>
	inCell, inValue := false, false
	for {
		text, err := br.ReadSlice('<')
		if err == bufio.ErrBufferFull {
			if inValue {
				return fmt.Errorf("a shared string cell's value is over %d bytes", br.Size())
			}
			if !inCell {
				bw.Write(text)
			}
			continue
		}
		if err == io.EOF {
			bw.Write(text)
			break
		}
		if err != nil {
			return err
		}
		text = text[:len(text)-1]
		switch {
		case inValue:
			value = append(value[:0], text...)
		case !inCell:
			bw.Write(text)
		}
		tag, err := br.ReadSlice('>')
		if err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return fmt.Errorf("a tag is over %d bytes", br.Size())
		}
		name, attrs := tagName(tag[:len(tag)-1])
		switch {
		case inValue && name != "/v", inCell && name == "c":
			// Not a cell this scan can read as excelize does: the
			// file fails rather than being read another way.
			return fmt.Errorf("a shared string cell holds the tag %q", cut("<"+string(tag), 32))
		case inCell && name == "v":
			inValue = true
		case inCell && name == "/v":
			inValue = false
		case inCell && name == "/c":
			if err := t.writeCell(bw, cell.Bytes(), value); err != nil {
				return err
			}
			inCell, value = false, value[:0]
		case inCell:
		case name == "c" && attr(attrs, "t") == "s" && !bytes.HasSuffix(tag, []byte("/>")):
			inCell = true
			cell.Reset()
			cell.WriteByte('<')
			cell.Write(tag)
		default:
			bw.WriteByte('<')
			bw.Write(tag)
		}
	}
	if inCell {
		return io.ErrUnexpectedEOF
	}
	return bw.Flush()
}

// writeCell writes a shared string cell, whose start tag is start and value
// v, as an inline string cell.
func (t *stringTable) writeCell(bw *bufio.Writer, start, v []byte) error {
	i, err := strconv.Atoi(string(bytes.TrimSpace(v)))
	if err != nil {
		return fmt.Errorf("a shared string cell holds %q", cut(string(v), 32))
	}
	s, err := t.get(i)
	if err != nil {
		return err
	}
	prefix := ""
	if name := start[1:bytes.IndexAny(start, " \t\r\n>")]; bytes.IndexByte(name, ':') >= 0 {
		prefix = string(name[:bytes.IndexByte(name, ':')+1])
	}
	tag := bytes.Replace(start, []byte(` t="s"`), []byte(` t="inlineStr"`), 1)
	if len(tag) == len(start) {
		tag = bytes.Replace(start, []byte(` t='s'`), []byte(` t="inlineStr"`), 1)
	}
	if len(tag) == len(start) {
		return fmt.Errorf("a shared string cell's tag %q is not as expected", cut(string(start), 64))
	}
	bw.Write(tag)
	bw.WriteString("<" + prefix + `is><` + prefix + `t xml:space="preserve">`)
	if err := xml.EscapeText(bw, s); err != nil {
		return err
	}
	bw.WriteString("</" + prefix + "t></" + prefix + "is></" + prefix + "c>")
	return nil
}

package main

import (
	"archive/zip"
	"bufio"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"strconv"

	"github.com/xuri/excelize/v2"
)

// The parts of a minimal workbook besides its sheet and shared strings.
var workbookParts = []struct{ name, body string }{
	{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>`},
	{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
	{"xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`},
	{"xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`},
}

// writeShared writes the rows of the CSV file to a workbook whose text
// cells are in a shared string table, as Excel saves them: each distinct
// value once, cells holding its index. The sheet goes straight to the zip;
// the table, which can only be written once the sheet is, goes through a
// temporary file.
func writeShared(path, csvPath string) error {
	in, err := os.Open(csvPath)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	zw := zip.NewWriter(out)
	for _, p := range workbookParts {
		w, err := zw.Create(p.name)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, p.body); err != nil {
			return err
		}
	}
	sst, err := os.CreateTemp("", "xlsxbench-sst-*")
	if err != nil {
		return err
	}
	defer os.Remove(sst.Name())
	defer sst.Close()
	sw := bufio.NewWriterSize(sst, 1<<16)
	index := make(map[string]int)
	w, err := zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
	cr := csv.NewReader(bufio.NewReaderSize(in, 1<<16))
	cr.ReuseRecord = true
	for n := 1; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		bw.WriteString(`<row r="` + strconv.Itoa(n) + `">`)
		for c, v := range rec {
			if v == "" {
				continue
			}
			i, ok := index[v]
			if !ok {
				i = len(index)
				index[v] = i
				sw.WriteString("<si><t>")
				xml.EscapeText(sw, []byte(v))
				sw.WriteString("</t></si>")
			}
			cell, _ := excelize.CoordinatesToCellName(c+1, n)
			bw.WriteString(`<c r="` + cell + `" t="s"><v>` + strconv.Itoa(i) + `</v></c>`)
		}
		bw.WriteString(`</row>`)
	}
	bw.WriteString(`</sheetData></worksheet>`)
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	if w, err = zw.Create("xl/sharedStrings.xml"); err != nil {
		return err
	}
	n := strconv.Itoa(len(index))
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+"\n"+
		`<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="`+n+`" uniqueCount="`+n+`">`)
	if _, err := sst.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := io.Copy(w, sst); err != nil {
		return err
	}
	io.WriteString(w, `</sst>`)
	if err := zw.Close(); err != nil {
		return err
	}
	return out.Close()
}

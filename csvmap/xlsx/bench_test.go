package xlsx_test

import (
	"bytes"
	"encoding/csv"
	"flag"
	"io"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/csvmap/xlsx"
	"github.com/usersync/usersync/internal/gen"
)

var benchRows = flag.Int("xlsx.rows", 20_000, "rows of the workbook BenchmarkRead reads")

// BenchmarkRead maps a workbook of Cosafe rows written by excelize's
// StreamWriter, against the same rows as CSV.
func BenchmarkRead(b *testing.B) {
	csvData := gen.Bytes(gen.Config{Rows: *benchRows, Seed: 1, SkipEvery: -1})
	book := streamBook(b, csvData)
	cm, err := csvmap.New(csvmap.Cosafe(), nil)
	if err != nil {
		b.Fatal(err)
	}
	m, err := xlsx.New(cm, &xlsx.Options{TempDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		file string
		data []byte
	}{{"csv", "users.csv", csvData}, {"xlsx", "users.xlsx", book}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(csvData)))
			for b.Loop() {
				rr, err := m.NewReader(bytes.NewReader(c.data), usersync.FileInfo{Name: c.file})
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					_, err := rr.Read()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != *benchRows {
					b.Fatalf("%d records", n)
				}
			}
		})
	}
}

// streamBook writes the CSV rows to a workbook with excelize's StreamWriter.
func streamBook(tb testing.TB, csvData []byte) []byte {
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		tb.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(csvData)).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	for i, rec := range recs {
		cells := make([]any, len(rec))
		for j, v := range rec {
			cells[j] = v
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := sw.SetRow(cell, cells); err != nil {
			tb.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

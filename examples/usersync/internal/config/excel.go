package config

import (
	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
	"github.com/usersync/usersync/csvmap/xlsx"
)

// Excel says how .xlsx workbooks are read; every schema reads them, with
// the same columns as its CSV files.
type Excel struct {
	// Sheet names the sheet to read; the first sheet by default.
	Sheet string `yaml:"sheet"`
	// HeaderRow is the number of the header's row; by default the first
	// row that is not blank.
	HeaderRow int `yaml:"header_row"`
	// DateFormat is how dates in Excel's default date format are written,
	// such as dd/mm/yyyy; yyyy-mm-dd by default.
	DateFormat string `yaml:"date_format"`
	// MaxFileSize bounds a workbook's bytes, MaxUnzippedSize its parts'
	// once unzipped; see xlsx.Options.
	MaxFileSize     Size `yaml:"max_file_size"`
	MaxUnzippedSize Size `yaml:"max_unzipped_size"`
}

// excelMapper returns mp reading .xlsx files too, as the excel section
// says, or nil after reporting a problem.
func (m *Mapping) excelMapper(c *checker, mp *csvmap.Mapper) usersync.Mapper {
	var o xlsx.Options
	if e := m.Excel; e != nil {
		o = xlsx.Options{Sheet: e.Sheet, HeaderRow: e.HeaderRow, DateFormat: e.DateFormat,
			MaxFileBytes: int64(e.MaxFileSize), MaxUnzippedBytes: int64(e.MaxUnzippedSize)}
	}
	x, err := xlsx.New(mp, &o)
	if err != nil {
		c.fail("mapping.excel", trimPrefix(err, "xlsx: "))
		return nil
	}
	return x
}

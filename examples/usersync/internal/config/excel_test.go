package config

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/usersync/usersync"
)

func TestExcel(t *testing.T) {
	cfg, err := parse(t, `
source: {local: {folder: .}}
mapping:
  preset: cosafe
  excel:
    sheet: Staff
    header_row: 2
    date_format: dd/mm/yyyy
    max_unzipped_size: 64MiB
sink: {sqlite: {path: x.db}}
`, env())
	require.NoError(t, err)

	f := excelize.NewFile()
	defer f.Close()
	_, err = f.NewSheet("Staff")
	require.NoError(t, err)
	f.SetSheetRow("Staff", "A1", &[]any{"Export of 2026-12-05"})
	f.SetSheetRow("Staff", "A2", &[]any{"UniqueID", "Name", "Mail"})
	f.SetSheetRow("Staff", "A3", &[]any{"EMP0000001", "Ann Lee", "ann@example.com"})
	f.SetSheetRow("Staff", "A4", &[]any{"EMP0000002", "Bob", "bob(at)example.com"})
	var b bytes.Buffer
	require.NoError(t, f.Write(&b))

	rr, err := cfg.Mapper().NewReader(&b, usersync.FileInfo{Name: "staff.xlsx"})
	require.NoError(t, err)
	rec, err := rr.Read()
	require.NoError(t, err)
	assert.Equal(t, "EMP0000001", rec.Key)
	_, err = rr.Read()
	var re *usersync.RowError
	require.True(t, errors.As(err, &re), "%v", err)
	assert.Equal(t, "Staff!C4", re.Cell)
	_, err = rr.Read()
	assert.Equal(t, io.EOF, err)

	_, err = parse(t, "source: {local: {folder: .}}\nmapping: {preset: cosafe, excel: {header_row: -1}}\nsink: {sqlite: {path: x.db}}\n", env())
	assert.ErrorContains(t, err, "mapping.excel: negative HeaderRow")
}

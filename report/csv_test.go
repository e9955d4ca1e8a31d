package report_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/report"
)

// dangerous are cell openings a spreadsheet may run as a formula (OWASP
// CSV injection; ASVS 1.2.10 adds NUL).
var dangerous = []string{"=", "+", "-", "@", "\t", "\r", "\x00"}

// TestFormulaInjection puts a formula in every cell a feed or a server can
// fill, and checks that each comes out as text, quoted as RFC 4180 says.
func TestFormulaInjection(t *testing.T) {
	for _, lead := range dangerous {
		t.Run(strings.Trim(strings.ReplaceAll(lead, "\x00", "NUL"), "\t\r"), func(t *testing.T) {
			payload := lead + `cmd|' /C calc'!A0,"x"` + "\n" + `=1+1`
			r := partlyFailed()
			synctest.Changes(t, r.Plan)[1].User.Key = payload
			synctest.Changes(t, r.Plan)[1].Join = []string{payload}
			synctest.Changes(t, r.Plan)[5].Attrs = []string{payload}
			r.Failed[0].Change = synctest.Changes(t, r.Plan)[1]
			r.Failed[0].Err = errors.New(payload)
			r.Rejected = []*usersync.RowError{{File: payload, Line: 2, Column: payload, Value: payload, Key: payload,
				Err: errors.New(payload)}}
			s := report.NewSummary(r, &report.Options{Label: "name"})

			for name, write := range map[string]func(*bytes.Buffer) error{
				"changes":  func(b *bytes.Buffer) error { return report.WriteChangesCSV(b, s, nil) },
				"rejected": func(b *bytes.Buffer) error { return report.WriteRejectedCSV(b, s, nil) },
			} {
				var b bytes.Buffer
				require.NoError(t, write(&b))
				cr := csv.NewReader(&b)
				rows, err := cr.ReadAll()
				require.NoError(t, err, "%s: RFC 4180 quoting keeps the rows apart", name)
				found := 0
				for _, row := range rows[1:] {
					for _, cell := range row {
						for _, d := range dangerous {
							assert.False(t, strings.HasPrefix(cell, d), "%s: cell %q starts with %q", name, cell, d)
						}
						if strings.Contains(cell, "cmd|") {
							found++
							// A CR is a line break: the CSV writes it as one.
							want := "'" + strings.ReplaceAll(lead, "\r", "\n")
							assert.True(t, strings.HasPrefix(cell, want), "%s: %q", name, cell)
						}
					}
				}
				assert.Positive(t, found, name)
			}
		})
	}
}

func TestNeutralize(t *testing.T) {
	for in, want := range map[string]string{
		"":          "",
		"Ann":       "Ann",
		" =1":       " =1",
		"a=b":       "a=b",
		"=SUM(A1)":  "'=SUM(A1)",
		"+46 8 123": "'+46 8 123",
		"-5":        "'-5",
		"@x":        "'@x",
		"\tx":       "'\tx",
		"\rx":       "'\rx",
		"\x00x":     "'\x00x",
		"'=x":       "'=x",
		"Åsa":       "Åsa",
	} {
		assert.Equal(t, want, report.Neutralize(in), "%q", in)
	}
}

func TestCSVOptions(t *testing.T) {
	s := report.NewSummary(held(), nil)
	var b bytes.Buffer
	require.NoError(t, report.WriteChangesCSV(&b, s, &report.CSVOptions{BOM: true, Comma: ';', MaxRows: 10}))
	data := b.Bytes()
	require.True(t, bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")), "a UTF-8 byte order mark for Excel")
	assert.True(t, bytes.HasPrefix(data[3:], []byte("kind;key;old_key;")))
	assert.Contains(t, string(data), "\r\n", "RFC 4180 ends lines with CRLF")
	cr := csv.NewReader(bytes.NewReader(data[3:]))
	cr.Comma = ';'
	rows, err := cr.ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 12, "header, 10 rows, and the note")
	assert.Equal(t, []string{"and 243 more changes", "", "", "", "", "", "", "", ""}, rows[11])
}

// TestCSVWritesEverything checks that the attachment lists every change and
// row, not just those the Summary lists.
func TestCSVWritesEverything(t *testing.T) {
	s := report.NewSummary(held(), &report.Options{MaxListed: 3})
	var b bytes.Buffer
	require.NoError(t, report.WriteChangesCSV(&b, s, nil))
	rows, err := csv.NewReader(&b).ReadAll()
	require.NoError(t, err)
	assert.Len(t, rows, 1+253)
	assert.Equal(t, []string{"deactivate", "E3250", "", "", "", "", "", "planned", ""}, rows[253])

	// A Summary read back from JSON has only what it lists, and says so.
	data, err := json.Marshal(s)
	require.NoError(t, err)
	var back report.Summary
	require.NoError(t, json.Unmarshal(data, &back))
	b.Reset()
	require.NoError(t, report.WriteChangesCSV(&b, &back, nil))
	rows, err = csv.NewReader(&b).ReadAll()
	require.NoError(t, err)
	assert.Len(t, rows, 1+6+1)
	assert.Equal(t, "and 247 more changes", rows[7][0])
}

// TestCSVRejectedBeyondKept checks the note when the Pipeline kept fewer
// rejected rows than it counted (Pipeline.MaxRowErrors).
func TestCSVRejectedBeyondKept(t *testing.T) {
	r := succeeded()
	r.RejectedTotal = 50000
	var b bytes.Buffer
	require.NoError(t, report.WriteRejectedCSV(&b, report.NewSummary(r, nil), nil))
	assert.Equal(t, "file,line,column,value,key,reason\r\n"+
		"users.csv,14,Mail,ann.andersson(at)example,,not an email address\r\n"+
		"and 49999 more rejected rows,,,,,\r\n", b.String())
}

func TestCSVWriteError(t *testing.T) {
	errDisk := errors.New("disk full")
	err := report.WriteChangesCSV(failingWriter{errDisk}, report.NewSummary(held(), nil), nil)
	assert.ErrorIs(t, err, errDisk)
}

// TestPlanNotReadBack checks a plan kept on disk that cannot be read back
// in full: the Summary says its lists stop early, and the CSV attachment
// fails rather than list part of the plan as the whole of it.
func TestPlanNotReadBack(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("cuts the plan's unlinked file through /proc/self/fd, which only Linux has")
	}
	res := held()
	w := usersync.NewChangeWriter(t.TempDir(), 1) // every change on disk
	require.NoError(t, w.WriteSlice(synctest.Changes(t, res.Plan)))
	var err error
	res.Plan.Changes, err = w.List()
	require.NoError(t, err)
	cutPlanFile(t)

	s := report.NewSummary(res, nil)
	require.Len(t, s.ReportErrors, 1)
	assert.Contains(t, s.ReportErrors[0], "the change lists stop early")
	assert.Error(t, report.WriteChangesCSV(io.Discard, s, nil))
}

// cutPlanFile truncates the one temporary plan file this process holds
// open, to half its size.
func cutPlanFile(t *testing.T) {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	var cut int
	for _, fd := range fds {
		p := filepath.Join("/proc/self/fd", fd.Name())
		if target, err := os.Readlink(p); err != nil || !strings.Contains(target, "usersync-plan-") {
			continue
		}
		fi, err := os.Stat(p)
		require.NoError(t, err)
		require.NoError(t, os.Truncate(p, fi.Size()/2))
		cut++
	}
	require.Equal(t, 1, cut, "plan files open")
}

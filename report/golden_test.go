package report_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/report"
)

var update = flag.Bool("update", false, "rewrite testdata/* with the current output")

// golden compares got with testdata/name, or rewrites the file when the
// test runs with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), got, "diff against %s; run go test -update if the change is intended", path)
}

// render writes s with one of the renderers.
func render(t *testing.T, s *report.Summary, write func(*bytes.Buffer, *report.Summary) error) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, write(&b, s))
	return b.String()
}

var renderers = []struct {
	ext   string
	write func(*bytes.Buffer, *report.Summary) error
}{
	{"txt", func(b *bytes.Buffer, s *report.Summary) error { return report.WriteText(b, s) }},
	{"html", func(b *bytes.Buffer, s *report.Summary) error { return report.WriteHTML(b, s) }},
	{"json", func(b *bytes.Buffer, s *report.Summary) error { return report.WriteJSON(b, s) }},
	{"changes.csv", func(b *bytes.Buffer, s *report.Summary) error { return report.WriteChangesCSV(b, s, nil) }},
	{"rejected.csv", func(b *bytes.Buffer, s *report.Summary) error { return report.WriteRejectedCSV(b, s, nil) }},
}

// TestRenderersGolden renders a run of each status with every renderer, and
// compares them with testdata/STATUS.EXT.
func TestRenderersGolden(t *testing.T) {
	for _, tc := range []struct {
		name     string
		result   *usersync.Result
		headline string
	}{
		{"succeeded", succeeded(),
			"usersync: succeeded — 3 created, 2 updated, 1 deactivated, 1 group created, 40 unchanged, 1 rejected"},
		{"partly-failed", partlyFailed(),
			"usersync: partly failed — 2 created, 3 updated, 1 deactivated, 1 group created, 2 failed, 40 unchanged, 1 rejected"},
		{"held", held(),
			"usersync: held — nothing applied; plan: 3 to create, 250 to deactivate, 40 unchanged, 1 rejected"},
		{"failed-file", failedFile(),
			"usersync: failed — nothing applied"},
		{"failed-apply", failedApply(),
			"usersync: failed — nothing applied, 3 changes failed, 1 rejected"},
		{"nothing-to-do", nothingToDo(),
			"usersync: nothing to do — no file to read"},
		{"planned", dryRun(),
			"usersync: planned — dry run, nothing applied; plan: 2 to create, 1 to delete, 40 unchanged, 1 rejected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := report.NewSummary(tc.result, &report.Options{Private: []string{"Mail"}, ApproveURL: "https://app.example/sync/approve?tenant=acme&plan=7"})
			assert.Equal(t, tc.headline, s.Headline)
			for _, r := range renderers {
				got := render(t, s, r.write)
				golden(t, tc.name+"."+r.ext, got)
				assert.NotContains(t, got, pii, "%s: no private attribute value is shown", r.ext)
			}

			text := render(t, s, renderers[0].write)
			assert.True(t, strings.HasPrefix(text, tc.headline+"\n\n"), "the summary starts with the headline")
			for i, line := range strings.Split(text, "\n") {
				assert.Equal(t, strings.TrimRight(line, " "), line, "line %d has trailing spaces", i+1)
			}
			assert.Contains(t, render(t, s, renderers[1].write), "<title>"+tc.headline+"</title>")
		})
	}
}

// TestJSONRoundTrip checks that a Summary read back from its JSON renders
// as the original does.
func TestJSONRoundTrip(t *testing.T) {
	for _, r := range []*usersync.Result{succeeded(), partlyFailed(), held(), failedFile(), nothingToDo(), dryRun()} {
		t.Run(r.Status.String(), func(t *testing.T) {
			s := report.NewSummary(r, nil)
			data, err := json.Marshal(s)
			require.NoError(t, err)
			var back report.Summary
			require.NoError(t, json.Unmarshal(data, &back))
			again, err := json.Marshal(&back)
			require.NoError(t, err)
			assert.JSONEq(t, string(data), string(again))
			for _, rd := range renderers[:3] {
				assert.Equal(t, render(t, s, rd.write), render(t, &back, rd.write), rd.ext)
			}
		})
	}
}

func TestJSONUnknownStatus(t *testing.T) {
	var s report.Summary
	assert.ErrorContains(t, json.Unmarshal([]byte(`{"status":"exploded"}`), &s), `unknown run status "exploded"`)
}

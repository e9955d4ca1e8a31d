package main

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/usersync/usersync"
)

// previewRows is how many records check shows after mapping.
const previewRows = 5

// A preview is the first records of a file as the mapping makes them:
// values, not only column names, so that an administrator sees what the
// transforms and checks make of the file before a run applies it.
type preview struct {
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
	// OutOfScope counts the rows a filter left out among those read.
	OutOfScope int `json:"out_of_scope,omitempty"`
}

// readPreview reads up to previewRows records from rr, first being the one
// already read, passing over rejected rows (check reports the first) but
// reading at most sampleRows rows in all.
func readPreview(rr usersync.RecordReader, first usersync.Record) *preview {
	recs := []usersync.Record{first}
	for n := 1; len(recs) < previewRows && n < sampleRows; n++ {
		rec, err := rr.Read()
		if errors.As(err, new(*usersync.RowError)) {
			continue
		}
		if err != nil {
			break
		}
		recs = append(recs, rec)
	}
	p := &preview{Columns: []string{"key"}}
	col := map[string]int{}
	groups := false
	for _, r := range recs {
		for name := range r.Attrs.All() {
			if _, ok := col[name]; !ok {
				col[name] = len(p.Columns)
				p.Columns = append(p.Columns, name)
			}
		}
		groups = groups || r.Groups != nil
	}
	if groups {
		p.Columns = append(p.Columns, "groups")
	}
	p.Columns = append(p.Columns, "active")
	for _, r := range recs {
		row := make([]string, len(p.Columns))
		row[0] = r.Key
		for name, v := range r.Attrs.All() {
			row[col[name]] = v
		}
		if groups {
			row[len(row)-2] = strings.Join(r.Groups, ", ")
		}
		row[len(row)-1] = map[bool]string{false: "yes", true: "no"}[r.Inactive]
		p.Rows = append(p.Rows, row)
	}
	if fr, ok := rr.(usersync.FormatReader); ok {
		p.OutOfScope = fr.Format().OutOfScope
	}
	return p
}

// maxCell bounds a preview cell's width in the text table.
const maxCell = 28

// lines lays the preview out as a table for a terminal, each value cut to
// maxCell characters and made one line (redact first).
func (p *preview) lines(redact func(string) string) []string {
	cells := make([][]string, 0, len(p.Rows)+1)
	cells = append(cells, p.Columns)
	for _, r := range p.Rows {
		row := make([]string, len(r))
		for i, v := range r {
			row[i] = cutCell(oneLine(redact(v)))
		}
		cells = append(cells, row)
	}
	width := make([]int, len(p.Columns))
	for _, r := range cells {
		for i, v := range r {
			width[i] = max(width[i], utf8.RuneCountInString(v))
		}
	}
	out := make([]string, 0, len(cells)+1)
	for _, r := range cells {
		var b strings.Builder
		for i, v := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(v)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(v)))
			}
		}
		out = append(out, b.String())
	}
	return out
}

// cutCell cuts v to maxCell characters, marking the cut with "…".
func cutCell(v string) string {
	if utf8.RuneCountInString(v) <= maxCell {
		return v
	}
	r := []rune(v)
	return string(r[:maxCell-1]) + "…"
}

// redactPreview returns p with its values redacted, for JSON.
func (a *app) redactPreview(p *preview) *preview {
	if p == nil {
		return nil
	}
	out := *p
	out.Rows = make([][]string, len(p.Rows))
	for i, r := range p.Rows {
		out.Rows[i] = make([]string, len(r))
		for j, v := range r {
			out.Rows[i][j] = a.redact(v)
		}
	}
	return &out
}

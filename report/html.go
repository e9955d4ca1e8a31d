package report

import (
	"bytes"
	"errors"
	"html/template"
	"io"
	"strconv"

	"github.com/usersync/usersync"
)

// WriteHTML writes a Summary as an HTML document, for the HTML part of an
// email or an admin page. It says what [WriteText] says, laid out in tables
// with inline styles only: no style sheet, script, image or other external
// asset, so that it reads the same in Outlook, Gmail and Apple Mail, and
// loads nothing from anywhere. Every text is HTML-escaped, and control
// characters are shown escaped, as in the text. The document reaches w in a
// single Write.
func WriteHTML(w io.Writer, s *Summary) error {
	if s == nil {
		return errors.New("report: WriteHTML: nil Summary")
	}
	return writeHTML(w, newHTMLView(s))
}

func writeHTML(w io.Writer, v htmlView) error {
	var b bytes.Buffer
	if err := htmlPage.Execute(&b, v); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// htmlView is a Summary as the template shows it: every text cleaned, every
// list capped.
type htmlView struct {
	Headline    string
	Status      string
	Color       template.CSS // the status's colour, from statusColor
	Notice      []string     // the lines of an alert's message
	Overview    []pair
	Files       []htmlFile
	CountsTitle string
	Counts      []countRow
	Lists       []htmlList
}

type htmlFile struct {
	Name, Bytes, Records, Rejected, Skipped, Encoding, Delimiter, Result string
	Failed                                                               bool
	Details                                                              []string
}

type htmlList struct {
	Title string
	Items []string
	More  int
}

// statusColor is the header colour of a status: green, amber, red, grey,
// blue; dark enough for white text.
func statusColor(st usersync.Status) template.CSS {
	switch st {
	case usersync.Succeeded:
		return "#1e7b34"
	case usersync.PartlyFailed:
		return "#a35200"
	case usersync.Held:
		return "#8a5a00"
	case usersync.Failed:
		return "#b42318"
	case usersync.Planned:
		return "#1d5fa8"
	}
	return "#5b6472"
}

func newHTMLView(s *Summary) htmlView {
	v := htmlView{Headline: clean(s.Headline), Status: s.Status.String(), Color: statusColor(s.Status)}
	v.Overview = overviewPairs(s)
	for i := range s.Files {
		f := &s.Files[i]
		v.Files = append(v.Files, htmlFile{
			Name: clean(f.Name), Bytes: fileBytes(f), Records: strconv.Itoa(f.Records),
			Rejected: strconv.Itoa(f.Rejected), Skipped: strconv.Itoa(f.Skipped),
			Encoding: orDash(clean(f.Encoding)), Delimiter: delimiterName(f.Delimiter),
			Result: fileResult(f, s.Error), Failed: f.Error != "", Details: fileDetails(f),
		})
	}
	if title, ok := countsTitle(s); ok {
		v.CountsTitle, v.Counts = title, countRows(s)
	}
	v.Lists = htmlLists(s)
	return v
}

// htmlLists are the lists of the text.
func htmlLists(s *Summary) []htmlList {
	var lists []htmlList
	for _, sec := range sections(s) {
		lists = append(lists, htmlList{Title: sec.title, Items: sec.lines, More: sec.total - len(sec.lines)})
	}
	return lists
}

// htmlPage is the template of WriteHTML: nested tables and inline styles,
// which every mail client renders alike.
var htmlPage = template.Must(template.New("summary").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Headline}}</title>
</head>
<body style="margin:0;padding:0;background-color:#f3f4f6;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f3f4f6;">
<tr><td align="center" style="padding:16px 8px;">
<table role="presentation" width="680" cellpadding="0" cellspacing="0" border="0" style="width:100%;max-width:680px;background-color:#ffffff;border:1px solid #d9dce1;font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:20px;color:#1f2328;">
<tr><td style="background-color:{{.Color}};color:#ffffff;padding:14px 20px;font-size:18px;line-height:24px;font-weight:bold;">{{.Status}}</td></tr>
<tr><td style="padding:16px 20px 4px 20px;font-size:16px;line-height:22px;font-weight:bold;">{{.Headline}}</td></tr>
{{- if .Notice}}
<tr><td style="padding:8px 20px;"><table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"><tr><td style="padding:10px 12px;background-color:#fff8e6;border-left:4px solid {{.Color}};">{{range $i, $l := .Notice}}{{if $i}}<br>{{end}}{{$l}}{{end}}</td></tr></table></td></tr>
{{- end}}
{{- if .Overview}}
<tr><td style="padding:8px 20px;">
<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="font-size:14px;line-height:20px;">
{{- range .Overview}}
<tr><td valign="top" style="padding:2px 16px 2px 0;color:#59636e;white-space:nowrap;">{{.Label}}</td><td valign="top" style="padding:2px 0;">{{.Value}}</td></tr>
{{- end}}
</table>
</td></tr>
{{- end}}
{{- if .Files}}
<tr><td style="padding:12px 20px 4px 20px;font-weight:bold;">Files ({{len .Files}})</td></tr>
<tr><td style="padding:0 20px 8px 20px;">
<table cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;font-size:13px;line-height:18px;width:100%;">
<tr style="background-color:#f6f8fa;"><th align="left" style="padding:4px 6px;border:1px solid #d9dce1;">Name</th><th align="right" style="padding:4px 6px;border:1px solid #d9dce1;">Bytes</th><th align="right" style="padding:4px 6px;border:1px solid #d9dce1;">Records</th><th align="right" style="padding:4px 6px;border:1px solid #d9dce1;">Rejected</th><th align="right" style="padding:4px 6px;border:1px solid #d9dce1;">Skipped</th><th align="left" style="padding:4px 6px;border:1px solid #d9dce1;">Encoding</th><th align="left" style="padding:4px 6px;border:1px solid #d9dce1;">Delimiter</th><th align="left" style="padding:4px 6px;border:1px solid #d9dce1;">Result</th></tr>
{{- range .Files}}
<tr><td style="padding:4px 6px;border:1px solid #d9dce1;">{{.Name}}</td><td align="right" style="padding:4px 6px;border:1px solid #d9dce1;">{{.Bytes}}</td><td align="right" style="padding:4px 6px;border:1px solid #d9dce1;">{{.Records}}</td><td align="right" style="padding:4px 6px;border:1px solid #d9dce1;">{{.Rejected}}</td><td align="right" style="padding:4px 6px;border:1px solid #d9dce1;">{{.Skipped}}</td><td style="padding:4px 6px;border:1px solid #d9dce1;">{{.Encoding}}</td><td style="padding:4px 6px;border:1px solid #d9dce1;">{{.Delimiter}}</td><td style="padding:4px 6px;border:1px solid #d9dce1;{{if .Failed}}color:#b42318;{{end}}">{{.Result}}</td></tr>
{{- if .Details}}
<tr><td colspan="8" style="padding:4px 6px;border:1px solid #d9dce1;font-family:Consolas,Menlo,monospace;font-size:12px;color:#59636e;word-break:break-all;">{{range $i, $d := .Details}}{{if $i}}<br>{{end}}{{$d}}{{end}}</td></tr>
{{- end}}
{{- end}}
</table>
</td></tr>
{{- end}}
{{- if .CountsTitle}}
<tr><td style="padding:12px 20px 4px 20px;font-weight:bold;">{{.CountsTitle}}</td></tr>
<tr><td style="padding:0 20px 8px 20px;">
<table cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;font-size:13px;line-height:18px;">
{{- range .Counts}}
<tr><td style="padding:3px 24px 3px 6px;border-bottom:1px solid #eceef1;">{{.Label}}</td><td align="right" style="padding:3px 6px;border-bottom:1px solid #eceef1;">{{.N}}</td></tr>
{{- end}}
</table>
</td></tr>
{{- end}}
{{- range .Lists}}
<tr><td style="padding:12px 20px 4px 20px;font-weight:bold;">{{.Title}}</td></tr>
<tr><td style="padding:0 20px 8px 20px;font-family:Consolas,Menlo,monospace;font-size:12px;line-height:18px;">{{range $i, $item := .Items}}{{if $i}}<br>{{end}}{{$item}}{{end}}{{if .More}}<br><span style="font-family:Arial,Helvetica,sans-serif;color:#59636e;">and {{.More}} more</span>{{end}}</td></tr>
{{- end}}
<tr><td style="padding:8px 20px;"></td></tr>
</table>
</td></tr>
</table>
</body>
</html>
`))

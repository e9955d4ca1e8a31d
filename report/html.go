package report

import (
	"bytes"
	"errors"
	"html/template"
	"io"

	"github.com/usersync/usersync"
)

// WriteHTML writes a Summary as an HTML document, for the HTML part of an
// email or an admin page. It says what [WriteText] says, in one column that
// reads on a phone 390 px wide without scrolling sideways (long names,
// paths and values wrap), under a banner coloured by status (amber for a
// run that applied but rejected rows), with a held plan's approval link
// as a button. It is laid out in tables with inline styles only: no style sheet, script, image or other external
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
	Status      string       // the banner's words
	Color       template.CSS // the banner's colour, from statusColor
	Notice      []string     // the lines of an alert's message
	Overview    []pair
	ApproveURL  string // a held plan's approval link
	Files       []htmlFile
	CountsTitle string
	Counts      []countRow
	Lists       []htmlList
}

type htmlFile struct {
	Name, Line string
	Failed     bool
	Details    []string
}

type htmlList struct {
	Title string
	Items []string
	More  int
}

// amber is the colour of a run that needs someone: held, partly failed,
// or applied with rejected rows.
const amber template.CSS = "#8a5a00"

// statusColor is the header colour of a status: green, amber, red, grey,
// blue; dark enough for white text.
func statusColor(st usersync.Status) template.CSS {
	switch st {
	case usersync.Succeeded:
		return "#1e7b34"
	case usersync.PartlyFailed:
		return "#a35200"
	case usersync.Held:
		return amber
	case usersync.Failed:
		return "#b42318"
	case usersync.Planned:
		return "#1d5fa8"
	}
	return "#5b6472"
}

// banner is the status as the banner says it: a run that applied but
// rejected rows is amber, and says so.
func banner(s *Summary) (string, template.CSS) {
	if s.Status == usersync.Succeeded && s.Counts.Rejected > 0 {
		return "succeeded, but " + count(s.Counts.Rejected, "row") + " rejected", amber
	}
	return s.Status.String(), statusColor(s.Status)
}

func newHTMLView(s *Summary) htmlView {
	v := htmlView{Headline: clean(s.Headline), ApproveURL: approveURL(s.ApproveURL)}
	v.Status, v.Color = banner(s)
	v.Overview = overviewPairs(s)
	for i := range s.Files {
		f := &s.Files[i]
		details := fileDetails(f)
		for j := range f.Members {
			m := &f.Members[j]
			details = append(details, clean(m.Name)+": "+fileLine(m, s.Error))
		}
		v.Files = append(v.Files, htmlFile{Name: clean(f.Name), Line: fileLine(f, s.Error), Failed: f.Error != "",
			Details: details})
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
// which every mail client renders alike, one column wide so that it reads
// on a phone (390 px) without scrolling sideways: long words, paths and
// values wrap anywhere.
var htmlPage = template.Must(template.New("summary").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Headline}}</title>
</head>
<body style="margin:0;padding:0;background-color:#f3f4f6;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f3f4f6;table-layout:fixed;">
<tr><td align="center" style="padding:12px 6px;">
<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="width:100%;max-width:680px;table-layout:fixed;background-color:#ffffff;border:1px solid #d9dce1;font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:20px;color:#1f2328;word-wrap:break-word;overflow-wrap:anywhere;">
<tr><td style="background-color:{{.Color}};color:#ffffff;padding:12px 16px;font-size:18px;line-height:24px;font-weight:bold;">{{.Status}}</td></tr>
<tr><td style="padding:14px 16px 4px 16px;font-size:16px;line-height:22px;font-weight:bold;">{{.Headline}}</td></tr>
{{- if .Notice}}
<tr><td style="padding:8px 16px;"><table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="table-layout:fixed;"><tr><td style="padding:10px 12px;background-color:#fff8e6;border-left:4px solid {{.Color}};">{{range $i, $l := .Notice}}{{if $i}}<br>{{end}}{{$l}}{{end}}</td></tr></table></td></tr>
{{- end}}
{{- range .Overview}}
<tr><td style="padding:6px 16px 0 16px;"><span style="color:#59636e;">{{.Label}}:</span> {{.Value}}</td></tr>
{{- end}}
{{- if .ApproveURL}}
<tr><td style="padding:12px 16px 4px 16px;"><a href="{{.ApproveURL}}" style="display:inline-block;background-color:{{.Color}};color:#ffffff;text-decoration:none;font-weight:bold;padding:10px 16px;border-radius:4px;">Review and approve the plan</a></td></tr>
{{- end}}
{{- range .Lists}}
<tr><td style="padding:14px 16px 4px 16px;font-weight:bold;">{{.Title}}</td></tr>
<tr><td style="padding:0 16px 6px 16px;font-size:13px;line-height:19px;">{{range $i, $item := .Items}}{{if $i}}<br>{{end}}{{$item}}{{end}}{{if .More}}<br><span style="color:#59636e;">and {{.More}} more</span>{{end}}</td></tr>
{{- end}}
{{- if .Counts}}
<tr><td style="padding:14px 16px 4px 16px;font-weight:bold;">{{.CountsTitle}}</td></tr>
<tr><td style="padding:0 16px 6px 16px;">
<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;font-size:13px;line-height:18px;">
{{- range .Counts}}
<tr><td style="padding:3px 24px 3px 0;border-bottom:1px solid #eceef1;">{{.Label}}</td><td align="right" style="padding:3px 0;border-bottom:1px solid #eceef1;">{{.N}}</td></tr>
{{- end}}
</table>
</td></tr>
{{- end}}
{{- if .Files}}
<tr><td style="padding:14px 16px 4px 16px;font-weight:bold;">Files ({{len .Files}})</td></tr>
{{- range .Files}}
<tr><td style="padding:0 16px 4px 16px;font-size:13px;line-height:19px;"><b>{{.Name}}</b>: <span{{if .Failed}} style="color:#b42318;"{{end}}>{{.Line}}</span>{{range .Details}}<br>{{.}}{{end}}</td></tr>
{{- end}}
{{- end}}
<tr><td style="padding:8px 16px;"></td></tr>
</table>
</td></tr>
</table>
</body>
</html>
`))

package oneroster

import (
	"strings"
	"testing"
)

// The template bundle of each version reads back without an error: one
// user, a member of the school and the class.
func TestTemplateReadsBack(t *testing.T) {
	for _, v := range []string{"1.1", "1.2"} {
		t.Run(v, func(t *testing.T) {
			tmpl, err := Template(v)
			if err != nil {
				t.Fatal(err)
			}
			files := map[string]string{}
			for _, f := range tmpl {
				var b strings.Builder
				if err := f.WriteCSV(&b, v); err != nil {
					t.Fatal(err)
				}
				files[f.Name] = b.String()
			}
			r, err := readBundle(t, mustNew(t, nil), files)
			if err != nil {
				t.Fatal(err)
			}
			checkLines(t, "rejects", r.rejects, nil)
			u, ok := r.users["u1"]
			if !ok || strings.Join(u.Groups, " ") != "k1 s1" || u.Attrs.Value("role") != "teacher" {
				t.Errorf("template user %s", summary(u))
			}
			var d strings.Builder
			if err := WriteDescription(&d, v); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(d.String(), "enrollments.csv\n    sourcedId (required)") {
				t.Errorf("description:\n%s", d.String())
			}
		})
	}
	if _, err := Template("3.0"); err == nil {
		t.Error("template 3.0")
	}
}

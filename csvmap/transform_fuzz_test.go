package csvmap_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
)

// fuzzTransform makes a Transform of the rule kind picks, with arg as its
// parameter.
func fuzzTransform(kind uint8, arg string) csvmap.Transform {
	switch kind % 11 {
	case 0:
		m := map[string]string{}
		for pair := range strings.SplitSeq(arg, ";") {
			k, v, _ := strings.Cut(pair, "=")
			m[k] = v
		}
		return csvmap.Transform{Map: m, Reject: kind&0x80 != 0}
	case 1:
		return csvmap.Transform{Template: arg}
	case 2:
		return csvmap.Transform{EmailLocal: true}
	case 3:
		return csvmap.Transform{Trim: true}
	case 4:
		return csvmap.Transform{Case: csvmap.Case(len(arg)%3 + 1)}
	case 5:
		return csvmap.Transform{Extract: arg}
	case 6:
		return csvmap.Transform{LastFirst: true}
	case 7:
		return csvmap.Transform{Date: []string{arg}}
	case 8:
		return csvmap.Transform{DefaultFrom: arg}
	case 9:
		return csvmap.Transform{Expr: arg}
	}
	return csvmap.Transform{Map: map[string]string{arg: "x"}, Else: arg}
}

// FuzzCompileTransform compiles a transform from any parameter and runs
// it on any value: compiling may refuse it, mapping may reject the row,
// but neither panics, and a value it makes is valid text.
func FuzzCompileTransform(f *testing.F) {
	for _, seed := range []struct {
		kind       uint8
		arg, value string
	}{
		{0, "Terminated=inactive;T=inactive", "terminated"},
		{0x80, "a=b", "c"},
		{1, "{first} {last}", "x"},
		{1, "{{}}{", "x"},
		{2, "", "ann@example.com"},
		{3, "", "a \t b"},
		{4, "ab", "ANNE-MARIE O'NEIL"},
		{5, `^EMP-0*(\d+)$`, "EMP-0012"},
		{5, `(a)|b`, "b"},
		{6, "", "Lee, Ann"},
		{7, "02.01.2006", "07.03.2024"},
		{8, "first", ""},
		{9, `value + first`, "x"},
		{9, `split(value, "-")[2]`, "a-b"},
		{9, `upper(value) + string(len(value))`, "ü"},
		{10, "", "é"},
	} {
		f.Add(seed.kind, seed.arg, seed.value)
	}
	f.Fuzz(func(t *testing.T, kind uint8, arg, value string) {
		if len(arg) > 256 || len(value) > 256 {
			return
		}
		s := csvmap.Schema{Columns: []csvmap.Column{
			{Name: "id", Role: csvmap.Key},
			{Name: "first"},
			{Name: "last"},
			{Name: "v", Transforms: []csvmap.Transform{fuzzTransform(kind, arg)}},
		}}
		m, err := csvmap.New(s, nil)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "csvmap: ") {
				t.Fatalf("error without the package's prefix: %v", err)
			}
			return
		}
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		w.Write([]string{"id", "first", "last", "v"})
		w.Write([]string{"E1", value, "Lee", value})
		w.Flush()
		rr, err := m.NewReader(&b, usersync.FileInfo{Name: "f.csv"})
		if err != nil {
			return // a header the value broke, say
		}
		for {
			rec, err := rr.Read()
			if err == io.EOF {
				return
			}
			var re *usersync.RowError
			if errors.As(err, &re) {
				if re.File != "f.csv" || re.Line < 2 {
					t.Fatalf("row error without its place: %v", re)
				}
				continue
			}
			if err != nil {
				return
			}
			for name, v := range rec.Attrs.All() {
				if !utf8.ValidString(v) || strings.ContainsRune(v, utf8.RuneError) && !strings.ContainsRune(arg+value, utf8.RuneError) {
					t.Fatalf("%s: invalid text %q", name, v)
				}
			}
		}
	})
}

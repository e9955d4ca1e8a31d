package csvmap_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/csvmap"
)

// readFile maps file with s and returns its records and rejected rows.
func readFile(t *testing.T, s csvmap.Schema, file string) ([]usersync.Record, []*usersync.RowError, usersync.RecordReader) {
	t.Helper()
	m, err := csvmap.New(s, nil)
	require.NoError(t, err)
	rr, err := m.NewReader(strings.NewReader(file), usersync.FileInfo{Name: "users.csv"})
	require.NoError(t, err)
	var recs []usersync.Record
	var rejected []*usersync.RowError
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			return recs, rejected, rr
		}
		var re *usersync.RowError
		require.True(t, errors.As(err, &re) || err == nil, "%v", err)
		if err != nil {
			rejected = append(rejected, re)
			continue
		}
		recs = append(recs, rec)
	}
}

// oneColumn is a schema of a key and a column "v" with the transforms,
// beside the columns first, last and email.
func oneColumn(kind csvmap.Kind, ts ...csvmap.Transform) csvmap.Schema {
	return csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Role: csvmap.Key},
		{Name: "first"},
		{Name: "last"},
		{Name: "email", Kind: csvmap.Email},
		{Name: "v", Kind: kind, Transforms: ts},
	}}
}

func TestTransforms(t *testing.T) {
	status := csvmap.Transform{Rule: "status-words", Map: map[string]string{
		"Terminated": "inactive", "T": "inactive", "Leave": "inactive", "On leave": "inactive", "A": "active",
	}}
	for _, tc := range []struct {
		name  string
		kind  csvmap.Kind
		ts    []csvmap.Transform
		row   string // first,last,email,v
		want  string
		err   error  // the row is rejected with it
		rule  string // named in the error
		isSet bool   // want "" means the attribute is "" (not missing)
	}{
		{name: "map", ts: []csvmap.Transform{status}, row: "Ann,Lee,a@x.se, on LEAVE ", want: "inactive"},
		{name: "map keeps unlisted", ts: []csvmap.Transform{status}, row: "Ann,Lee,a@x.se,active", want: "active"},
		{name: "map else", ts: []csvmap.Transform{{Map: map[string]string{"x": "y"}, Else: "other"}}, row: "Ann,Lee,a@x.se,z", want: "other"},
		{name: "map else leaves empty", ts: []csvmap.Transform{{Map: map[string]string{"x": "y"}, Else: "other"}}, row: "Ann,Lee,a@x.se,", want: ""},
		{name: "map empty key", ts: []csvmap.Transform{{Map: map[string]string{"": "none"}}}, row: "Ann,Lee,a@x.se,", want: "none"},
		{name: "map reject", ts: []csvmap.Transform{{Rule: "strict", Map: map[string]string{"x": "y"}, Reject: true}}, row: "Ann,Lee,a@x.se,Retired",
			err: csvmap.ErrUnmapped, rule: "strict"},
		{name: "map non-ASCII key", ts: []csvmap.Transform{{Map: map[string]string{"Ledig": "inactive", "Tjänstledig": "inactive"}}}, row: "Ann,Lee,a@x.se,TJÄNSTLEDIG", want: "inactive"},
		{name: "template", ts: []csvmap.Transform{{Template: "{first} {last}"}}, row: "Ann,Lee,a@x.se,", want: "Ann Lee"},
		{name: "template empty part", ts: []csvmap.Transform{{Template: "{first} {last}"}}, row: ",Lee,a@x.se,", want: "Lee"},
		{name: "template literal and own", ts: []csvmap.Transform{{Template: "{last}, {} {{x}}"}}, row: "Ann,Lee,a@x.se,Dr", want: "Lee, Dr {x}"},
		{name: "template reads final values", ts: []csvmap.Transform{{Template: "{email}"}}, row: "Ann,Lee,Ann@EXAMPLE.com,", want: "Ann@example.com"},
		{name: "email local", ts: []csvmap.Transform{{EmailLocal: true}}, row: "Ann,Lee,a@x.se,ann.lee@example.com", want: "ann.lee"},
		{name: "email local of another column", ts: []csvmap.Transform{{Template: "{email}"}, {EmailLocal: true}, {Case: csvmap.Lower}}, row: "Ann,Lee,Ann.Lee@x.se,", want: "ann.lee"},
		{name: "email local without @", ts: []csvmap.Transform{{EmailLocal: true}}, row: "Ann,Lee,a@x.se,annlee", err: csvmap.ErrInvalidEmail, rule: "email-local"},
		{name: "trim", ts: []csvmap.Transform{{Trim: true}}, row: "Ann,Lee,a@x.se,\"Head  of\tSales\"", want: "Head of Sales"},
		{name: "lower", ts: []csvmap.Transform{{Case: csvmap.Lower}}, row: "Ann,Lee,a@x.se,ÅSA Ström", want: "åsa ström"},
		{name: "upper", ts: []csvmap.Transform{{Case: csvmap.Upper}}, row: "Ann,Lee,a@x.se,se", want: "SE"},
		{name: "title", ts: []csvmap.Transform{{Case: csvmap.Title}}, row: "Ann,Lee,a@x.se,ANNE-MARIE O'NEIL", want: "Anne-Marie O'Neil"},
		{name: "title unchanged", ts: []csvmap.Transform{{Case: csvmap.Title}}, row: "Ann,Lee,a@x.se,Åsa Ek", want: "Åsa Ek"},
		{name: "extract", ts: []csvmap.Transform{{Extract: `^EMP-0*(\d+)$`}}, row: "Ann,Lee,a@x.se,EMP-00123", want: "123"},
		{name: "extract no match", ts: []csvmap.Transform{{Rule: "emp-number", Extract: `^EMP-(\d+)$`}}, row: "Ann,Lee,a@x.se,X-1",
			err: csvmap.ErrNoMatch, rule: "emp-number"},
		{name: "last first", ts: []csvmap.Transform{{LastFirst: true}}, row: "Ann,Lee,a@x.se,\"Lee, Ann Marie\"", want: "Ann Marie Lee"},
		{name: "last first without comma", ts: []csvmap.Transform{{LastFirst: true}}, row: "Ann,Lee,a@x.se,Ann Lee", want: "Ann Lee"},
		{name: "last first last only", ts: []csvmap.Transform{{LastFirst: true}}, row: "Ann,Lee,a@x.se,\"Lee,\"", want: "Lee"},
		{name: "date", ts: []csvmap.Transform{{Date: []string{"02.01.2006", "1/2/2006"}}}, row: "Ann,Lee,a@x.se,3/7/2024", want: "2024-03-07"},
		{name: "date then Date kind", kind: csvmap.Date, ts: []csvmap.Transform{{Date: []string{"02.01.2006"}}}, row: "Ann,Lee,a@x.se,07.03.2024", want: "2024-03-07"},
		{name: "date invalid", ts: []csvmap.Transform{{Date: []string{"02.01.2006"}}}, row: "Ann,Lee,a@x.se,2024-03-07", err: csvmap.ErrInvalidTime, rule: "date"},
		{name: "default from", ts: []csvmap.Transform{{DefaultFrom: "first"}}, row: "Ann,Lee,a@x.se,", want: "Ann"},
		{name: "default from keeps own", ts: []csvmap.Transform{{DefaultFrom: "first"}}, row: "Ann,Lee,a@x.se,Own", want: "Own"},
		{name: "expr", ts: []csvmap.Transform{{Expr: `last == "Lee" ? upper(value) : value`}}, row: "Ann,Lee,a@x.se,x", want: "X"},
		{name: "expr makes value", ts: []csvmap.Transform{{Expr: `first + "." + lower(last)`}}, row: "Ann,LEE,a@x.se,", want: "Ann.lee"},
		{name: "expr runtime error", ts: []csvmap.Transform{{Rule: "idx", Expr: `split(value, "-")[3]`}}, row: "Ann,Lee,a@x.se,a-b",
			err: csvmap.ErrExpr, rule: "idx"},
		{name: "then Kind", kind: csvmap.Email, ts: []csvmap.Transform{{Template: "{first}@example.com"}}, row: "Ann,Lee,a@x.se,", want: "Ann@example.com"},
		{name: "then Kind rejects", kind: csvmap.Email, ts: []csvmap.Transform{{Template: "{first} at example.com"}}, row: "Ann,Lee,a@x.se,", err: csvmap.ErrInvalidEmail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, rejected, _ := readFile(t, oneColumn(tc.kind, tc.ts...), "id,first,last,email,v\nE1,"+tc.row+"\n")
			if tc.err != nil {
				require.Len(t, rejected, 1)
				re := rejected[0]
				assert.ErrorIs(t, re, tc.err)
				assert.Equal(t, "users.csv", re.File)
				assert.Equal(t, 2, re.Line)
				assert.Equal(t, "v", re.Column)
				assert.Equal(t, "E1", re.Key, "the user is known to be in the file")
				if tc.rule != "" {
					var ruleErr *csvmap.RuleError
					require.ErrorAs(t, re, &ruleErr)
					assert.Equal(t, tc.rule, ruleErr.Rule)
					assert.Contains(t, re.Error(), "users.csv:2: column v: ")
					assert.Contains(t, re.Error(), "rule "+tc.rule+": ")
				}
				return
			}
			require.Empty(t, rejected)
			require.Len(t, recs, 1)
			got, _ := recs[0].Attrs.Get("v")
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestTransformErrorWording(t *testing.T) {
	_, rejected, _ := readFile(t, oneColumn(csvmap.Text, csvmap.Transform{Rule: "status-words", Map: map[string]string{"A": "active"}, Reject: true}),
		"id,first,last,email,v\nE1,Ann,Lee,a@x.se,Retired\n")
	require.Len(t, rejected, 1)
	assert.EqualError(t, rejected[0], `users.csv:2: column v: "Retired": rule status-words: value not in the map`)
}

func TestTransformStatusWords(t *testing.T) {
	s := csvmap.Schema{Columns: []csvmap.Column{
		{Name: "id", Role: csvmap.Key},
		{Name: "status", Role: csvmap.Status, Transforms: []csvmap.Transform{{Rule: "hr-status", Map: map[string]string{
			"Terminated": "inactive", "T": "inactive", "Leave": "inactive", "On leave": "inactive", "Employed": "active",
		}, Reject: true}}},
	}}
	recs, rejected, _ := readFile(t, s, "id,status\nE1,Terminated\nE2,T\nE3,On leave\nE4,Employed\nE5,Retired\nE6,\n")
	var inactive []bool
	for _, r := range recs {
		inactive = append(inactive, r.Inactive)
	}
	assert.Equal(t, []bool{true, true, true, false, false}, inactive)
	require.Len(t, rejected, 1)
	assert.EqualError(t, rejected[0], `users.csv:6: column status: "Retired": rule hr-status: value not in the map`)
}

// A column made by a template needs no header of its own, and the key may
// be made too; columns may be made from columns that are made.
func TestTransformMadeColumns(t *testing.T) {
	s := csvmap.Schema{Columns: []csvmap.Column{
		{Name: "username", Role: csvmap.Key, Fold: true, Transforms: []csvmap.Transform{{Template: "{email}"}, {EmailLocal: true}}},
		{Name: "name", Required: true, Transforms: []csvmap.Transform{{Template: "{first} {last}"}}},
		{Name: "display", Transforms: []csvmap.Transform{{Template: "{name} <{username}>"}}},
		{Name: "first", Transforms: []csvmap.Transform{{Case: csvmap.Title}}},
		{Name: "last", Transforms: []csvmap.Transform{{Case: csvmap.Title}}},
		{Name: "email", Kind: csvmap.Email, Required: true},
	}}
	recs, rejected, rr := readFile(t, s, "email,first,last\nAnn.Lee@X.se,ANN,LEE\nbob@x.se,,berg\nnot-an-email,Cy,Ek\n")
	require.Len(t, recs, 2)
	assert.Equal(t, "ann.lee", recs[0].Key)
	assert.Equal(t, `{name="Ann Lee" display="Ann Lee <ann.lee>" first="Ann" last="Lee" email="Ann.Lee@x.se"}`, recs[0].Attrs.String())
	assert.Equal(t, "bob", recs[1].Key)
	require.Len(t, rejected, 1)
	assert.ErrorIs(t, rejected[0], csvmap.ErrInvalidEmail)
	assert.Empty(t, rr.(usersync.FormatReader).Format().Warnings, "columns their transforms make are not expected in the file")
}

func TestTransformSchemaErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		col  csvmap.Column
		want string
	}{
		{"no rule", csvmap.Column{Name: "v", Transforms: []csvmap.Transform{{}}}, "sets no rule"},
		{"two rules", csvmap.Column{Name: "v", Transforms: []csvmap.Transform{{Trim: true, LastFirst: true}}}, "more than one rule"},
		{"else without map", csvmap.Column{Name: "v", Transforms: []csvmap.Transform{{Trim: true, Else: "x"}}}, "Else and Reject are only for one"},
		{"else and reject", csvmap.Column{Name: "v", Transforms: []csvmap.Transform{{Map: map[string]string{}, Else: "x", Reject: true}}}, "not both"},
		{"map twice", csvmap.Column{Name: "v", Transforms: []csvmap.Transform{{Map: map[string]string{"A": "1", "a": "2"}}}}, "twice"},
		{"unknown column", csvmap.Column{Name: "v", Transforms: []csvmap.Transform{{Template: "{nope}"}}}, `{nope} is not a column`},
		{"open brace", csvmap.Column{Name: "v", Transforms: []csvmap.Transform{{Template: "{first"}}}, "not closed"},
		{"regexp", csvmap.Column{Name: "v", Transforms: []csvmap.Transform{{Extract: "("}}}, "Extract pattern"},
		{"no group", csvmap.Column{Name: "v", Transforms: []csvmap.Transform{{Extract: `\d+`}}}, "no capture group"},
		{"no layout", csvmap.Column{Name: "v", Transforms: []csvmap.Transform{{Date: []string{}}}}, "no layout"},
		{"default from", csvmap.Column{Name: "v", Transforms: []csvmap.Transform{{DefaultFrom: "nope"}}}, "not a column"},
		{"expr syntax", csvmap.Column{Name: "v", Transforms: []csvmap.Transform{{Expr: "value +"}}}, "expression:"},
		{"expr unknown variable", csvmap.Column{Name: "v", Transforms: []csvmap.Transform{{Expr: "nope"}}}, "expression:"},
		{"expr not a string", csvmap.Column{Name: "v", Transforms: []csvmap.Transform{{Expr: "1 + 2"}}}, "expression:"},
		{"skip column", csvmap.Column{Name: "v", Role: csvmap.Skip, Transforms: []csvmap.Transform{{Trim: true}}}, "only for Attribute, Key, Groups and Status"},
		{"cycle", csvmap.Column{Name: "v", Transforms: []csvmap.Transform{{Template: "{w}"}}}, "made from itself"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := csvmap.Schema{Columns: []csvmap.Column{
				{Name: "id", Role: csvmap.Key}, {Name: "first"},
				{Name: "w", Transforms: []csvmap.Transform{{DefaultFrom: "v"}}},
				tc.col,
			}}
			if tc.name != "cycle" {
				s.Columns[2].Transforms = nil
			}
			_, err := csvmap.New(s, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "csvmap: column "), err.Error())
		})
	}
}

func TestFilters(t *testing.T) {
	s := csvmap.Schema{
		Columns: []csvmap.Column{
			{Name: "id", Role: csvmap.Key, Fold: true},
			{Name: "email", Kind: csvmap.Email},
			{Name: "type", Role: csvmap.Ignore},
			{Name: "company"},
		},
		Filters: []csvmap.Filter{
			{Name: "acme-only", Mode: csvmap.Include, Column: "company", Values: []string{"Acme", "Acme AB"}},
			{Name: "contractors", Mode: csvmap.Exclude, Column: "type", Pattern: `^(C|Contractor)$`},
			{Mode: csvmap.Exclude, Expr: `email endsWith "@external.example"`},
		},
	}
	const file = "id,email,type,company\n" +
		"E1,ann@acme.se,Employee,acme\n" +
		"E2,bob@acme.se,C,Acme\n" + // contractor
		"E3,cy@other.se,Employee,Other\n" + // not Acme
		"E4,not an email,Contractor,Acme\n" + // out of scope, not rejected
		"E5,dan@external.example,Employee,Acme AB\n" +
		"E6,eve@acme.se,,Acme AB\n" +
		"E7,bad email,Employee,Acme\n" // in scope: rejected
	recs, rejected, rr := readFile(t, s, file)
	var keys []string
	for _, r := range recs {
		keys = append(keys, r.Key)
	}
	assert.Equal(t, []string{"e1", "e6"}, keys)
	require.Len(t, rejected, 1)
	assert.Equal(t, 8, rejected[0].Line)
	assert.Equal(t, 4, rr.(usersync.FormatReader).Format().OutOfScope)
	assert.Equal(t, []usersync.OutOfScope{
		{Key: "e2", Rule: "contractors"}, {Key: "e3", Rule: "acme-only"}, {Key: "e4", Rule: "contractors"},
		{Key: "e5", Rule: "exclude expression"},
	}, rr.(usersync.ScopeReader).OutOfScope())
}

// A filter's column must be in the file: otherwise it would put every row
// out of scope, or none.
func TestFilterColumnMissing(t *testing.T) {
	m, err := csvmap.New(csvmap.Schema{
		Columns: []csvmap.Column{{Name: "id", Role: csvmap.Key}, {Name: "type", Role: csvmap.Ignore}},
		Filters: []csvmap.Filter{{Mode: csvmap.Exclude, Column: "type", Values: []string{"C"}}},
	}, nil)
	require.NoError(t, err)
	_, err = m.NewReader(strings.NewReader("id\nE1\n"), usersync.FileInfo{Name: "users.csv"})
	assert.ErrorIs(t, err, csvmap.ErrMissingColumn)
	assert.ErrorContains(t, err, `"type": the filters read it`)
}

func TestFilterSchemaErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    csvmap.Filter
		want string
	}{
		{"no mode", csvmap.Filter{Column: "type", Values: []string{"C"}}, "Mode"},
		{"nothing", csvmap.Filter{Mode: csvmap.Include, Column: "type"}, "one of Values, Pattern or Expr"},
		{"two", csvmap.Filter{Mode: csvmap.Include, Column: "type", Values: []string{"C"}, Pattern: "C"}, "one of Values"},
		{"no column", csvmap.Filter{Mode: csvmap.Include, Values: []string{"C"}}, "give the Column"},
		{"unknown column", csvmap.Filter{Mode: csvmap.Include, Column: "nope", Values: []string{"C"}}, `"nope" is not a column`},
		{"bad pattern", csvmap.Filter{Mode: csvmap.Include, Column: "type", Pattern: "("}, "the pattern: error parsing"},
		{"expr not bool", csvmap.Filter{Mode: csvmap.Include, Expr: "type"}, "expression: expected bool"},
		{"expr with column", csvmap.Filter{Mode: csvmap.Include, Column: "type", Expr: `type == "C"`}, "leave Column empty"},
		{"expr constant", csvmap.Filter{Mode: csvmap.Include, Expr: `true`}, "reads no column"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := csvmap.New(csvmap.Schema{
				Columns: []csvmap.Column{{Name: "id", Role: csvmap.Key}, {Name: "type", Role: csvmap.Ignore}},
				Filters: []csvmap.Filter{tc.f},
			}, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "csvmap: filter ")
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// Rows out of scope do not count toward the hold policy.
func TestFilterHoldPolicy(t *testing.T) {
	m, err := csvmap.New(csvmap.Schema{
		Columns: []csvmap.Column{{Name: "id", Role: csvmap.Key}, {Name: "email", Kind: csvmap.Email}, {Name: "type", Role: csvmap.Ignore}},
		Filters: []csvmap.Filter{{Mode: csvmap.Exclude, Column: "type", Values: []string{"C"}}},
	}, &csvmap.Options{Hold: &csvmap.HoldPolicy{Rows: -1, Percent: 40}})
	require.NoError(t, err)
	file := "id,email,type\nE1,bad,E\nE2,b@x.se,E\nE3,c@x.se,E\nE4,x,C\nE5,x,C\nE6,x,C\n"
	rr, err := m.NewReader(strings.NewReader(file), usersync.FileInfo{Name: "users.csv"})
	require.NoError(t, err)
	for {
		_, err := rr.Read()
		if err != nil && !errors.As(err, new(*usersync.RowError)) {
			assert.Equal(t, io.EOF, err, "1 of 3 rows in scope rejected: 33%%, under 40%%")
			break
		}
	}
}

// The key of a row out of scope is made as for any row, even after a
// plain ASCII row.
func TestOutOfScopeKeyAfterASCIIRow(t *testing.T) {
	_, _, rr := readFile(t, csvmap.Schema{
		Columns: []csvmap.Column{{Name: "id", Role: csvmap.Key, Transforms: []csvmap.Transform{{Case: csvmap.Lower}}}, {Name: "type", Role: csvmap.Ignore}},
		Filters: []csvmap.Filter{{Name: "c", Mode: csvmap.Exclude, Column: "type", Values: []string{"C"}}},
	}, "id,type\nABC,E\nÅSA,C\n")
	assert.Equal(t, []usersync.OutOfScope{{Key: "åsa", Rule: "c"}}, rr.(usersync.ScopeReader).OutOfScope())
}

package csvmap

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// Expressions are for what the plain rules cannot say; the package doc
// says why they are expr-lang/expr's. A program is compiled once, in New: a
// syntax error, an unknown variable or a result of the wrong type fails the
// schema, not a row. At run time each program has the VM's default memory
// budget, and it cannot loop without end. The functions now, repeat and
// reduce are left out (see disabledBuiltins).

// An exprUse says what an expression is for.
type exprUse uint8

const (
	exprTransform exprUse = iota // makes a string; sees value and the Attribute and Key columns
	exprFilter                   // makes a bool; sees every column, as written in the file
)

// maxExprNodes bounds an expression's size.
const maxExprNodes = 1000

// disabledBuiltins are the functions of expr an expression may not call:
// now, since a value must depend on the row alone (or every run would
// update every user), and repeat and reduce, which can build a string of
// any size before the VM's memory budget is checked.
var disabledBuiltins = []string{"now", "repeat", "reduce"}

// A program is a compiled expression, with the columns it reads.
type program struct {
	src       string
	prog      *vm.Program
	vars      []exprVar
	usesValue bool
}

// An exprVar is a column an expression reads, by its Name.
type exprVar struct {
	name string
	col  int
}

// compileExpr compiles src for use, in the schema of column self ("" for a
// filter).
func (m *Mapper) compileExpr(src string, use exprUse, self string) (*program, error) {
	env := map[string]any{}
	for i := range m.cols {
		c := &m.cols[i]
		if use == exprFilter || (c.Role == Attribute || c.Role == Key) && c.Name != self {
			env[c.Name] = ""
		}
	}
	opts := []expr.Option{expr.Env(env), expr.MaxNodes(maxExprNodes)}
	for _, b := range disabledBuiltins {
		opts = append(opts, expr.DisableBuiltin(b))
	}
	if use == exprTransform {
		env["value"] = ""
		opts = append(opts, expr.AsKind(reflect.String))
	} else {
		opts = append(opts, expr.AsBool())
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, fmt.Errorf("expression: %s", oneLineErr(err))
	}
	p := &program{src: src, prog: prog}
	var bad error
	names := map[string]bool{}
	visit := func(n ast.Node) {
		switch n := n.(type) {
		case *ast.IdentifierNode:
			if _, ok := env[n.Value]; ok {
				names[n.Value] = true
			}
		case *ast.MemberNode:
			if id, ok := n.Node.(*ast.IdentifierNode); ok && id.Value == "$env" {
				s, ok := n.Property.(*ast.StringNode)
				if !ok {
					bad = errors.New(`expression: $env takes a quoted column name, such as $env["First Name"]`)
					return
				}
				if _, ok := env[s.Value]; !ok {
					bad = fmt.Errorf("expression: $env[%q] is not a column", s.Value)
					return
				}
				names[s.Value] = true
			}
		}
	}
	root := prog.Node()
	ast.Walk(&root, visitor(visit))
	if bad != nil {
		return nil, bad
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range names {
			if !yield(n) {
				return
			}
		}
	}) {
		if name == "value" && use == exprTransform {
			p.usesValue = true
			continue
		}
		p.vars = append(p.vars, exprVar{name: name, col: m.colIndex(name)})
	}
	return p, nil
}

// colIndex returns the index of the column named name, or -1.
func (m *Mapper) colIndex(name string) int {
	for i := range m.cols {
		if m.cols[i].Name == name {
			return i
		}
	}
	return -1
}

// visitor adapts a func to ast.Visitor.
type visitor func(ast.Node)

func (v visitor) Visit(n *ast.Node) { v(*n) }

// oneLineErr returns the first line of an expr error: the rest draws the
// source with a caret, which a one-line message cannot show.
func oneLineErr(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// runExpr runs a transform's program on the value v.
func (t *transformer) runExpr(p *program, v string) (string, error) {
	env := t.envFor(p, t.vals)
	env["value"] = v
	out, err := t.vm.Run(p.prog, env)
	if err != nil {
		return "", fmt.Errorf("%w: %s", ErrExpr, oneLineErr(err))
	}
	s, _ := out.(string)
	c, ok := cleanSlow(s, t.m.maxField)
	if !ok {
		return "", fmt.Errorf("%w: it made a value that is not valid text, or longer than %d bytes", ErrExpr, t.m.maxField)
	}
	return c, nil
}

// envFor returns the environment of a program, its variables set from the
// values of the current row.
func (t *transformer) envFor(p *program, vals []string) map[string]any {
	if t.env == nil {
		t.env = make(map[string]any)
	}
	for _, v := range p.vars {
		t.env[v.name] = vals[v.col]
	}
	return t.env
}

package config

import (
	"encoding"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The decoder walks the yaml.Node tree itself, rather than letting
// yaml.Decoder fill the structs with KnownFields set, for one reason: an
// administrator must learn which key is wrong and where. yaml's own errors
// name a line and a Go type ("field prot not found in type config.SFTP");
// ours name the file, the line and the key path ("usersync.yaml:12:
// source.sftp.prot: unknown key; did you mean "port"?"), and list every
// problem at once instead of the first.
//
// Beyond plain YAML it knows three things about the fields it fills:
//
//   - a field of type Path is a file name, relative to the config file's
//     folder, with ~ for the home folder;
//   - a field of type Secret tagged `yaml:"password,secret"` is read from
//     the keys password_env (an environment variable's name) or
//     password_file, never from a literal "password" key in the file
//     (unless the tag also says "literal");
//   - a field whose type implements encoding.TextUnmarshaler takes a scalar,
//     and so does a struct that implements it besides taking a mapping.
type decoder struct {
	file      string // the config file's name, as messages show it
	dir       string // relative paths start here
	lookupEnv func(string) (string, bool)

	errs     Errors
	warnings []string
	lines    map[string]int // key path -> line
	secrets  []string       // every secret value read, for redaction
}

// maxErrors bounds the problems listed: past that, the file is probably
// not a usersync config at all.
const maxErrors = 20

// maxDepth bounds nesting, against alias bombs and runaway recursion.
const maxDepth = 32

var (
	pathType   = reflect.TypeFor[Path]()
	secretType = reflect.TypeFor[Secret]()
	textType   = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// errorf records a problem with the value at path, found in node n.
func (d *decoder) errorf(n *yaml.Node, path string, format string, args ...any) {
	d.fail(n, path, fmt.Errorf(format, args...))
}

func (d *decoder) fail(n *yaml.Node, path string, err error) {
	line := 0
	if n != nil {
		line = n.Line
	}
	if line == 0 {
		line = d.lineOf(path)
	}
	if len(d.errs) < maxErrors {
		d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: path, Err: err})
	}
}

// lineOf returns the line of the key path, or of the nearest parent key the
// file holds.
func (d *decoder) lineOf(path string) int {
	for p := path; p != ""; p = parentPath(p) {
		if l, ok := d.lines[p]; ok {
			return l
		}
	}
	return 0
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// decode fills v from n; path names v in messages.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, depth int) {
	if depth > maxDepth {
		d.errorf(n, path, "nested too deeply")
		return
	}
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if _, ok := d.lines[path]; !ok && path != "" {
		d.lines[path] = n.Line
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // "key:" with no value leaves the default
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path, depth+1)
		return
	}
	if v.Type() == pathType {
		d.path(n, v, path)
		return
	}
	if n.Kind == yaml.ScalarNode && reflect.PointerTo(v.Type()).Implements(textType) {
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.fail(n, path, err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.mapping(n, v, path, depth)
	case reflect.Slice:
		d.sequence(n, v, path, depth)
	case reflect.Map:
		d.mapOf(n, v, path, depth)
	default:
		d.scalar(n, v, path)
	}
}

// scalar fills a string, bool or number.
func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "want %s, got %s", describeKind(v.Kind()), describeNode(n))
		return
	}
	s := strings.TrimSpace(n.Value)
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		b, ok := parseBool(s)
		if !ok {
			d.errorf(n, path, "want true or false, got %q", n.Value)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, err := strconv.ParseInt(s, 0, v.Type().Bits())
		if err != nil {
			d.errorf(n, path, "want a whole number, got %q", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			d.errorf(n, path, "want a number, got %q", n.Value)
			return
		}
		v.SetFloat(f)
	default:
		panic("config: cannot decode into " + v.Type().String())
	}
}

func parseBool(s string) (b, ok bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "on":
		return true, true
	case "false", "no", "off":
		return false, true
	}
	return false, false
}

// sequence fills a slice from a sequence, or from a single scalar as a
// list of one ("on: problems" for "on: [problems]").
func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string, depth int) {
	items := n.Content
	switch n.Kind {
	case yaml.SequenceNode:
	case yaml.ScalarNode:
		items = []*yaml.Node{n}
	default:
		d.errorf(n, path, "want a list, got %s", describeNode(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(items), len(items))
	for i, item := range items {
		p := fmt.Sprintf("%s[%d]", path, i)
		if n.Kind == yaml.ScalarNode {
			p = path
		}
		d.decode(item, s.Index(i), p, depth+1)
	}
	v.Set(s)
}

// mapOf fills a map with string keys.
func (d *decoder) mapOf(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "want a mapping of names to values, got %s", describeNode(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if !d.checkKey(k, path, seen) {
			continue
		}
		p := joinPath(path, k.Value)
		d.lines[p] = k.Line
		e := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, e, p, depth+1)
		m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), e)
	}
	v.Set(m)
}

// checkKey checks that k is a plain key not seen before in its mapping.
func (d *decoder) checkKey(k *yaml.Node, path string, seen map[string]int) bool {
	if k.Kind != yaml.ScalarNode {
		d.errorf(k, path, "a key must be a name, not %s", describeNode(k))
		return false
	}
	if k.Value == "<<" {
		d.errorf(k, path, "merge keys (<<) are not supported; repeat the keys instead")
		return false
	}
	if first, dup := seen[k.Value]; dup {
		d.errorf(k, joinPath(path, k.Value), "key given twice (first on line %d)", first)
		return false
	}
	seen[k.Value] = k.Line
	return true
}

// mapping fills a struct from a mapping, refusing keys it does not know.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "want a mapping of keys, got %s", describeNode(n))
		return
	}
	fields := fieldsOf(v.Type())
	seen := map[string]int{}
	secretSet := map[string]string{} // secret field -> the key that set it
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if !d.checkKey(k, path, seen) {
			continue
		}
		p := joinPath(path, k.Value)
		d.lines[p] = k.Line
		f, ok := fields[k.Value]
		if !ok {
			d.fail(k, p, unknownKey(k.Value, fields))
			continue
		}
		fv := v.FieldByIndex(f.index)
		if f.secret == "" {
			d.decode(val, fv, p, depth+1)
			continue
		}
		if other, dup := secretSet[f.secret]; dup {
			d.errorf(k, p, "give only one of %s and %s", other, k.Value)
			continue
		}
		secretSet[f.secret] = k.Value
		d.secret(val, fv, p, f.from)
	}
}

// A field says where a key's value goes.
type field struct {
	index  []int
	secret string // for a Secret: the field's base name ("password")
	from   string // for a Secret: "env", "file" or "literal"
}

// fieldsOf maps the keys a struct type takes to its fields, inline
// structs included.
func fieldsOf(t reflect.Type) map[string]field {
	out := map[string]field{}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("yaml")
		if !ok || tag == "-" || !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		idx := []int{i}
		switch {
		case opts == "inline":
			for k, f := range fieldsOf(sf.Type) {
				f.index = append(append([]int(nil), idx...), f.index...)
				out[k] = f
			}
		case strings.HasPrefix(opts, "secret"):
			if sf.Type != secretType {
				panic("config: secret tag on a field that is not a Secret")
			}
			out[name+"_env"] = field{index: idx, secret: name, from: "env"}
			out[name+"_file"] = field{index: idx, secret: name, from: "file"}
			if strings.Contains(opts, "literal") {
				out[name] = field{index: idx, secret: name, from: "literal"}
			}
		default:
			out[name] = field{index: idx}
		}
	}
	return out
}

// unknownKey explains a key the struct does not take: a literal secret,
// a likely typo, or the keys it does take.
func unknownKey(key string, fields map[string]field) error {
	if f, ok := fields[key+"_env"]; ok && f.secret != "" {
		return fmt.Errorf("secrets are never read from the config file: give %s_env (the name of an environment variable that holds it) or %s_file (a file that holds it)", key, key)
	}
	names := make([]string, 0, len(fields))
	best, bestDist := "", 3
	for k := range fields {
		names = append(names, k)
		if dist := editDistance(strings.ToLower(key), k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if best != "" {
		return fmt.Errorf("unknown key; did you mean %q?", best)
	}
	sort.Strings(names)
	return fmt.Errorf("unknown key; this section takes %s", strings.Join(names, ", "))
}

// editDistance is the Levenshtein distance of a and b, for suggestions.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// path fills a Path, relative to the config file's folder.
func (d *decoder) path(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "want a file name, got %s", describeNode(n))
		return
	}
	p, err := d.resolve(n.Value)
	if err != nil {
		d.fail(n, path, err)
		return
	}
	v.SetString(string(p))
}

// resolve makes a file name of the config file absolute.
func (d *decoder) resolve(name string) (Path, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", errors.New("empty file name")
	case name == "~" || strings.HasPrefix(name, "~/"):
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		name = filepath.Join(home, name[1:])
	case !filepath.IsAbs(name):
		name = filepath.Join(d.dir, name)
	}
	return Path(filepath.Clean(name)), nil
}

// MinSecretLength is the fewest characters a secret may have. The command
// removes its secrets from everything it prints, as whole tokens; a short
// one, such as "first", would also remove that word from "the first run",
// and so both garble the text and give the secret away.
const MinSecretLength = 8

// maxSecretFile bounds a secret file: a password or a DSN, not a dump.
const maxSecretFile = 64 << 10

// secret fills a Secret from an environment variable, a file or, where the
// tag allows, the config file itself.
func (d *decoder) secret(n *yaml.Node, v reflect.Value, path, from string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "want %s, got %s", map[string]string{
			"env": "the name of an environment variable", "file": "a file name", "literal": "a text value",
		}[from], describeNode(n))
		return
	}
	var s Secret
	switch from {
	case "env":
		name := strings.TrimSpace(n.Value)
		val, ok := d.lookupEnv(name)
		switch {
		case !ok:
			d.errorf(n, path, "environment variable %s is not set", name)
			return
		case val == "":
			d.errorf(n, path, "environment variable %s is empty", name)
			return
		}
		s = Secret{value: val, from: "environment variable " + name}
	case "file":
		p, err := d.resolve(n.Value)
		if err == nil {
			s, err = d.readSecretFile(p)
		}
		if err != nil {
			d.fail(n, path, err)
			return
		}
	default:
		s = Secret{value: n.Value, from: "the config file", literal: true}
	}
	if k := utf8.RuneCountInString(s.value); k < MinSecretLength && !s.literal {
		d.errorf(n, path, "the secret in %s has %d characters, fewer than %d: a secret so short is easily guessed, "+
			"and cannot be kept out of messages without garbling ordinary words; use a longer one", s.from, k, MinSecretLength)
	}
	d.secrets = append(d.secrets, s.value)
	v.Set(reflect.ValueOf(s))
}

// readSecretFile reads a secret, without the line end an editor or echo
// leaves after it, and warns when others may read the file.
func (d *decoder) readSecretFile(p Path) (Secret, error) {
	f, err := os.Open(string(p))
	if err != nil {
		return Secret{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Secret{}, err
	}
	if fi.Size() > maxSecretFile {
		return Secret{}, fmt.Errorf("%s: %d bytes is too large for a secret", p, fi.Size())
	}
	d.warnPermissions(p, fi)
	b := make([]byte, fi.Size())
	if _, err := f.ReadAt(b, 0); err != nil && fi.Size() > 0 {
		return Secret{}, fmt.Errorf("%s: %w", p, err)
	}
	val := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if val == "" {
		return Secret{}, fmt.Errorf("%s is empty", p)
	}
	return Secret{value: val, from: "file " + string(p)}, nil
}

// warnPermissions warns about a secret file that others than its owner may
// read, as OpenSSH does about private keys.
func (d *decoder) warnPermissions(p Path, fi os.FileInfo) {
	if fi.Mode().Perm()&0o077 != 0 {
		d.warnings = append(d.warnings, fmt.Sprintf("%s holds a secret but others may read it (mode %#o): chmod 600 %s",
			p, fi.Mode().Perm(), p))
	}
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

func describeKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a text value"
	case reflect.Bool:
		return "true or false"
	case reflect.Float64:
		return "a number"
	}
	return "a whole number"
}

package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadOptions tune Load. A nil *LoadOptions means the defaults.
type LoadOptions struct {
	// LookupEnv reads the environment variables that secrets come from;
	// nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// maxConfigFile bounds the config file: a few kilobytes in practice.
const maxConfigFile = 4 << 20

// Load reads and checks the config file at path. Its error is an Errors
// listing every problem, each naming the file, the line and the key, or an
// error reading the file. Secrets are read from the environment variables
// and files the config names, and relative file names start in the config
// file's folder.
func Load(path string, opts *LoadOptions) (*Config, error) {
	data, err := readConfig(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, opts)
}

func readConfig(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfigFile {
		return nil, fmt.Errorf("%s: larger than %d bytes: is it a config file?", path, maxConfigFile)
	}
	return data, nil
}

// Parse checks the config in data, read from the file at path (which names
// the file in messages and anchors relative file names).
func Parse(path string, data []byte, opts *LoadOptions) (*Config, error) {
	d := &decoder{file: path, lookupEnv: os.LookupEnv, lines: map[string]int{}}
	if opts != nil && opts.LookupEnv != nil {
		d.lookupEnv = opts.LookupEnv
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	d.dir = filepath.Dir(abs)

	root, err := parseYAML(data)
	if err != nil {
		return nil, &Error{File: path, Line: yamlLine(err), Err: err}
	}
	cfg := &Config{File: path}
	d.decode(root, reflect.ValueOf(cfg).Elem(), "", 0)
	// The checks run even when some keys did not decode, so that every
	// problem shows at once; a check of a key that failed to decode is
	// dropped (see checker.fail), since it would only repeat it.
	c := &checker{d: d, decodeErrs: len(d.errs)}
	cfg.check(c)
	if len(d.errs) > 0 {
		sort.SliceStable(d.errs, func(i, j int) bool { return d.errs[i].Line < d.errs[j].Line })
		return nil, d.errs
	}
	cfg.Warnings, cfg.secrets = d.warnings, d.secrets
	return cfg, nil
}

// parseYAML parses one YAML document holding a mapping.
func parseYAML(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty")
		}
		return nil, err
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, errors.New("the file holds more than one YAML document (---); give one")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("want a mapping of keys (source:, mapping:, sink:, ...), got %s", describeNode(root))
	}
	return root, nil
}

// yamlLine digs the line out of a YAML syntax error, "yaml: line 3: ...".
func yamlLine(err error) int {
	var line int
	if _, e := fmt.Sscanf(err.Error(), "yaml: line %d:", &line); e == nil {
		return line
	}
	return 0
}

// A checker reports problems found after decoding, at the line of the key
// they concern.
type checker struct {
	d          *decoder
	decodeErrs int // the first problems, found decoding
}

func (c *checker) errorf(path, format string, args ...any) {
	c.fail(path, fmt.Errorf(format, args...))
}

// fail reports a problem, unless decoding found one with the same key, or
// with a key the problem's is within: a value that did not decode is left
// empty, and the check would only say so again.
func (c *checker) fail(path string, err error) {
	for _, e := range c.d.errs[:c.decodeErrs] {
		if within(path, e.Key) {
			return
		}
	}
	c.d.fail(nil, path, err)
}

// within reports whether the key path p is parent or within it.
func within(p, parent string) bool {
	return p == parent || strings.HasPrefix(p, parent+".") || strings.HasPrefix(p, parent+"[")
}

func (c *checker) failed() bool { return len(c.d.errs) > 0 }

func (c *checker) warnf(format string, args ...any) {
	c.d.warnings = append(c.d.warnings, fmt.Sprintf(format, args...))
}

// has reports whether the file gave the key path.
func (c *checker) has(path string) bool {
	_, ok := c.d.lines[path]
	return ok
}

// readFile reads a file the config names, such as a key, reporting a
// failure at the key.
func (c *checker) readFile(path string, p Path, secret bool) []byte {
	f, err := os.Open(string(p))
	if err != nil {
		c.fail(path, err)
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err == nil && secret {
		c.d.warnPermissions(p, fi)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	switch {
	case err != nil:
		c.fail(path, err)
		return nil
	case len(data) > maxConfigFile:
		c.errorf(path, "%s: larger than %d bytes: is it the right file?", p, maxConfigFile)
		return nil
	case len(data) == 0:
		c.errorf(path, "%s is empty", p)
		return nil
	}
	return data
}

// check checks the sections against each other and builds what can be
// built without connecting anywhere.
func (cfg *Config) check(c *checker) {
	if cfg.PlansDir == "" {
		cfg.PlansDir = Path(filepath.Join(c.d.dir, "plans"))
	}
	if cfg.MemoryBudget != 0 && cfg.MemoryBudget < minMemoryBudget {
		c.errorf("memory_budget", "must be at least 16MiB: records are spilled in chunks of an eighth of it")
	}
	cfg.Source.check(c)
	cfg.Unpack.check(c)
	if cfg.Decrypt != nil {
		cfg.Decrypt.check(c)
	}
	cfg.Mapping.delta = cfg.Policy.delta() // a OneRoster bundle must agree
	cfg.mapper = cfg.Mapping.build(c)
	cfg.policy = cfg.Policy.build(c)
	cfg.Sink.check(c)
	cfg.Reports.check(c)
	if cfg.Schedule != nil {
		cfg.Schedule.check(c)
	}
}

// minMemoryBudget is the smallest memory_budget a config may give.
const minMemoryBudget = 16 << 20

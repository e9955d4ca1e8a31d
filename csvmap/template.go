package csvmap

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// WriteTemplate writes a sample file a customer can start from, like
// SMARTFENSE's "Download Sample CSV": the header, with every column's
// Header, and one example row, with each column's Example or a value made
// up for its Kind. The Mapper reads it back without a warning.
//
// It is UTF-8, with a byte order mark when an example holds characters
// beyond ASCII (so that Excel shows them right), and the Mapper's Comma, or
// ',' when the Mapper detects it.
func (m *Mapper) WriteTemplate(w io.Writer) error {
	header := make([]string, len(m.cols))
	example := make([]string, len(m.cols))
	for i := range m.cols {
		header[i] = m.cols[i].header()
		example[i] = m.example(&m.cols[i])
	}
	bw := bufio.NewWriter(w)
	if !isPlainASCII(strings.Join(example, "")) {
		bw.WriteString("\uFEFF")
	}
	cw := csv.NewWriter(bw)
	cw.Comma = ','
	if m.comma != 0 {
		cw.Comma = rune(m.comma)
	}
	cw.Write(header)
	cw.Write(example)
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// exampleTime is the moment examples of dates and times show.
var exampleTime = time.Date(2025, time.November, 21, 2, 0, 0, 0, time.UTC)

// example returns the example value of c.
func (m *Mapper) example(c *column) string {
	if c.Example != "" || c.Role == Ignore || c.Role == Skip {
		return c.Example
	}
	var v string
	switch c.Role {
	case Status:
		return "active"
	case Groups:
		return "Example group"
	}
	switch c.Kind {
	case Email:
		v = "ann.lee@example.com"
	case Phone:
		region := m.region
		if region == "" {
			region = "SE"
		}
		v = phonenumbers.Format(phonenumbers.GetExampleNumberForType(region, phonenumbers.MOBILE), phonenumbers.INTERNATIONAL)
	case Bool:
		v = "true"
	case Date, Timestamp:
		layout := time.DateOnly
		if c.Kind == Timestamp {
			layout = time.RFC3339
		}
		if c.Layouts != nil {
			layout = c.Layouts[0]
		}
		v = exampleTime.Format(layout)
	case Enum:
		v = c.Values[0]
	default:
		v = "example"
		if c.Role == Key {
			v = "E1001"
		}
		if len(v) < c.MinLen {
			v += strings.Repeat("0", c.MinLen-len(v))
		}
		if c.MaxLen > 0 && len(v) > c.MaxLen {
			v = v[:c.MaxLen]
		}
	}
	if c.Fold {
		v = strings.ToLower(v)
	}
	return v
}

// WriteDescription writes a plain-text description of the files the Mapper
// reads, for a host's help pages: how headers, delimiter and encoding are
// found, then each column with whether it is required, its kind, separator,
// length bounds and other accepted headers, and its Description.
func (m *Mapper) WriteDescription(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if m.name != "" {
		fmt.Fprintf(bw, "%s\n\n", m.name)
	}
	for _, line := range m.fileRules() {
		fmt.Fprintln(bw, line)
	}
	for i := range m.cols {
		c := &m.cols[i]
		fmt.Fprintf(bw, "\n%s (%s)\n", c.header(), m.presence(c))
		for _, line := range m.valueRules(c) {
			fmt.Fprintf(bw, "    %s\n", line)
		}
	}
	return bw.Flush()
}

// fileRules describes what applies to the whole file.
func (m *Mapper) fileRules() []string {
	var rules []string
	switch m.headers {
	case LowerSnake:
		rules = append(rules, "Headers are in lower case without spaces (first_name), in any order.")
	default:
		rules = append(rules, "Headers may come in any order and case; spaces, underscores and hyphens in them are ignored.")
	}
	if m.strict {
		rules = append(rules, "A column not listed here makes the file fail.")
	} else {
		rules = append(rules, "Columns not listed here are ignored.")
	}
	if m.comma == 0 {
		rules = append(rules, "Values are separated by commas, semicolons, tabs or pipes (|), whichever the header uses.")
	} else {
		rules = append(rules, fmt.Sprintf("Values are separated by %q.", m.comma))
	}
	if m.encName != "" {
		rules = append(rules, "The file is in "+m.encName+", or in UTF-8 or UTF-16 with a byte order mark.")
	} else {
		rules = append(rules, "The file is in UTF-8 or UTF-16 (as Excel's \"Unicode text\"), with or without a byte order mark.")
	}
	rules = append(rules, m.fileKindRules()...)
	return append(rules, m.filterRules()...)
}

// presence says whether c is required and what it feeds.
func (m *Mapper) presence(c *column) string {
	s := "optional"
	if c.Required || c.Role == Key {
		s = "required"
	}
	if c.from != nil {
		s += "; made from " + strings.Join(m.headersOf(c.from), " and ") + " when empty or missing"
	}
	switch c.Role {
	case Key:
		s += "; identifies the " + m.keyOf()
	case Groups:
		s += "; the user's groups"
	case Status:
		s += "; whether the user is active"
	case Skip:
		s += "; leaves rows out"
	case Ignore:
		if slices.Contains(m.filterCols, c.index(m)) {
			s += "; read by the filters only"
		} else {
			s += "; not read"
		}
	}
	return s
}

// valueRules describes the values of c.
func (m *Mapper) valueRules(c *column) []string {
	var rules []string
	if r := kindRule(c); r != "" {
		rules = append(rules, r)
	}
	if c.Kind == Phone && m.region != "" {
		rules = append(rules, "Without a country code, a number of "+m.region+".")
	}
	if c.Separator != "" {
		rules = append(rules, fmt.Sprintf("Several values are separated by %q.", c.Separator))
	}
	switch {
	case c.MinLen > 0 && c.MaxLen > 0:
		rules = append(rules, fmt.Sprintf("%d to %d characters.", c.MinLen, c.MaxLen))
	case c.MinLen > 0:
		rules = append(rules, fmt.Sprintf("At least %d characters.", c.MinLen))
	case c.MaxLen > 0:
		rules = append(rules, fmt.Sprintf("At most %d characters.", c.MaxLen))
	}
	if c.Fold {
		rules = append(rules, "Compared without regard to case.")
	}
	if c.Default != "" {
		rules = append(rules, fmt.Sprintf("When empty or missing: %s.", c.Default))
	}
	if c.Description != "" {
		rules = append(rules, c.Description)
	} else if r := m.stepsRule(c); r != "" {
		rules = append(rules, r)
	}
	if len(c.Aliases) > 0 {
		rules = append(rules, "Also accepted as: "+strings.Join(c.Aliases, ", ")+".")
	}
	if ex := m.example(c); ex != "" {
		rules = append(rules, "Example: "+ex)
	}
	return rules
}

// kindRule describes the Kind of c, or the words its Role accepts.
func kindRule(c *column) string {
	switch c.Role {
	case Status:
		return "1, true, yes, active or enabled (or empty) for an active user; 0, false, no, inactive or disabled for an inactive one."
	case Skip:
		return "1, true, yes or x leave the row out; empty, 0, false or no keep it."
	}
	switch c.Kind {
	case Email:
		return "An email address, such as ann.lee@example.com."
	case Phone:
		return "A phone number, best with its country code (+46 70 123 45 67); stored as +46701234567."
	case Bool:
		return "1/0, true/false, yes/no, y/n or on/off."
	case Date:
		return "A date: " + strings.Join(orDefault(c.Layouts, dateLayouts), " or ") + "."
	case Timestamp:
		return "A date and time: " + strings.Join(orDefault(c.Layouts, timestampLayouts), " or ") + "."
	case Enum:
		return "One of: " + strings.Join(c.Values, ", ") + "."
	}
	return ""
}

func orDefault(layouts, def []string) []string {
	if layouts == nil {
		return def
	}
	return layouts
}

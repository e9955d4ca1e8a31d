// Package checkstep reports the stages of connecting to a server as the
// steps of a usersync.Checker, as ftpsource's and sftpsource's Check do.
package checkstep

import (
	"fmt"
	"strings"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/source"
)

// A Stage is one stage of connecting: whether it got through, and what it
// found if it did.
type Stage struct {
	OK     bool
	Detail string
}

// Fill sets results[i] from stages[i], in order, for a connection that
// ended with err (nil if it got through every stage): a stage that got
// through gets its Detail; the first that did not gets err; each after
// that says it was not checked.
func Fill(results []usersync.CheckResult, stages []Stage, err error) {
	for i, st := range stages {
		r := &results[i]
		switch {
		case st.OK:
			r.Detail = st.Detail
		case i > 0 && results[i-1].Err != nil:
			r.Err = NotChecked(results[i-1])
		default:
			r.Err = Under(r.Name, err)
		}
	}
}

// NotChecked is the error of a step that could not run because the step
// before, prev, failed.
func NotChecked(prev usersync.CheckResult) error {
	return fmt.Errorf("not checked: %s failed", prev.Name)
}

// Refused returns what a folder step adds to its Detail for the names a
// listing left out as unsafe, each with its reason (see source.Refusal),
// or "" for none.
func Refused(names []string) string {
	if len(names) == 0 {
		return ""
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q (%s)", n, strings.TrimPrefix(source.Refusal(n), "the name "))
	}
	return "; names refused: " + strings.Join(quoted, ", ")
}

// Failed reports whether a step of results failed.
func Failed(results []usersync.CheckResult) bool {
	for _, r := range results {
		if r.Err != nil {
			return true
		}
	}
	return false
}

// Under returns err as the error of the step named name: the same error
// (errors.Is and errors.As see through it), whose text leaves out name
// when it starts with it, so that "connect to host:22" fails with
// "connection refused", not "connect to host:22: connect to host:22:
// connection refused". One layer names the thing: the step.
func Under(name string, err error) error {
	if err == nil {
		return nil
	}
	rest, ok := strings.CutPrefix(err.Error(), name+": ")
	if !ok || rest == "" {
		return err
	}
	return &underError{err: err, text: rest}
}

type underError struct {
	err  error
	text string
}

func (e *underError) Error() string { return e.text }
func (e *underError) Unwrap() error { return e.err }

package checkstep_test

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/checkstep"
)

// TestUnderNamesOnce: a step's error does not repeat the step's name.
func TestUnderNamesOnce(t *testing.T) {
	err := fmt.Errorf("connect to 127.0.0.1:1: %w", fs.ErrNotExist)
	u := checkstep.Under("connect to 127.0.0.1:1", err)
	assert.Equal(t, "file does not exist", u.Error())
	assert.ErrorIs(t, u, fs.ErrNotExist)
	assert.Same(t, err, errors.Unwrap(u))

	other := errors.New("login refused")
	assert.Same(t, other, checkstep.Under("log in as acme", other), "an error that does not name the step is kept")
	assert.NoError(t, checkstep.Under("x", nil))

	results := make([]usersync.CheckResult, 2)
	results[0].Name, results[1].Name = "connect to h:22", "log in as u"
	checkstep.Fill(results, []checkstep.Stage{{}, {}}, fmt.Errorf("connect to h:22: connection refused"))
	assert.Equal(t, "connection refused", results[0].Err.Error())
	assert.Equal(t, "not checked: connect to h:22 failed", results[1].Err.Error())
	assert.True(t, checkstep.Failed(results))
	assert.False(t, checkstep.Failed(results[:0]))
}

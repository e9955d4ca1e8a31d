package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	s := out.String()
	t.Log(s)
	// Night 1 creates everyone; night 2 shows every kind of outcome.
	assert.Contains(t, s, "8 created")
	assert.Contains(t, s, "1 created, 2 updated, 1 deactivated")
	assert.Contains(t, s, "users.csv:8") // the rejected row's file and line
	assert.Contains(t, s, "Ines Vidal (added by hand)")
}

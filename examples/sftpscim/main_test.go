package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSFTPToSCIM runs the example: night 1 creates everyone in the SCIM
// service, night 2 updates, creates and deactivates, and the user added by
// hand is left alone.
func TestSFTPToSCIM(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), &out, t.TempDir()))
	s := out.String()
	t.Log(s)
	assert.Contains(t, s, "Bulk: true, usersync extension: true")
	assert.Contains(t, s, "3 created, 2 groups created")
	assert.Regexp(t, `1 created, 1 updated, 1 deactivated, 1 unchanged`, s)
	assert.Regexp(t, `EMP-000103 +Carla Jensen +Office Manager +active +by the sync +Akron Branch, Scranton branch`, s)
	assert.Regexp(t, `EMP-000102 +Björn Sandberg +Nurse +inactive +by the sync`, s)
	assert.Regexp(t, `ines.vidal@partner.example +Ines Vidal +active +by hand`, s)
	assert.NotContains(t, s, "scim-token-from-the-application")
}

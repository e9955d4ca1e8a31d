package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuickstart runs the quickstart and checks that each step of the story
// happened: the upload was announced, the file was decrypted and read as
// UTF-16 with semicolons, night 1 created everyone, night 2 shows every
// kind of outcome, the bad row is named, the consultant is untouched, the
// emails were rendered and the files archived.
func TestQuickstart(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), &out, auditLog(&out, false), dir))
	s := out.String()
	t.Log(s)

	assert.Contains(t, s, "\n  users.csv.pgp: 8 records (UTF-16LE, semicolon)\n")
	assert.Contains(t, s, "\n  Carla Jensen (EMP-000103): title: Receptionist → Office Manager\n", "people by name, updates as old → new")
	assert.Contains(t, s, "usersync Acme: succeeded — 8 created, 2 groups created")
	assert.Contains(t, s, "usersync Acme: succeeded — 1 created, 2 updated, 1 deactivated, 4 unchanged, 1 rejected")
	assert.Contains(t, s, `users.csv.pgp:8: column Mail: "erik.holm(at)example.com": invalid email address`)
	assert.Regexp(t, `EMP-000105 +Elin Berg +Nurse +inactive`, s)
	assert.Regexp(t, `EMP-000103 +Carla Jensen +Office Manager +active`, s)
	assert.Regexp(t, `consultant-ines +Ines Vidal \(added by hand\) +active +by hand`, s)
	assert.Regexp(t, `archive/[0-9TZ-]+users\.csv\.pgp\n`, s)
	assert.Regexp(t, `Uploaded users\.csv\.pgp: \d+ bytes, SHA-256 [0-9a-f]{64}\n`, s)

	for night, subject := range map[string]string{"night-1.eml": "8_created", "night-2.eml": "1_rejected"} {
		eml, err := os.ReadFile(filepath.Join(dir, night))
		require.NoError(t, err)
		assert.Contains(t, string(eml), "To: \"Acme IT\" <it@acme.example>")
		assert.Contains(t, string(eml), subject) // in the encoded subject
	}
}

// TestQuickstartCleansUp checks that a run without -keep leaves nothing
// behind: no database, no emails, no drop box, no host key.
func TestQuickstartCleansUp(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var out bytes.Buffer
	require.NoError(t, quickstart(context.Background(), &out, auditLog(&out, false), false))
	assert.Contains(t, out.String(), "Removed ")
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, left)
}

// TestQuickstartTellsAPlainStory: the output is the story, with no log
// lines in it unless -v asks for the drop box's audit log, and it calls the
// product's users what they are, not a "Directory".
func TestQuickstartTellsAPlainStory(t *testing.T) {
	var out lockedBuffer // the story and the drop box's log, written from its goroutines
	require.NoError(t, run(t.Context(), &out, auditLog(&out, false), t.TempDir()))
	s := out.String()
	assert.NotContains(t, s, "level=INFO")
	assert.NotContains(t, s, " INFO ")
	assert.NotContains(t, s, "Directory")
	assert.NotContains(t, s, "The directory")
	assert.Contains(t, s, "the product's users")

	out.Reset()
	require.NoError(t, run(t.Context(), &out, auditLog(&out, true), t.TempDir()))
	assert.Contains(t, out.String(), "level=INFO msg=\"sftpserver: upload\"", "-v shows the audit log")
}

// lockedBuffer is a bytes.Buffer that several goroutines may write.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

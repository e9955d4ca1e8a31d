package report_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/report"
)

// sftpConfig is a host's configuration, as a careless line might log it.
type sftpConfig struct {
	Host     string
	User     string
	Password string
}

// secretValue hides itself from fmt, but not from JSON.
type secretValue struct{ Key string }

func (secretValue) String() string { return "secretValue{...}" }

type lazy struct{ v string }

func (l lazy) LogValue() slog.Value { return slog.StringValue(l.v) }

func TestRedactSecrets(t *testing.T) {
	const password, passphrase = "Pa55-w0rd!", "open sesame"
	var b bytes.Buffer
	h := report.RedactSecrets(slog.NewJSONHandler(&b, nil), password, passphrase)
	log := slog.New(h).With("dsn", "postgres://app:"+password+"@db/app").WithGroup("sync")

	log.Info("connecting with "+passphrase,
		"err", errors.New("auth failed for "+password),
		"config", sftpConfig{Host: "sftp.example.com", User: "acme", Password: password},
		"key", secretValue{Key: passphrase},
		"lazy", lazy{"phrase: " + passphrase},
		slog.Group("tls", "pass", password, "n", 3),
		"plain", sftpConfig{Host: "h", User: "u"},
		"count", 7,
	)
	out := b.String()
	assert.NotContains(t, out, password)
	assert.NotContains(t, out, passphrase)

	var rec map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &rec))
	assert.Equal(t, "connecting with [REDACTED]", rec["msg"])
	assert.Equal(t, "postgres://app:[REDACTED]@db/app", rec["dsn"])
	sync := rec["sync"].(map[string]any)
	assert.Equal(t, "auth failed for [REDACTED]", sync["err"])
	assert.Equal(t, "{Host:sftp.example.com User:acme Password:[REDACTED]}", sync["config"])
	assert.Equal(t, "secretValue{...}", sync["key"], "a value whose JSON shows a secret is logged as redacted text")
	assert.Equal(t, "phrase: [REDACTED]", sync["lazy"])
	assert.Equal(t, map[string]any{"pass": "[REDACTED]", "n": 3.0}, sync["tls"])
	assert.Equal(t, map[string]any{"Host": "h", "User": "u", "Password": ""}, sync["plain"],
		"a value without a secret keeps its form")
	assert.Equal(t, 7.0, sync["count"])
}

func TestRedactSecretsLevels(t *testing.T) {
	var b bytes.Buffer
	h := report.RedactSecrets(slog.NewJSONHandler(&b, &slog.HandlerOptions{Level: slog.LevelWarn}), "x")
	assert.False(t, h.Enabled(t.Context(), slog.LevelInfo))
	assert.True(t, h.Enabled(t.Context(), slog.LevelError))
}

// TestRedactOverlappingSecrets checks that a secret that contains another
// is redacted whole (secrets are redacted as whole tokens: "abcdefgh"
// holds neither).
func TestRedactOverlappingSecrets(t *testing.T) {
	var b bytes.Buffer
	slog.New(report.RedactSecrets(slog.NewTextHandler(&b, nil), "abc", "abcdef")).Info("abcdef-gh abcdefgh")
	assert.Contains(t, b.String(), `msg="[REDACTED]-gh abcdefgh"`)
}

package report_test

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/usersync/usersync/report"
)

// TestRedactWholeTokensOnly: a secret is removed where it stands as a
// token, and ordinary text that merely contains it is never altered, which
// would both garble the text and give the secret away.
func TestRedactWholeTokensOnly(t *testing.T) {
	for _, tc := range []struct {
		text, secret, want string
	}{
		{"does not exist", "x", "does not exist"},
		{"the first run", "irst", "the first run"},
		{"the first run", "first-run", "the first run"},
		{"folder /upload does not exist", "exis", "folder /upload does not exist"},
		{"password=Sup3r-Secret-Pw; host=db", "Sup3r-Secret-Pw", "password=[REDACTED]; host=db"},
		{`login refused for "Sup3r-Secret-Pw"`, "Sup3r-Secret-Pw", `login refused for "[REDACTED]"`},
		{"Sup3r-Secret-Pw", "Sup3r-Secret-Pw", "[REDACTED]"},
		{"xSup3r-Secret-Pw and Sup3r-Secret-Pw", "Sup3r-Secret-Pw", "xSup3r-Secret-Pw and [REDACTED]"},
		{"a -pw-Secret- b", "-pw-Secret-", "a [REDACTED] b"},
		{"postgres://app:hunter2hunter2@db/x", "unrelated-secret", "postgres://app:[REDACTED]@db/x"},
		{"größe geheimnis1 ok", "geheimnis1", "größe [REDACTED] ok"},
		{"ägeheimnis1", "geheimnis1", "ägeheimnis1"},
	} {
		assert.Equal(t, tc.want, report.Redact(tc.text, tc.secret), "%q without %q", tc.text, tc.secret)
	}
	// One secret holding another goes whole.
	assert.Equal(t, "[REDACTED] and [REDACTED]", report.Redact("Secret-Pw-1234 and Pw-1234-Secret", "Secret-Pw-1234", "Pw-1234-Secret", "Pw-1234"))
}

func TestRedactSecretsLeavesWordsAlone(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(report.RedactSecrets(slog.NewTextHandler(&b, nil), "x", "irst"))
	log.Info("the first run", "err", "folder does not exist")
	assert.Contains(t, b.String(), `msg="the first run" err="folder does not exist"`)
}

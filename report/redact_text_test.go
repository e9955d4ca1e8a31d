package report_test

import (
	"testing"

	"github.com/usersync/usersync/report"
)

func TestRedact(t *testing.T) {
	got := report.Redact("login as ann with hunter22 to sftp://ann:pw@host/ failed; hunter2 too",
		"hunter2", "hunter22", "")
	want := "login as ann with [REDACTED] to sftp://ann:[REDACTED]@host/ failed; [REDACTED] too"
	if got != want {
		t.Errorf("Redact:\n got %s\nwant %s", got, want)
	}
	if got := report.Redact("nothing to hide"); got != "nothing to hide" {
		t.Errorf("Redact without secrets = %q", got)
	}
}

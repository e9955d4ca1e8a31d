// Package testenv connects integration tests to the real servers that
// .ci/run starts (OpenSSH sshd, vsftpd, GnuPG, PostgreSQL, ...), and decides
// what a test does when one is missing: on a developer's machine it skips,
// with a message that says what is missing; under CI=true it fails, so a
// green CI run means every integration test really ran.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run in CI (CI=true), where nothing may be
// skipped for a missing server.
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable ends t because something it needs is missing: it skips, or
// fails under CI=true.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true and a test server is missing: "+format, args...)
	}
	t.Skipf("skipped: "+format+" (.ci/run starts it; CI fails instead of skipping)", args...)
}

// Getenv returns the variable that .ci/run sets after starting a server
// (for example USERSYNC_TEST_SSHD_ADDR), or ends t as Unavailable when it
// is unset.
func Getenv(t testing.TB, name, what string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		Unavailable(t, "%s is not running (%s is unset)", what, name)
	}
	return v
}

// LookPath returns the path of the program, or ends t as Unavailable when it
// is not installed.
func LookPath(t testing.TB, program string) string {
	t.Helper()
	p, err := exec.LookPath(program)
	if err != nil {
		Unavailable(t, "%s is not installed", program)
	}
	return p
}

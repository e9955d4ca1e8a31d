package testenv

import (
	"testing"
)

func TestInCI(t *testing.T) {
	t.Setenv("CI", "true")
	if !InCI() {
		t.Fatal("CI=true is CI")
	}
	t.Setenv("CI", "")
	if InCI() {
		t.Fatal("no CI variable is not CI")
	}
}

func TestGetenvReturnsTheValue(t *testing.T) {
	t.Setenv("USERSYNC_TEST_EXAMPLE", "127.0.0.1:2222")
	if got := Getenv(t, "USERSYNC_TEST_EXAMPLE", "example server"); got != "127.0.0.1:2222" {
		t.Fatalf("got %q", got)
	}
	if p := LookPath(t, "sh"); p == "" {
		t.Fatal("sh is everywhere")
	}
}

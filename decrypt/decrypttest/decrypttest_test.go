package decrypttest_test

import (
	"testing"

	"github.com/usersync/usersync/decrypt/decrypttest"
)

func TestFakeConformance(t *testing.T) {
	var f decrypttest.Fake
	decrypttest.RunConformanceTests(t, f, func(p []byte) ([]byte, error) { return f.Seal(p), nil }, nil)
}

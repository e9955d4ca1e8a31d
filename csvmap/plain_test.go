package csvmap

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestIsPlainASCII(t *testing.T) {
	ref := func(v string) bool {
		return utf8.ValidString(v) && !strings.ContainsAny(v, "\x00") && !strings.ContainsFunc(v, func(r rune) bool { return r >= utf8.RuneSelf })
	}
	base := "abcdefghijklmnopqrstuvwxyz0123456789"
	for n := range len(base) {
		s := base[:n]
		assert.True(t, isPlainASCII(s), "%q", s)
		for i := range n {
			for _, c := range []byte{0, 0x7f, 0x80, 0xc3, 0xff, 1} {
				b := []byte(s)
				b[i] = c
				assert.Equal(t, ref(string(b)), isPlainASCII(string(b)), "%q", b)
			}
		}
	}
}

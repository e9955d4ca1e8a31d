package csvmap

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
)

func TestNormalizeEmail(t *testing.T) {
	valid := map[string]string{
		"ann@example.com":            "ann@example.com",
		"Ann.Lee@Example.COM":        "Ann.Lee@example.com",
		"root@localhost":             "root@localhost",
		"o'brien+tag@example.org":    "o'brien+tag@example.org",
		"a_b-c@sub.Example-1.net":    "a_b-c@sub.example-1.net",
		"jörg@EXÄMPLE.de":            "jörg@exämple.de",
		"x@[192.0.2.1]":              "x@[192.0.2.1]",
		"first.last@schools.example": "first.last@schools.example",
	}
	for in, want := range valid {
		got, ok := normalizeEmail(in, &arena{})
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{
		"", "ann", "ann@", "@example.com", "a@b@example.com", "ann@@example.com",
		"Ann <ann@example.com>", "<ann@example.com>", "ann@example.com (Ann)",
		"ann @example.com", "ann@exa mple.com", "ann\t@example.com",
		`"ann"@example.com`, `"a b"@example.com`, `"a@b"@example.com`,
		"ann@example..com", "ann@.example.com", "ann@example.com.",
		"ann,bob@example.com", "ann;@example.com", "ann@example.com,bob@example.com",
	} {
		_, ok := normalizeEmail(in, &arena{})
		assert.False(t, ok, in)
	}
}

// The fast path must accept nothing that net/mail would refuse or change:
// random strings of the characters that matter get the same verdict with and
// without it.
func TestNormalizeEmailAgreesWithNetMail(t *testing.T) {
	tokens := strings.Fields(`a Z 9 . . @ - _ + ' " < > ( ) , ; [ ] \ ö ! # % \t`)
	tokens = append(tokens, " ")
	rnd := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	var a arena
	accepted := 0
	for range 200_000 {
		b.Reset()
		for range 1 + rnd.IntN(10) {
			b.WriteString(tokens[rnd.IntN(len(tokens))])
		}
		if rnd.IntN(2) == 0 {
			b.WriteString("@ex.COM") // plenty of near-valid addresses
		}
		v := b.String()
		got, ok := normalizeEmail(v, &a)
		slow := strings.Count(v, "@") == 1 && isBareAddress(v)
		if !assert.Equal(t, slow, ok, "%q", v) {
			continue
		}
		if ok {
			accepted++
			assert.Equal(t, lowerDomain(v, strings.IndexByte(v, '@')), got, "%q", v)
		}
	}
	assert.Greater(t, accepted, 5000, "the test reaches valid addresses")
}

func TestNormalizeEmailAllocs(t *testing.T) {
	var a arena
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := normalizeEmail("anna.svensson123@example.com", &a); !ok {
			t.Fatal("rejected")
		}
	})
	assert.Zero(t, allocs, "a plain lower-case address costs nothing")
	a.start(arenaChunk) // a fresh chunk, so the runs below fit in it
	allocs = testing.AllocsPerRun(100, func() { normalizeEmail("anna@Example.com", &a) })
	assert.Zero(t, allocs, "an upper-case domain costs a copy in the arena, which has room for thousands")
	got, _ := normalizeEmail("anna@Example.COM", &a)
	assert.Equal(t, "anna@example.com", got)
}

func TestNormalizeHeader(t *testing.T) {
	for _, h := range []string{"UniqueID", "uniqueid", "unique_id", " Unique ID ", "UNIQUE-ID", "\uFEFFUniqueID", "unique\u00a0id"} {
		assert.Equal(t, "uniqueid", normalizeHeader(h), "%q", h)
	}
	assert.Equal(t, "epost", normalizeHeader("E-post"))
	assert.Equal(t, "förnamn", normalizeHeader("FÖRNAMN"))
}

func TestAtextMasks(t *testing.T) {
	for c := range 256 {
		want := c < 128 && (unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c)) || strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", rune(c)))
		assert.Equal(t, want, isAtext(byte(c)), "%q", rune(c))
	}
}

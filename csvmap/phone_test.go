package csvmap

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPhone(t *testing.T) {
	p := &phoneCache{region: "SE"}
	valid := map[string]string{
		"+46 70 123 45 67":     "+46701234567",
		"+46701234567":         "+46701234567",
		"+46 (0)70 123 45 67":  "+46701234567", // the national prefix in parentheses, taken off by Parse
		"070-123 45 67":        "+46701234567", // national form, in the default region
		"08-123 456 78":        "+46812345678",
		"+1 (415) 555-2671":    "+14155552671",
		"+44 20 7946 0958":     "+442079460958",
		"+39 06 6982 1234":     "+390669821234", // Italy keeps its leading zero
		"+800 1234 5678":       "+80012345678",  // a code of no country
		"tel:+46-70-123-45-67": "+46701234567",
	}
	for in, want := range valid {
		got, err := p.normalize(in, &arena{})
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, got, in)
		}
	}
	for in, msg := range map[string]string{
		"+46 70 12":              "invalid phone number: too short for +46",
		"+46 70 123 45 67 89 01": "invalid phone number: too long for +46",
		"+999 123 456":           "invalid phone number: invalid country code",
		"n/a":                    "invalid phone number: the phone number supplied is not a number",
		"+46 70 123 45 67 ext 5": "invalid phone number: extension 5, which E.164 cannot hold",
		"+4":                     "invalid phone number: the phone number supplied is not a number",
	} {
		_, err := p.normalize(in, &arena{})
		assert.ErrorIs(t, err, ErrInvalidPhone, in)
		assert.EqualError(t, err, msg, in)
	}
	_, err := (&phoneCache{}).normalize("070-123 45 67", &arena{})
	assert.EqualError(t, err, "invalid phone number: no country code, such as +46, and no Options.PhoneRegion to assume one")
}

// slowPhone is what the Phone kind means: Parse, a possible length, E.164.
func slowPhone(v, region string) (string, bool) {
	e, err := (&phoneCache{region: region}).parse(v)
	return e, err == nil
}

// The fast path gives Parse's answer for every number it takes, for every
// calling code and length, with and without national prefixes and
// separators; it never takes a number Parse would refuse or change.
func TestPhoneFastPathAgreesWithParse(t *testing.T) {
	codes := make([]int, 0, 300)
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		codes = append(codes, cc)
	}
	sort.Ints(codes)
	rnd := rand.New(rand.NewPCG(5, 6))
	separators := []string{"", "", " ", "-", ".", " (", ") "}
	fast, checked := 0, 0
	leads := []string{"", "0", "1", "15"}
	for _, region := range []string{"", "SE"} {
		p := &phoneCache{region: region}
		for _, cc := range codes {
			for n := 1; n <= 18; n++ {
				for _, lead := range []string{"", leads[rnd.IntN(len(leads))]} {
					var b strings.Builder
					b.WriteString("+" + strconv.Itoa(cc))
					digits := lead
					for len(digits) < n {
						digits += strconv.Itoa(rnd.IntN(10))
					}
					for _, d := range digits {
						b.WriteString(separators[rnd.IntN(len(separators))])
						b.WriteRune(d)
					}
					v := b.String()
					want, ok := slowPhone(v, region)
					got, err := p.normalize(v, &arena{})
					checked++
					require.Equal(t, ok, err == nil, "%q in %q: %v", v, region, err)
					if ok {
						require.Equal(t, want, got, "%q in %q", v, region)
					}
					if _, took := p.fast(v, &arena{}); took {
						fast++
					}
				}
			}
		}
	}
	assert.Greater(t, fast, checked/10, "the fast path takes a good share of numbers, most of which have impossible lengths")
}

// Random strings of the characters a phone value holds agree too.
func TestPhoneFastPathAgreesOnRandomInput(t *testing.T) {
	alphabet := "+0123456789 -.()x#"
	rnd := rand.New(rand.NewPCG(7, 8))
	p := &phoneCache{region: "SE"}
	for range 5_000 {
		b := []byte("+")
		for range rnd.IntN(20) {
			b = append(b, alphabet[rnd.IntN(len(alphabet))])
		}
		v := string(b)
		want, ok := slowPhone(v, "SE")
		got, err := p.normalize(v, &arena{})
		require.Equal(t, ok, err == nil, "%q: %v", v, err)
		if ok {
			require.Equal(t, want, got, "%q", v)
		}
	}
}

func TestPhoneFastPathAllocs(t *testing.T) {
	p := &phoneCache{region: "SE"}
	var a arena
	a.start(arenaChunk)
	p.normalize("+46 70 123 45 67", &a) // the rule for +46
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := p.fast("+46701234567", &a); !ok {
			t.Fatal("not fast")
		}
		if _, ok := p.fast("+46 70 123 45 67", &a); !ok {
			t.Fatal("not fast")
		}
	})
	assert.Zero(t, allocs)
}

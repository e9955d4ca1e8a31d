package csvmap

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// A phoneCache normalizes phone numbers to E.164 for one reader.
//
// libphonenumber's Parse takes some 15 µs a number, far too slow for a file
// of a million users with two numbers each. Numbers written in international
// form (+46 70 123 45 67, as Cosafe asks for) take a fast path instead,
// which gives Parse's result or steps aside: it knows, per calling code,
// the possible lengths and the national prefix Parse would strip, and hands
// anything it is not sure of to Parse (TestPhoneFastPathAgreesWithParse).
// Numbers in national form always go to Parse.
type phoneCache struct {
	region string
	rules  [1000]*phoneRule // by calling code, made on first use
	digits []byte           // scratch
}

// A phoneRule is what the fast path knows of a calling code.
type phoneRule struct {
	known bool // the code is a calling code
	// A national number that starts with the national prefix may lose it
	// in Parse, so the fast path steps aside: prefix when the prefix is a
	// literal, re when it is a pattern, safe false when it cannot tell.
	prefix []byte
	re     *regexp.Regexp
	safe   bool
	// possible has bit n set when a national number of n digits is a
	// possible number (IsPossibleNumberWithReason says IS_POSSIBLE).
	possible uint32
}

// maxPhoneInput is the longest value Parse accepts.
const maxPhoneInput = 250

// normalize returns v in E.164, or an error wrapping ErrInvalidPhone.
func (p *phoneCache) normalize(v string, a *arena) (string, error) {
	if e, ok := p.fast(v, a); ok {
		return e, nil
	}
	return p.parse(v)
}

// fast normalizes a number written as + and digits, with spaces, hyphens,
// dots and parentheses between them. ok is false when it cannot be sure the
// number is valid and what Parse would make of it.
func (p *phoneCache) fast(v string, a *arena) (e string, ok bool) {
	if len(v) < 4 || len(v) > maxPhoneInput || v[0] != '+' {
		return "", false
	}
	digits, punct := p.digits[:0], false
	for i := 1; i < len(v); i++ {
		switch c := v[i]; {
		case '0' <= c && c <= '9':
			digits = append(digits, c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
			punct = true
		default:
			return "", false
		}
	}
	p.digits = digits
	if len(digits) < 3 || digits[0] == '0' {
		return "", false
	}
	// Calling codes are prefix-free: the first that is one is the one,
	// as in Parse.
	for n := 1; n <= 3; n++ {
		cc := 0
		for _, d := range digits[:n] {
			cc = cc*10 + int(d-'0')
		}
		r := p.rules[cc]
		if r == nil {
			r = p.rule(cc)
		}
		if !r.known {
			continue
		}
		nsn := digits[n:]
		if len(nsn) < 2 || len(nsn) > 17 || !r.safe || r.possible&(1<<len(nsn)) == 0 || r.strips(nsn) {
			return "", false
		}
		if !punct {
			return v, true
		}
		at := a.start(len(digits) + 1)
		a.b.WriteByte('+')
		a.b.Write(digits)
		return a.since(at), true
	}
	return "", false
}

// strips reports whether Parse might take a national prefix off nsn.
func (r *phoneRule) strips(nsn []byte) bool {
	switch {
	case r.re != nil:
		return r.re.Match(nsn)
	case r.prefix != nil:
		return bytes.HasPrefix(nsn, r.prefix)
	}
	return false
}

// rule makes what the fast path knows of calling code cc.
func (p *phoneCache) rule(cc int) *phoneRule {
	r := newPhoneRule(cc)
	p.rules[cc] = r
	return r
}

func newPhoneRule(cc int) *phoneRule {
	region := phonenumbers.GetRegionCodeForCountryCode(cc)
	if region == phonenumbers.UNKNOWN_REGION {
		return &phoneRule{}
	}
	r := &phoneRule{known: true, safe: true}
	if md := phoneMetadata(cc, region); md != nil {
		if npfp := md.GetNationalPrefixForParsing(); npfp != "" {
			re, err := regexp.Compile("^(?:" + npfp + ")")
			lit, err2 := regexp.Compile(npfp)
			switch {
			case err != nil || err2 != nil:
				r.safe = false
			default:
				if prefix, complete := lit.LiteralPrefix(); complete && prefix != "" {
					r.prefix = []byte(prefix)
				} else {
					r.re = re
				}
			}
		}
	}
	code := int32(cc)
	for n := 2; n <= 17; n++ {
		nn := uint64(1)
		for range n - 1 {
			nn *= 10
		}
		num := &phonenumbers.PhoneNumber{CountryCode: &code, NationalNumber: &nn}
		if phonenumbers.IsPossibleNumberWithReason(num) == phonenumbers.IS_POSSIBLE {
			r.possible |= 1 << n
		}
	}
	return r
}

// phoneMetadata returns the metadata Parse uses for calling code cc, whose
// main region is region ("001" for codes of no country, such as 800).
func phoneMetadata(cc int, region string) *phonenumbers.PhoneMetadata {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return nil
	}
	for _, md := range coll.GetMetadata() {
		if md.GetId() == region && (region != "001" || int(md.GetCountryCode()) == cc) {
			return md
		}
	}
	return nil
}

// parse is the slow path: libphonenumber's Parse.
func (p *phoneCache) parse(v string) (string, error) {
	num, err := phonenumbers.Parse(v, p.region)
	switch {
	case err == phonenumbers.ErrInvalidCountryCode && p.region == "" && !strings.HasPrefix(v, "+"):
		return "", fmt.Errorf("%w: no country code, such as +46, and no Options.PhoneRegion to assume one", ErrInvalidPhone)
	case err != nil:
		return "", fmt.Errorf("%w: %v", ErrInvalidPhone, err)
	case num.GetExtension() != "":
		return "", fmt.Errorf("%w: extension %s, which E.164 cannot hold", ErrInvalidPhone, num.GetExtension())
	}
	switch reason := phonenumbers.IsPossibleNumberWithReason(num); reason {
	case phonenumbers.IS_POSSIBLE:
		return phonenumbers.Format(num, phonenumbers.E164), nil
	case phonenumbers.TOO_SHORT, phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return "", fmt.Errorf("%w: too short for +%d", ErrInvalidPhone, num.GetCountryCode())
	case phonenumbers.TOO_LONG:
		return "", fmt.Errorf("%w: too long for +%d", ErrInvalidPhone, num.GetCountryCode())
	case phonenumbers.INVALID_COUNTRY_CODE:
		return "", fmt.Errorf("%w: unknown country code +%d", ErrInvalidPhone, num.GetCountryCode())
	default:
		return "", fmt.Errorf("%w: wrong length for +%d", ErrInvalidPhone, num.GetCountryCode())
	}
}

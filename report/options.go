package report

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultMaxListed is how many items of each list a [Summary] keeps when
// Options.MaxListed is 0.
const DefaultMaxListed = 20

// Options tune how a run is summarised. A nil *Options means the defaults.
type Options struct {
	// Name names the feed or customer, such as "Acme Corp": it starts the
	// headline ("usersync Acme Corp: succeeded — ...") so that an
	// administrator of several feeds can tell their reports apart.
	Name string
	// MaxListed caps each list of a Summary (the changes of each kind,
	// failed changes, rejected rows): a broken export can reject every
	// row, and a summary of ten thousand lines helps nobody. The CSV
	// attachments hold every item. 0 means DefaultMaxListed.
	MaxListed int
	// Label names an attribute shown beside each user's key and name, such
	// as "department". "" shows none.
	Label string
	// Names are the attributes that name a person, tried in order: the
	// first the user has is shown with the user's key ("Ann Andersson
	// (E1001)"). An entry of several names separated by spaces joins
	// those attributes ("given_name family_name"). nil means DefaultNames.
	Names []string
	// Private names attributes whose values a summary never shows, in
	// addition to those that look like credentials (see IsPrivate): an
	// update of one says only that it changed. Names are matched without
	// regard to case.
	Private []string
	// KeysOnly names users by key alone and shows no attribute value, not
	// even old and new values of an update: for summaries that go where
	// personal data must not.
	KeysOnly bool
	// ApproveCommand and ApproveURL tell an administrator how to approve a
	// held plan: a command to run (such as "usersync approve -c
	// acme.yaml"), or a link to the host's approval page (http or https
	// only). The summary's Action says it; without either, it says to
	// approve the plan with the host's approval step.
	ApproveCommand string
	ApproveURL     string
	// Secrets are values that must never appear in a summary or a log, such
	// as the passwords and passphrases of the host's configuration. Every
	// error message is searched for them. Passwords in URLs
	// ("sftp://user:password@host") are redacted without being listed.
	Secrets []string
}

// DefaultNames are the attributes that name a person when Options.Names
// is nil, as directory exports and SCIM spell them.
var DefaultNames = []string{
	"name", "display_name", "displayName", "displayname", "full_name", "fullName", "fullname", "cn",
	"first_name last_name", "firstName lastName", "firstname lastname",
	"given_name family_name", "givenName familyName", "givenName sn", "given_name surname",
}

// IsPrivate reports whether the values of the attribute named attr are
// never shown: it is listed in private, or its name says it holds a
// credential (it contains "password", "passwd", "secret", "token",
// "pin_code" or "api_key", in any case).
func IsPrivate(attr string, private []string) bool {
	for _, p := range private {
		if strings.EqualFold(p, attr) {
			return true
		}
	}
	a := strings.ToLower(attr)
	for _, w := range []string{"password", "passwd", "secret", "token", "pin_code", "pincode", "api_key", "apikey"} {
		if strings.Contains(a, w) {
			return true
		}
	}
	return false
}

func (o *Options) maxListed() int {
	if o == nil || o.MaxListed <= 0 {
		return DefaultMaxListed
	}
	return o.MaxListed
}

// Redacted replaces a secret in text.
const Redacted = "[REDACTED]"

// urlPassword matches the password of a URL's user info:
// "scheme://user:password@".
var urlPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*):[^\s/@]*@`)

// A redactor removes secrets from text, as whole tokens: an occurrence of
// a secret counts only where the text does not run on past it in letters
// or digits, so that a password "exist" leaves "does not exist" alone
// while "password=exist;" loses it. Replacing every substring instead
// would turn "does not exist" into "does not e[REDACTED]ist" for a
// password "x", and so give the password away. A secret that is an
// ordinary word still takes that word out of every text: hosts should
// refuse short secrets, as the usersync command does.
type redactor struct {
	secrets []string // longest first, so that one holding another goes whole
}

func newRedactor(secrets []string) redactor {
	var rd redactor
	for _, s := range secrets {
		if s != "" && !slices.Contains(rd.secrets, s) {
			rd.secrets = append(rd.secrets, s)
		}
	}
	slices.SortStableFunc(rd.secrets, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return rd
}

// replaceTokens replaces each occurrence of secret in s by Redacted, where
// it is a whole token: not preceded by a letter or digit when the secret
// starts with one, nor followed by one when it ends with one.
func replaceTokens(s, secret string) string {
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, secret)
		if i < 0 {
			break
		}
		j := i + len(secret)
		before, _ := utf8.DecodeLastRuneInString(rest[:i])
		after, _ := utf8.DecodeRuneInString(rest[j:])
		first, _ := utf8.DecodeRuneInString(secret)
		last, _ := utf8.DecodeLastRuneInString(secret)
		whole := !(i > 0 && wordRune(first) && wordRune(before)) && !(j < len(rest) && wordRune(last) && wordRune(after))
		if !whole {
			_, n := utf8.DecodeRuneInString(rest[i:])
			b.WriteString(rest[:i+n])
			rest = rest[i+n:]
			continue
		}
		b.WriteString(rest[:i])
		b.WriteString(Redacted)
		rest = rest[j:]
	}
	if b.Len() == 0 {
		return s
	}
	b.WriteString(rest)
	return b.String()
}

// wordRune reports whether r continues a token: a letter or a digit.
func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// redact returns s without the secrets and without URL passwords.
func (rd redactor) redact(s string) string {
	for _, secret := range rd.secrets {
		s = replaceTokens(s, secret)
	}
	if strings.Contains(s, "://") {
		s = urlPassword.ReplaceAllString(s, "${1}:"+Redacted+"@")
	}
	return s
}
